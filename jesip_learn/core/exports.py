"""Report downloads as CSV, XLSX and PDF.

These are pure writers: they take a `ReportHeading`, a header and rows of plain values (any
iterable, read once and in order, so a database cursor can feed them) and never touch Flask or
the database. The CSV and XLSX writers hold one row at a time, so their memory does not grow
with the number of rows; the PDF is a board paper of the summary table, which is small.

Formula injection (OWASP "CSV injection"). Every string that lands in a CSV or XLSX cell goes
through `neutralise`: one that begins with `=`, `+`, `-`, `@`, a tab or a carriage return, or
holds one of those straight after a `;`, `,`, tab or line break (where a spreadsheet that
splits the cell, such as Excel where the list separator is `;`, would start a new cell with
it: `Smith;=1+1`), gets a single quote in front, so a spreadsheet shows it as text instead of
running it; in the CSV every row holding such a cell (or a `;` or tab) has its text cells
enclosed in double quotes, so the cell is read whole. That covers
the heading too (title, filter labels and values, the person who ran the report), because a
filter value can come from what someone typed. In XLSX every string is also written with
`write_string`, with XlsxWriter's string-to-formula, -number and -URL conversions switched off.
Numbers, dates and None pass through untouched: a negative number is a number, not a formula.
So a caller who wants a number treated as a number passes an int, float or Decimal, not text.

How each kind of value is written:

| value         | CSV                        | XLSX                         | PDF                |
|---------------|----------------------------|------------------------------|--------------------|
| None          | empty                      | empty cell                   | empty              |
| str           | neutralised                | neutralised string           | as given           |
| bool          | Yes / No                   | Yes / No                     | Yes / No           |
| int           | as Python writes it        | number                       | 1,234              |
| float, Decimal| as Python writes it        | number                       | 1,234.5            |
| date          | 2026-03-31                 | Excel date, yyyy-mm-dd       | 31 March 2026      |
| datetime      | 2026-04-01T00:30:00+01:00  | Excel date-time, yyyy-mm-dd  | 1 April 2026,      |
|               |                            | hh:mm                        | 00:30              |
| anything else | str(value), neutralised    | str(value), neutralised      | str(value)         |

The PDF shows floats and Decimals to one decimal place, halves away from zero (87.25 -> 87.3).
Datetimes are shown in Europe/London time, the time the people reading the report keep; a
naive datetime is taken to be UTC, as the database stores them. The CSV writes the full ISO
8601 instant to the second with its UTC offset, so nothing is lost and any program can read
it back; a column that means a day should be passed as `date` values, written YYYY-MM-DD.
"""

from __future__ import annotations

import csv
import io
import math
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from os import PathLike
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import xlsxwriter
    from fpdf import FPDF

LONDON = ZoneInfo("Europe/London")
FONT_FOLDER = resources.files("jesip_learn.data").joinpath("fonts")

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_CONTENT_TYPE = "application/pdf"

#: Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: A trigger straight after a separator: where a spreadsheet splits the cell, a formula.
SEPARATED_TRIGGER = re.compile(r"[;,\t\r\n][=+\-@\t\r]")

#: The CSV writer hands text on once its buffer holds about this many characters.
CSV_CHUNK_CHARS = 64 * 1024
#: The XLSX file is read back in pieces of this many bytes.
XLSX_CHUNK_BYTES = 64 * 1024
#: Excel's last row (1,048,576 rows, counted from 0 here); the Details header takes one.
XLSX_MAX_ROW = 1_048_575

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MIN_COLUMN_WIDTH = 8
MAX_COLUMN_WIDTH = 60


@dataclass(frozen=True)
class ReportHeading:
    """What names a report at the top of each download."""

    title: str
    generated_at: datetime  # aware UTC; shown in Europe/London time with its zone
    filters: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    generated_by: str = ""


class ExportTooLarge(ValueError):
    """More rows than an XLSX worksheet can hold."""


def could_be_formula(text: str) -> bool:
    """Whether a spreadsheet could read the text, or a piece of it split off at a separator,
    as a formula."""
    return text.startswith(FORMULA_TRIGGERS) or SEPARATED_TRIGGER.search(text) is not None


def neutralise(value: Any) -> Any:
    """A string that a spreadsheet could read as a formula, with a single quote in front;
    any other value (numbers, dates, None, other strings) unchanged."""
    if isinstance(value, str) and could_be_formula(value):
        return "'" + value
    return value


def london_time(moment: datetime) -> datetime:
    """The moment in Europe/London time (a naive datetime is taken to be UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LONDON)


def generated_text(moment: datetime) -> str:
    """'31 March 2026, 15:05 BST': when a report was made, in London time with its zone."""
    local = london_time(moment)
    return f"{local.day} {local:%B %Y}, {local:%H:%M %Z}"


def heading_lines(heading: ReportHeading) -> list[list[str]]:
    """The lines that open each download: the title, when it was generated (and by whom),
    then each filter as label and value."""
    lines = [[heading.title], ["Generated", generated_text(heading.generated_at)]]
    if heading.generated_by:
        lines.append(["Generated by", heading.generated_by])
    lines.extend([label, value] for label, value in heading.filters)
    return lines


def download_filename(heading: ReportHeading, extension: str) -> str:
    """'training-compliance-2026-03-31.csv': the title as a slug and the London date."""
    slug = re.sub(r"[^a-z0-9]+", "-", heading.title.lower()).strip("-") or "report"
    return f"{slug}-{london_time(heading.generated_at):%Y-%m-%d}.{extension.lstrip('.')}"


# CSV ------------------------------------------------------------------------------------------


def csv_cell(value: Any) -> Any:
    """One value as the CSV writes it (see the table at the top of this module)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        return london_time(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def csv_chunks(heading: ReportHeading, header: Sequence[Any],
               rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The report as CSV text, in pieces for a streamed response: a byte order mark (so
    Excel reads it as UTF-8), the heading lines, a blank line, the header row, then the rows.
    Rows are read one at a time and handed on about every `CSV_CHUNK_CHARS` characters, so
    memory stays flat however many there are."""
    buffer = io.StringIO()
    write = _CsvRows(buffer).write
    buffer.write("\ufeff")
    for line in heading_lines(heading):
        write([csv_cell(value) for value in line])
    write([])
    write([csv_cell(value) for value in header])
    yield _drain(buffer)
    for row in rows:
        write([csv_cell(value) for value in row])
        if buffer.tell() >= CSV_CHUNK_CHARS:
            yield _drain(buffer)
    if buffer.tell():
        yield _drain(buffer)


class _CsvRows:
    """Writes rows of CSV cells: quoted only where needed (RFC 4180), except that a row
    holding a neutralised cell, a `;` or a tab has every text cell quoted, so that it is read
    whole whatever separator the spreadsheet splits on. Numbers stay unquoted, as numbers."""

    def __init__(self, buffer: io.StringIO):
        self._minimal = csv.writer(buffer)
        self._quoted = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)

    def write(self, cells: list[Any]) -> None:
        quoted = any(isinstance(cell, str) and (cell[:1] == "'" or ";" in cell or "\t" in cell)
                     for cell in cells)
        (self._quoted if quoted else self._minimal).writerow(cells)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate(0)
    return text


# XLSX -----------------------------------------------------------------------------------------


def write_xlsx(target: str | PathLike | IO[bytes], heading: ReportHeading,
               summary_header: Sequence[Any], summary_rows: Iterable[Sequence[Any]],
               detail_header: Sequence[Any], detail_rows: Iterable[Sequence[Any]]) -> None:
    """Write the report as an XLSX workbook to a path or a binary file opened for writing.

    "Summary" holds the heading lines, then the summary table. "Details" holds the detail
    table with its header row frozen, an autofilter over the header and every data row, dates
    as real Excel dates, and columns sized to what they hold (up to `MAX_COLUMN_WIDTH`).

    XlsxWriter's constant-memory mode writes each row to a temporary file as soon as the next
    one starts, so rows must go in order and memory stays flat. Freezing, the autofilter and
    column widths are stored on the worksheet and only written out when the workbook closes,
    so the autofilter's last row and the widths are set once every row has been seen. The
    temporary files live in a folder of their own that is removed on the way out, even when
    reading the rows fails part way.
    """
    import xlsxwriter  # several MiB: loaded by the first download, not by every process

    with tempfile.TemporaryDirectory(prefix="jesip-xlsx-") as scratch:
        workbook = xlsxwriter.Workbook(target, {
            "constant_memory": True,
            "tmpdir": scratch,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "nan_inf_to_errors": True,
        })
        workbook.set_properties({
            "title": heading.title,
            "author": "JESIP Learn",
            "created": london_time(heading.generated_at).replace(tzinfo=None),
        })
        styles = _XlsxStyles(workbook)
        try:
            _write_summary_sheet(workbook.add_worksheet("Summary"), styles, heading,
                                 summary_header, summary_rows)
            _write_details_sheet(workbook.add_worksheet("Details"), styles, detail_header,
                                 detail_rows)
        except BaseException:
            # Closing the workbook would write a partial file: close only the row files.
            # XlsxWriter has no public way to abandon a workbook; _opt_close is what its own
            # close() calls on each worksheet in constant-memory mode.
            for sheet in workbook.worksheets():
                sheet._opt_close()
            raise
        workbook.close()


def xlsx_file(heading: ReportHeading, summary_header: Sequence[Any],
              summary_rows: Iterable[Sequence[Any]], detail_header: Sequence[Any],
              detail_rows: Iterable[Sequence[Any]]) -> IO[bytes]:
    """The XLSX workbook (see `write_xlsx`) in an anonymous temporary file, rewound to the
    start. The caller reads it and closes it (it is a context manager); closing removes it."""
    handle = tempfile.TemporaryFile(prefix="jesip-report-", suffix=".xlsx")  # noqa: SIM115
    try:
        write_xlsx(handle, heading, summary_header, summary_rows, detail_header, detail_rows)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return handle


def xlsx_chunks(heading: ReportHeading, summary_header: Sequence[Any],
                summary_rows: Iterable[Sequence[Any]], detail_header: Sequence[Any],
                detail_rows: Iterable[Sequence[Any]], *,
                chunk_size: int = XLSX_CHUNK_BYTES) -> Iterator[bytes]:
    """The XLSX workbook in pieces of bytes for a streamed response. The whole workbook is
    written (to a temporary file) when the first piece is asked for, because a ZIP file's
    directory comes last; the file is removed when the pieces run out or the generator is
    closed, as a WSGI server does when the client goes away."""
    with xlsx_file(heading, summary_header, summary_rows, detail_header,
                   detail_rows) as handle:
        while chunk := handle.read(chunk_size):
            yield chunk


class _XlsxStyles:
    def __init__(self, workbook: xlsxwriter.Workbook):
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.label = workbook.add_format({"bold": True})
        self.header = workbook.add_format({"bold": True, "bg_color": "#F3F2F1", "bottom": 1,
                                           "text_wrap": True, "valign": "top"})
        self.date = workbook.add_format({"num_format": DATE_FORMAT, "align": "left"})
        self.datetime = workbook.add_format({"num_format": DATETIME_FORMAT, "align": "left"})


class _ColumnWidths:
    """The widest text seen in each column, as an Excel width within sensible bounds."""

    def __init__(self) -> None:
        self.widest: dict[int, int] = {}

    def see(self, column: int, length: int) -> None:
        if length > self.widest.get(column, 0):
            self.widest[column] = length

    def apply(self, sheet) -> None:
        for column, length in self.widest.items():
            width = min(max(length + 2, MIN_COLUMN_WIDTH), MAX_COLUMN_WIDTH)
            sheet.set_column(column, column, width)


def _write_cell(sheet, row: int, column: int, value: Any, styles: _XlsxStyles,
                text_format=None) -> int:
    """Write one value in its own type; return how many characters wide it shows."""
    if value is None:
        return 0
    if isinstance(value, str):
        text = neutralise(value)
    elif isinstance(value, bool):
        text = "Yes" if value else "No"
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, column, value)
        return len(str(value))
    elif isinstance(value, datetime):
        sheet.write_datetime(row, column, london_time(value).replace(tzinfo=None),
                             styles.datetime)
        return len(DATETIME_FORMAT)
    elif isinstance(value, date):
        sheet.write_datetime(row, column, value, styles.date)
        return len(DATE_FORMAT)
    else:
        text = neutralise(str(value))
    sheet.write_string(row, column, text, text_format)
    if "\n" in text:
        return max(len(line) for line in text.splitlines())
    return len(text)


def _write_summary_sheet(sheet, styles: _XlsxStyles, heading: ReportHeading,
                         header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> None:
    widths = _ColumnWidths()
    lines = heading_lines(heading)
    _write_cell(sheet, 0, 0, lines[0][0], styles, styles.title)
    row_number = 0
    for row_number, (label, value) in enumerate(lines[1:], start=1):
        widths.see(0, _write_cell(sheet, row_number, 0, label, styles, styles.label))
        _write_cell(sheet, row_number, 1, value, styles)  # free to run on into empty cells
    header_row = row_number + 2  # one blank row between the heading and the table
    for column, name in enumerate(header):
        widths.see(column, _write_cell(sheet, header_row, column, name, styles, styles.header))
    for row_number, row in enumerate(rows, start=header_row + 1):
        _check_row_fits(row_number)
        for column, value in enumerate(row):
            widths.see(column, _write_cell(sheet, row_number, column, value, styles))
    widths.apply(sheet)


def _write_details_sheet(sheet, styles: _XlsxStyles, header: Sequence[Any],
                         rows: Iterable[Sequence[Any]]) -> None:
    sheet.freeze_panes(1, 0)
    widths = _ColumnWidths()
    for column, name in enumerate(header):
        widths.see(column, _write_cell(sheet, 0, column, name, styles, styles.header))
    last_row, last_column = _write_detail_rows(sheet, styles, rows, widths)
    sheet.autofilter(0, 0, last_row, max(len(header) - 1, last_column, 0))
    widths.apply(sheet)


def _write_detail_rows(sheet, styles: _XlsxStyles, rows: Iterable[Sequence[Any]],
                       widths: _ColumnWidths) -> tuple[int, int]:
    """The detail rows, each written as the worksheet's XML straight into XlsxWriter's
    file of rows, holding one row at a time as constant-memory mode does: its cell-by-cell
    methods cost several times csv.writer for the same rows. The cells are what
    `_write_cell` writes: numbers, London dates and times in the date formats, and every
    other value as text, neutralised, XML-escaped and with control characters in Excel's
    _xHHHH_ escape. This relies on XlsxWriter 3.3's constant-memory internals (its file of
    rows and the last row it wrote), pinned in requirements.txt and checked by the tests,
    which read the workbook back. Returns the last row and column written."""
    from xlsxwriter.utility import xl_col_to_name

    sheet._write_single_row(1)  # the header row out first, as writing row 1 would
    write, excel_time = sheet.fh.write, sheet._convert_date_time
    date_style = styles.date._get_xf_index()
    datetime_style = styles.datetime._get_xf_index()
    letters: list[str] = []
    last_row = last_column = 0
    for last_row, row in enumerate(rows, start=1):
        _check_row_fits(last_row)
        number = last_row + 1
        cells = [f'<row r="{number}">']
        for column, value in enumerate(row):
            if value is None:
                continue
            while column >= len(letters):
                letters.append(xl_col_to_name(len(letters)))
            place = f"{letters[column]}{number}"
            if column > last_column:
                last_column = column
            if isinstance(value, bool):
                value = "Yes" if value else "No"
            elif isinstance(value, int | float | Decimal):
                shown = float(value) if isinstance(value, Decimal) else value
                cells.append(f'<c r="{place}"><v>{shown:.16G}</v></c>')
                widths.see(column, len(str(value)))
                continue
            elif isinstance(value, datetime):
                serial = excel_time(london_time(value).replace(tzinfo=None))
                cells.append(f'<c r="{place}" s="{datetime_style}"><v>{serial:.16G}</v></c>')
                widths.see(column, len(DATETIME_FORMAT))
                continue
            elif isinstance(value, date):
                serial = excel_time(value)
                cells.append(f'<c r="{place}" s="{date_style}"><v>{serial:.16G}</v></c>')
                widths.see(column, len(DATE_FORMAT))
                continue
            elif not isinstance(value, str):
                value = str(value)
            text = neutralise(value)
            widths.see(column, max(len(line) for line in text.splitlines())
                       if "\n" in text else len(text))
            cells.append(_inline_string(place, text))
        cells.append("</row>")
        write("".join(cells))
    if last_row:
        sheet._check_dimensions(last_row, last_column)
        sheet.previous_row = last_row + 1  # nothing more may be written above
    return last_row, last_column


XLSX_MAX_CHARS = 32_767  # in a cell; XlsxWriter cuts longer text there too
_XML_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_EXCEL_ESCAPED = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


def _inline_string(place: str, text: str) -> str:
    """An inline string cell, as XlsxWriter writes one in constant-memory mode."""
    text = text[:XLSX_MAX_CHARS]
    if _XML_SPECIAL.search(text):
        text = _EXCEL_ESCAPED.sub(r"_x005F\1", text)
        text = _CONTROL.sub(lambda match: f"_x{ord(match.group()):04X}_", text)
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f'<c r="{place}" t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _check_row_fits(row_number: int) -> None:
    if row_number > XLSX_MAX_ROW:
        raise ExportTooLarge(
            f"An XLSX worksheet holds at most {XLSX_MAX_ROW + 1:,} rows: narrow the filters "
            "or download the CSV instead.")


# PDF ------------------------------------------------------------------------------------------

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
    """One value as the PDF shows it (see the table at the top of this module)."""
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
