"""Bulk import files as a whole: column names however they are written, missing and repeated
columns, files that cannot be imported (not CSV, empty, binary, unreadable, too big, too many
rows) refused clearly, the encodings and separators read, line numbers, the source of
completions, and the templates."""

from __future__ import annotations

import codecs

import pytest

from jesip_learn.imports import csv_files
from jesip_learn.imports.csv_files import ImportFileError, ImportKind
from tests.support.bulk_import import USERS_HEADER, read

# --- the file as a whole ---------------------------------------------------------------


def test_column_names_in_any_case_with_or_without_spaces_or_underscores():
    parsed = read(" NAME ,E-mail,Organisation,command_role,Notes\n"
                  "Ann Able,ann@example.org,Northshire Police,tactical,x\n")
    assert parsed.rows[0].values == {"name": "Ann Able", "email": "ann@example.org",
                                     "organisation": "Northshire Police",
                                     "command_role": "tactical", "joined": "", "left": "",
                                     "permissions": ""}
    assert parsed.ignored_columns == ("Notes",)
    parsed = read("Email,CourseCode,Completion Date\na@example.org,X,2024-01-01\n",
                  ImportKind.COMPLETIONS)
    assert parsed.rows[0].values["course_code"] == "X"


@pytest.mark.parametrize(("header", "message"), [
    ("name,email\n", "missing the columns “organisation” and “command role”"),
    ("name,email,organisation\n", "missing the column “command role”"),
    ("email,Email,name,organisation,command role\n", "has 2 columns called “email”"),
])
def test_missing_and_repeated_columns_are_named(header, message):
    with pytest.raises(ImportFileError) as refused:
        read(header + "a,b,c,d,e\n")
    assert message in refused.value.message


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("people.xlsx", b"name\n", "must be a CSV file"),
    ("people.csv", b"PK\x03\x04rest of a zip", "is a spreadsheet workbook"),
    ("people.csv", b"", "is empty"),
    ("people.csv", b" \r\n\r\n", "is empty"),
    ("people.csv", USERS_HEADER.encode(), "has no rows below its header row"),
    ("people.csv", USERS_HEADER.encode() + b",,,\n", "has no rows below its header row"),
    ("people.csv", USERS_HEADER.encode() + b"a\x00b,c,d,e\n", "binary data"),
    ("people.csv", USERS_HEADER.encode() + "Zoë".encode("cp1252") + b"\x81,a,b,c\n",
     "characters in the selected file cannot be read"),
    ("people.csv", b"x" * (csv_files.MAX_BYTES + 1), "must be smaller than 2 MB"),
])
def test_files_that_cannot_be_imported_are_refused_clearly(filename, data, message):
    with pytest.raises(ImportFileError) as refused:
        csv_files.read_upload(filename, data, ImportKind.USERS)
    assert message in refused.value.message
    assert refused.value.field == "file"


def test_more_rows_than_the_limit_are_refused_with_the_count():
    rows = "".join(f"P {n},p{n}@example.org,Org,staff\n" for n in range(csv_files.MAX_ROWS + 2))
    with pytest.raises(ImportFileError) as refused:
        read(USERS_HEADER + rows)
    assert "has 5,002 rows. Import at most 5,000 rows" in refused.value.message
    rows = "".join(f"P {n},p{n}@example.org,Org,staff\n" for n in range(csv_files.MAX_ROWS))
    assert len(read(USERS_HEADER + rows).rows) == csv_files.MAX_ROWS


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_utf8_with_or_without_bom_and_windows_1252_are_read(encoding):
    parsed = read((USERS_HEADER + "Zoë Ørsted,zoe@example.org,Org,staff\n").encode(encoding))
    assert parsed.rows[0].values["name"] == "Zoë Ørsted"


def test_utf16_tab_separated_and_semicolon_files_are_read():
    text = "name\temail\torganisation\tcommand role\nZoë\tz@example.org\tOrg\tstaff\n"
    parsed = read(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert parsed.rows[0].values["name"] == "Zoë"
    parsed = read("name;email;organisation;command role\nA B;a@example.org;Org;staff\n")
    assert parsed.rows[0].values["email"] == "a@example.org"


def test_line_numbers_count_blank_lines_and_quoted_line_breaks():
    parsed = read(USERS_HEADER + "\n" + '"Ann\nAble",a@example.org,Org,staff\n'
                  + ",,,\n" + "Bo,b@example.org,Org,staff\n")
    assert [row.line for row in parsed.rows] == [3, 6]


def test_the_source_of_completions_is_required_and_limited():
    assert csv_files.check_source("  NCALT   e-learning ") == "NCALT e-learning"
    for bad, message in (("", "Enter where"), ("x" * 201, "200 characters or fewer")):
        with pytest.raises(ImportFileError) as refused:
            csv_files.check_source(bad)
        assert refused.value.field == "source" and message in refused.value.message


def test_templates_name_the_columns():
    assert csv_files.template_csv(ImportKind.USERS) == (
        "name,email,organisation,command role,joined,left,permissions\r\n")
    assert csv_files.template_csv(ImportKind.COMPLETIONS) == (
        "email,course code,completion date\r\n")
