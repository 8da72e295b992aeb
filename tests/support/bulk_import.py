"""What the bulk import tests (tests/test_bulk_import*.py) share: the day they import on, the
files' header rows, and reading a file and checking it (the dry run) as the pages do."""

from __future__ import annotations

from datetime import date

from jesip_learn.imports import bulk as bulk_import
from jesip_learn.imports import csv_files
from jesip_learn.imports.csv_files import ImportKind

TODAY = date(2026, 3, 31)
USERS_HEADER = "name,email,organisation,command role\n"
COMPLETIONS_HEADER = "email,course code,completion date\n"


def read(text: str | bytes, kind=ImportKind.USERS, filename="people.csv"):
    data = text.encode() if isinstance(text, str) else text
    return csv_files.read_upload(filename, data, kind)


def dry_run(session, importer, text, kind=ImportKind.USERS, source="NCALT"):
    batch = bulk_import.start_import(session, importer, kind, "file.csv", read(text, kind),
                                     source)
    return batch, bulk_import.plan_import(session, batch, importer, today=TODAY)
