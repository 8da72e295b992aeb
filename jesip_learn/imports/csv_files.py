"""Reading an uploaded CSV file for a bulk import, as a whole: its type, size, encoding,
delimiter, columns (matched by name, in any order) and number of rows, each problem said
in words for the importer (`ImportFileError`); and the template of each kind of file.
Nothing here reads the database: what each row would do is planned in
`jesip_learn.imports.people` and `jesip_learn.imports.completions`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from enum import StrEnum

from jesip_learn.core.input_errors import InputError
from jesip_learn.core.typed_text import control_character_problem

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_SOURCE_LENGTH = 200


class ImportKind(StrEnum):
    USERS = "users"
    COMPLETIONS = "completions"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str  # as written in the template's header row
    optional: bool = False  # a file may leave it out


COLUMNS = {
    ImportKind.USERS: (Column("name", "name"), Column("email", "email"),
                       Column("organisation", "organisation"),
                       Column("command_role", "command role"),
                       Column("joined", "joined", optional=True),
                       Column("left", "left", optional=True),
                       Column("permissions", "permissions", optional=True)),
    ImportKind.COMPLETIONS: (Column("email", "email"), Column("course_code", "course code"),
                             Column("completion_date", "completion date")),
}


class ImportFileError(InputError, ValueError):
    """A problem with the file or the form as a whole, named by the form field it belongs to."""

    def __init__(self, message: str, field: str = "file"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class ParsedFile:
    text: str
    rows: tuple[Row, ...]
    ignored_columns: tuple[str, ...] = ()


def header_key(text: str) -> str:
    """A column name as matched: any case, with or without spaces, underscores or hyphens."""
    return re.sub(r"[\s_\-]+", "", (text or "").strip().lstrip("\ufeff").lower())


def template_csv(kind: ImportKind) -> str:
    """The header row of an empty file of this kind, for people to fill in."""
    out = io.StringIO()
    csv.writer(out).writerow([column.label for column in COLUMNS[kind]])
    return out.getvalue()


def read_upload(filename: str, data: bytes, kind: ImportKind) -> ParsedFile:
    """The file's rows, or ImportFileError saying, in words for the importer, what is wrong."""
    if not (filename or "").lower().endswith(".csv"):
        raise ImportFileError("The selected file must be a CSV file. In a spreadsheet, use "
                              "Save As and choose “CSV UTF-8 (comma delimited)”.")
    if len(data) > MAX_BYTES:
        raise ImportFileError(f"The selected file must be smaller than {MAX_BYTES // 2**20} MB. "
                              "Split it into smaller files.")
    text = decode_text(data)
    if not text.strip():
        raise ImportFileError("The selected file is empty")
    return read_table(text, kind)


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without the byte order mark spreadsheets add), UTF-16 with its byte
    order mark, or else Windows-1252, the older default of Excel on Windows."""
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise ImportFileError("The selected file is a spreadsheet workbook, not a CSV file. "
                              "Use Save As and choose “CSV UTF-8 (comma delimited)”.")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _text_only(data.decode("utf-16"))
        except UnicodeDecodeError:
            pass
    else:
        try:
            return _text_only(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            try:
                return _text_only(data.decode("cp1252"))
            except UnicodeDecodeError:
                pass
    raise ImportFileError("The characters in the selected file cannot be read. Save it as "
                          "“CSV UTF-8 (comma delimited)” and upload it again.")


def _text_only(text: str) -> str:
    if "\x00" in text:
        raise ImportFileError("The selected file is not a CSV file: it holds binary data")
    return text


def read_table(text: str, kind: ImportKind) -> ParsedFile:
    lines = text.splitlines()
    first = lines[0] if lines else ""
    # Spreadsheets in some languages separate with semicolons; UTF-16 text uses tabs.
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, [])
        keys = _column_keys(header, kind)
        rows, previous_line = [], reader.line_num
        for cells in reader:
            line, previous_line = previous_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, and rows of empty cells a spreadsheet leaves
            values = dict.fromkeys((column.key for column in COLUMNS[kind]), "")
            values.update({key: cells[index].strip() if index < len(cells) else ""
                           for key, index in keys.items()})
            rows.append(Row(line, values))
            if len(rows) > MAX_ROWS:
                count = len(rows) + sum(1 for more in reader if any(c.strip() for c in more))
                raise ImportFileError(
                    f"The selected file has {count:,} rows. Import at most {MAX_ROWS:,} rows "
                    "at a time: split the file into smaller ones.")
    except csv.Error as error:
        raise ImportFileError(f"The selected file could not be read as CSV: {error} "
                              f"(line {reader.line_num})") from error
    if not rows:
        raise ImportFileError("The selected file has no rows below its header row")
    known = {header_key(column.label) for column in COLUMNS[kind]}
    ignored = tuple(name.strip() for name in header
                    if name.strip() and header_key(name) not in known)
    return ParsedFile(text=text, rows=tuple(rows), ignored_columns=ignored)


def _column_keys(header: list[str], kind: ImportKind) -> dict[str, int]:
    """Each column's key → its position in the file's header row."""
    positions: dict[str, int] = {}
    for column in COLUMNS[kind]:
        found = [i for i, name in enumerate(header) if header_key(name) == header_key(column.label)]
        if len(found) > 1:
            raise ImportFileError(f"The selected file has {len(found)} columns called "
                                  f"“{column.label}”: keep one")
        if found:
            positions[column.key] = found[0]
    missing = [column.label for column in COLUMNS[kind]
               if column.key not in positions and not column.optional]
    if missing:
        names = " and ".join(", ".join(f"“{m}”" for m in missing).rsplit(", ", 1))
        expected = ", ".join(column.label for column in COLUMNS[kind] if not column.optional)
        raise ImportFileError(
            f"The selected file is missing the {'column' if len(missing) == 1 else 'columns'} "
            f"{names}. Its first row must name the columns: {expected}.")
    return positions


def check_source(text: str | None) -> str:
    problem = control_character_problem(text or "", "Where the completions were recorded")
    if problem:
        raise ImportFileError(problem, field="source")
    source = " ".join((text or "").split())
    if not source:
        raise ImportFileError("Enter where these completions were recorded, for example NCALT",
                              field="source")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ImportFileError(f"Where the completions were recorded must be "
                              f"{MAX_SOURCE_LENGTH} characters or fewer", field="source")
    return source
