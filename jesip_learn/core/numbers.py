"""Whole numbers that people type or that addresses carry, read one way everywhere.

Python's own tests are too generous for input: `"²".isdigit()` is true yet `int("²")`
fails, `int("١٢")` is 12 (Arabic-Indic digits), `int()` refuses more than 4,300 digits with
an error of its own, and a number of any size reaches the database, where SQLite refuses
integers beyond 2**63 - 1 and PostgreSQL's `integer` columns beyond 2**31 - 1.
"""

from __future__ import annotations

# The largest value of the INTEGER columns that hold ids, version numbers and counts: the
# narrower of the two databases, PostgreSQL's `integer`.
DATABASE_INTEGER_MAX = 2**31 - 1


def whole_number(text: object, *, maximum: int = DATABASE_INTEGER_MAX) -> int | None:
    """The number written in the digits 0 to 9 alone (spaces around them allowed), from 0
    to `maximum`; None for anything else, so that callers treat it as "not a choice"."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text or not (text.isascii() and text.isdigit()):
        return None
    if len(text.lstrip("0")) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None
