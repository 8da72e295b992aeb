"""The site's URL converters."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, Map, ValidationError

from jesip_learn.core.numbers import DATABASE_INTEGER_MAX, whole_number


class DatabaseIntegerConverter(IntegerConverter):
    """`<int:…>` in this site's addresses, which always names a database row (an id or a
    version number): the digits 0 to 9 alone, up to the database's largest integer.
    Anything else matches no route, so it is "not found", never a server error. Werkzeug's
    own converter takes any script's digits (its `\\d` matches "١٢") and numbers of any
    size, which SQLite and PostgreSQL refuse."""

    regex = r"[0-9]+"

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = None, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, DATABASE_INTEGER_MAX if max is None else max,
                         signed)

    def to_python(self, value: str) -> int:
        if whole_number(value.removeprefix("-"), maximum=self.max) is None:
            raise ValidationError()
        return super().to_python(value)
