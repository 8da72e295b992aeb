"""Report downloads as an XLSX workbook: a Summary sheet and a Details sheet.

Owns how each value is written to an XLSX cell (see the table in the package docstring),
column widths, the row limit of a worksheet, and the fast path that writes detail rows as
worksheet XML straight into XlsxWriter's constant-memory row file. Every string is neutralised
(`cell_safety`) and written with `write_string`, with XlsxWriter's string-to-formula, -number
and -URL conversions switched off. Pure: no Flask, no database.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from os import PathLike
from typing import IO, TYPE_CHECKING, Any

from jesip_learn.core.exports.cell_safety import neutralise
from jesip_learn.core.exports.heading import ReportHeading, heading_lines, london_time

if TYPE_CHECKING:
    import xlsxwriter

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: The XLSX file is read back in pieces of this many bytes.
XLSX_CHUNK_BYTES = 64 * 1024
#: Excel's last row (1,048,576 rows, counted from 0 here); the Details header takes one.
XLSX_MAX_ROW = 1_048_575

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MIN_COLUMN_WIDTH = 8
MAX_COLUMN_WIDTH = 60


class ExportTooLarge(ValueError):
    """More rows than an XLSX worksheet can hold."""



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
