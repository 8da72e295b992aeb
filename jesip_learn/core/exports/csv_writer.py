"""Report downloads as CSV text, streamed in pieces with flat memory.

Owns how each value is written to a CSV cell (see the table in the package docstring) and the
quoting rule: every row holding a neutralised cell (or a `;` or tab) has its text cells
enclosed in double quotes, so the cell is read whole whatever separator the spreadsheet
splits on. Pure: no Flask, no database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jesip_learn.core.exports.cell_safety import neutralise
from jesip_learn.core.exports.heading import ReportHeading, heading_lines, london_time

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

#: The CSV writer hands text on once its buffer holds about this many characters.
CSV_CHUNK_CHARS = 64 * 1024


def csv_cell(value: Any) -> Any:
    """One value as the CSV writes it (see the table in the package docstring)."""
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
