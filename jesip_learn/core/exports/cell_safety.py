"""Formula injection (OWASP "CSV injection"): which text a spreadsheet could run.

Every string that lands in a CSV or XLSX cell goes through `neutralise`: one that begins with
`=`, `+`, `-`, `@`, a tab or a carriage return, or holds one of those straight after a `;`,
`,`, tab or line break (where a spreadsheet that splits the cell, such as Excel where the list
separator is `;`, would start a new cell with it: `Smith;=1+1`), gets a single quote in front,
so a spreadsheet shows it as text instead of running it. That covers the heading too (title,
filter labels and values, the person who ran the report), because a filter value can come
from what someone typed. Numbers, dates and None pass through untouched: a negative number is
a number, not a formula. So a caller who wants a number treated as a number passes an int,
float or Decimal, not text. How each format keeps a neutralised cell whole is the format's
own business (see `csv_writer` and `xlsx_writer`). Pure: no Flask, no database.
"""

from __future__ import annotations

import re
from typing import Any

#: Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: A trigger straight after a separator: where a spreadsheet splits the cell, a formula.
SEPARATED_TRIGGER = re.compile(r"[;,\t\r\n][=+\-@\t\r]")


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
