"""SQL aggregates written out in full for each database, rather than with parameters
rendered into the statement on every execution."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class space_separated(FunctionElement):  # noqa: N801 - named as SQL functions are
    """A text column's values in the group, joined by single spaces (NULL when there are
    none). `func.aggregate_strings` does the same, but passes its separator as a value that
    SQLAlchemy renders into the SQL each time the statement runs; here the separator is
    part of the statement, compiled once and cached with it."""

    name = "space_separated"
    type = String()
    inherit_cache = True


@compiles(space_separated)
def _space_separated(element, compiler, **kw):
    return f"string_agg({compiler.process(element.clauses, **kw)}, ' ')"


@compiles(space_separated, "sqlite")
def _space_separated_on_sqlite(element, compiler, **kw):
    return f"group_concat({compiler.process(element.clauses, **kw)}, ' ')"
