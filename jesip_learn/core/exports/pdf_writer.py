"""Report downloads as a PDF board paper: heading, overall figure, summary table, bar chart.

Owns how each value is shown in the PDF (see the table in the package docstring), the table
layout (column widths, portrait or landscape, the header repeated on each page) and the
percentage-compliant bar chart. fpdf2 is loaded by the first PDF made, not on import.
Pure: no Flask, no database.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from jesip_learn.core.exports.heading import (
    ReportHeading,
    generated_text,
    heading_lines,
    london_time,
)

if TYPE_CHECKING:
    from fpdf import FPDF

FONT_FOLDER = resources.files("jesip_learn.data").joinpath("fonts")

PDF_CONTENT_TYPE = "application/pdf"


PDF_MARGIN = 15.0
TABLE_FONT_SIZE = 9
TABLE_PADDING = 1.6
#: Longest cell text the PDF table shows before cutting it short with an ellipsis.
PDF_MAX_CELL_CHARS = 160
#: Text columns narrower than this on portrait paper send the table to landscape.
COMFORTABLE_TEXT_WIDTH = 45.0
#: No text column is made wider than this while it has room to spare.
WIDEST_TEXT_COLUMN = 90.0
BAR_COLOUR = (29, 112, 184)  # GOV.UK blue
GRID_COLOUR = (177, 180, 182)
HEADER_FILL = (243, 242, 241)


def pdf_cell(value: Any) -> str:
    """One value as the PDF shows it (see the table in the package docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        return f"{_one_place(value):,}"
    if isinstance(value, datetime):
        local = london_time(value)
        return f"{local.day} {local:%B %Y, %H:%M}"
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    text = str(value)
    if len(text) > PDF_MAX_CELL_CHARS:
        text = text[:PDF_MAX_CELL_CHARS - 1].rstrip() + "…"
    return text


@cache
def _report_pdf_class() -> type[FPDF]:
    # fpdf2 is several MiB: loaded by the first PDF made, not by every process.
    from fpdf import FPDF

    class ReportPDF(FPDF):
        def __init__(self, heading: ReportHeading):
            super().__init__(orientation="portrait", format="A4")
            self.footer_text = (f"{heading.title}. "
                                f"Generated {generated_text(heading.generated_at)}.")

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 8)
            self.set_text_color(80, 90, 95)
            self.cell(0, 5, f"{self.footer_text}  Page {self.page_no()} of {{nb}}", align="C")
            self.set_text_color(0, 0, 0)

    return ReportPDF


def pdf_summary(heading: ReportHeading, summary_header: Sequence[Any],
                summary_rows: Iterable[Sequence[Any]], *,
                chart: list[tuple[str, float | None]] | None = None,
                overall: str = "") -> bytes:
    """A board paper: the title, when and by whom it was generated, the filters, the overall
    figure (`overall`, in words), the summary table, and, when `chart` is given, a
    horizontal bar chart of percentage compliant (0 to 100) by row label, each bar labelled
    with its number (a long label on two lines); a label whose value is None is shown
    without a bar, as having no learners.

    The table repeats its header at the top of each page. Number columns are right-aligned and
    as wide as their widest figure; text columns share the rest of the width, so long names
    wrap within their cell (and are cut short past `PDF_MAX_CELL_CHARS`). The page is A4
    portrait unless the table only fits comfortably across a landscape page."""
    rows = [list(row) for row in summary_rows]
    pdf = _report_pdf_class()(heading)
    pdf.set_title(heading.title)
    pdf.set_author("JESIP Learn")
    pdf.set_creation_date(london_time(heading.generated_at))
    with resources.as_file(FONT_FOLDER) as folder:
        pdf.add_font("DejaVu", "", str(folder / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(folder / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(PDF_MARGIN, PDF_MARGIN, PDF_MARGIN)
    table = _TableLayout.measure(pdf, summary_header, rows)
    pdf.add_page(orientation="landscape" if table.landscape else "portrait")
    _pdf_heading(pdf, heading)
    if overall:  # the figure a board looks for first, before the detail
        pdf.set_font("DejaVu", "B", 14)
        pdf.multi_cell(0, 7, pdf_cell(overall), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
    table.draw(pdf)
    if chart is not None:
        _pdf_chart(pdf, chart)
    return bytes(pdf.output())


def _pdf_heading(pdf: FPDF, heading: ReportHeading) -> None:
    pdf.set_font("DejaVu", "B", 10)
    pdf.set_text_color(80, 90, 95)
    pdf.cell(0, 5, "JESIP Learn", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("DejaVu", "B", 20)
    pdf.multi_cell(0, 9, heading.title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for line in heading_lines(heading)[1:]:
        label, value = line
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(38, 5.5, _fit(pdf, pdf_cell(label), 38 - 2 * pdf.c_margin))
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(0, 5.5, pdf_cell(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)


def _one_place(value: float | Decimal) -> Decimal:
    """Rounded to one decimal place, halves away from zero as people round (87.25 -> 87.3)."""
    if isinstance(value, float) and not math.isfinite(value):
        return Decimal("NaN")
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


@dataclass
class _TableLayout:
    header: list[str]
    rows: list[list[str]]
    aligns: tuple[str, ...]
    natural: list[float]  # mm for each column's longest line
    least: list[float]  # mm for each column's longest word
    numeric: list[bool]
    landscape: bool = False

    @classmethod
    def measure(cls, pdf: FPDF, header: Sequence[Any], rows: list[list[Any]]) -> _TableLayout:
        columns = max([len(header), *(len(row) for row in rows)], default=0)
        numeric = [
            any(_is_number(row[c]) for row in rows if c < len(row))
            and all(_is_number(row[c]) for row in rows if c < len(row) and row[c] is not None)
            for c in range(columns)
        ]
        texts = [[pdf_cell(row[c]) if c < len(row) else "" for c in range(columns)]
                 for row in rows]
        titles = [pdf_cell(header[c]) if c < len(header) else "" for c in range(columns)]
        pad = 2 * TABLE_PADDING + 0.5
        natural, least = [], []
        for c in range(columns):
            pdf.set_font("DejaVu", "B", TABLE_FONT_SIZE)
            title_line = pdf.get_string_width(titles[c])
            title_word = max((pdf.get_string_width(w) for w in titles[c].split()), default=0)
            pdf.set_font("DejaVu", "", TABLE_FONT_SIZE)
            line = max((pdf.get_string_width(row[c]) for row in texts), default=0)
            word = max((pdf.get_string_width(w) for row in texts for w in row[c].split()),
                       default=0)
            if numeric[c]:  # figures never wrap; the header may, at its spaces
                natural.append(max(line, title_word) + pad)
                least.append(natural[-1])
            else:
                natural.append(min(max(line, title_line), WIDEST_TEXT_COLUMN) + pad)
                least.append(min(max(word, title_word), WIDEST_TEXT_COLUMN / 3) + pad)
        layout = cls(titles, texts, tuple("RIGHT" if n else "LEFT" for n in numeric),
                     natural, least, numeric)
        portrait = 210 - 2 * PDF_MARGIN
        fixed = sum(w for w, n in zip(natural, numeric, strict=True) if n)
        comfortable = sum(min(w, COMFORTABLE_TEXT_WIDTH)
                          for w, n in zip(natural, numeric, strict=True) if not n)
        layout.landscape = fixed + comfortable > portrait
        return layout

    def widths(self, available: float) -> list[float]:
        """Each column's width in mm, adding up to `available`: figures as wide as they need,
        text columns sharing the rest by how much they hold."""
        fixed = sum(w for w, n in zip(self.natural, self.numeric, strict=True) if n)
        text = [c for c, n in enumerate(self.numeric) if not n]
        widths = list(self.natural)
        room = available - fixed
        wanted = sum(self.natural[c] for c in text)
        least = sum(self.least[c] for c in text)
        if not text or room <= least:
            # Nothing stretches or even the words do not fit: scale every column together.
            total = sum(self.least) if text else sum(self.natural)
            base = self.least if text else self.natural
            return [available * w / total for w in base]
        if wanted <= room:
            for c in text:  # everything fits on one line: share out what is left over
                widths[c] = self.natural[c] + (room - wanted) * self.natural[c] / wanted
        else:
            stretch = sum(self.natural[c] - self.least[c] for c in text)
            for c in text:
                share = (self.natural[c] - self.least[c]) / stretch if stretch else 1 / len(text)
                widths[c] = self.least[c] + (room - least) * share
        return widths

    def draw(self, pdf: FPDF) -> None:
        from fpdf import FontFace
        from fpdf.enums import TableHeadingsDisplay

        if not self.header:
            return
        available = pdf.w - pdf.l_margin - pdf.r_margin
        pdf.set_font("DejaVu", "", TABLE_FONT_SIZE)
        with pdf.table(
            width=available, col_widths=tuple(self.widths(available)), text_align=self.aligns,
            line_height=4.6, padding=TABLE_PADDING,
            repeat_headings=TableHeadingsDisplay.ON_TOP_OF_EVERY_PAGE,
            headings_style=FontFace(emphasis="BOLD", fill_color=HEADER_FILL),
            borders_layout="HORIZONTAL_LINES", v_align="TOP",
        ) as table:
            heading_row = table.row()
            for title in self.header:
                heading_row.cell(title)
            for row in self.rows:
                table_row = table.row()
                for text in row:
                    table_row.cell(text)
        if not self.rows:
            pdf.ln(2)
            pdf.multi_cell(0, 5, "There are no rows for these filters.", new_x="LMARGIN",
                           new_y="NEXT")


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """The text cut short with an ellipsis so it fits `width` in the current font."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _label_lines(pdf: FPDF, text: str, width: float) -> list[str]:
    """The label on one line, or broken between words onto two (the second cut short only
    when even two lines cannot hold it)."""
    if pdf.get_string_width(text) <= width:
        return [text]
    words, first = text.split(), ""
    while words and pdf.get_string_width((first + " " + words[0]).strip()) <= width:
        first = (first + " " + words.pop(0)).strip()
    if not first:  # one word longer than the width
        return [_fit(pdf, text, width)]
    return [first, _fit(pdf, " ".join(words), width)]


def _pdf_chart(pdf: FPDF, chart: list[tuple[str, float | None]]) -> None:
    label_width, number_width, bar_height, row_height = 62.0, 16.0, 4.6, 7.0
    left = pdf.l_margin
    bar_left = left + label_width + 2
    bar_span = pdf.w - pdf.r_margin - number_width - bar_left

    def scale() -> None:
        """The 0 to 100 per cent axis above the bars, with faint grid lines below."""
        pdf.set_font("DejaVu", "", 7)
        y = pdf.get_y()
        for tick in (0, 25, 50, 75, 100):
            x = bar_left + bar_span * tick / 100
            pdf.set_xy(x - 6, y)
            pdf.cell(12, 4, f"{tick}%", align="C")
        pdf.set_y(y + 5)

    pdf.ln(8)
    if pdf.get_y() + 14 + row_height * min(len(chart), 3) > pdf.page_break_trigger:
        pdf.add_page(same=True)
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(0, 7, "Percentage compliant", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    scale()
    for label, value in chart:
        if pdf.get_y() + row_height > pdf.page_break_trigger:
            pdf.add_page(same=True)
            pdf.set_font("DejaVu", "B", 10)
            pdf.cell(0, 6, "Percentage compliant (continued)", new_x="LMARGIN", new_y="NEXT")
            scale()
        y = pdf.get_y()
        pdf.set_draw_color(*GRID_COLOUR)
        pdf.set_line_width(0.1)
        for tick in (0, 25, 50, 75, 100):
            x = bar_left + bar_span * tick / 100
            pdf.line(x, y, x, y + row_height)
        pdf.set_font("DejaVu", "", 8)
        # A long organisation name goes on two lines rather than losing its end
        # ("… and Rescue Service" is what tells two services apart).
        lines = _label_lines(pdf, str(label), label_width - 2 * pdf.c_margin)
        line_height = row_height / len(lines)
        for number, line in enumerate(lines):
            pdf.set_xy(left, y + number * line_height)
            pdf.cell(label_width, line_height, line, align="R")
        if value is None:
            pdf.set_xy(bar_left + 1, y)
            pdf.cell(bar_span, row_height, "no learners")
        else:
            share = min(max(float(value), 0.0), 100.0)
            length = bar_span * share / 100
            pdf.set_fill_color(*BAR_COLOUR)
            if length > 0:
                pdf.rect(bar_left, y + (row_height - bar_height) / 2, length, bar_height,
                         style="F")
            pdf.set_xy(bar_left + length + 1, y)
            pdf.set_font("DejaVu", "B", 8)
            pdf.cell(number_width, row_height, f"{_one_place(value)}%")
        pdf.set_y(y + row_height)
