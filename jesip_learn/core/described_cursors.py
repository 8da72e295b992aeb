"""psycopg cursors that describe their result's columns only when something reads them.

SQLAlchemy reads `cursor.description` after every statement to learn whether it returned
rows. For a statement it has compiled and cached before, which is every statement the site
runs more than once, it already knows the columns and looks no further than that. psycopg
builds a `Column` for every column each time it is asked, looking up each column's type:
on a signed-in module page that is 33 columns, about a tenth of the page's work, thrown
away unread. The cursors here answer None exactly when psycopg's would, and otherwise a
sequence that builds psycopg's own `Column`s, from the result it was asked about, when it
is first read; so anything that does read the description finds what psycopg would give.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg.pq import ExecStatus

_ROWS = (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK)


class _ResultSeen:
    """What psycopg's `Column` reads from a cursor, as it was when the description was
    asked for: the cursor may have run another statement by the time it is read."""

    __slots__ = ("pgresult", "_encoding", "adapters")

    def __init__(self, cursor: psycopg.Cursor):
        self.pgresult = cursor.pgresult
        self._encoding = cursor._encoding
        self.adapters = cursor.adapters


class LazyDescription(Sequence):
    __slots__ = ("_result", "_columns")

    def __init__(self, cursor: psycopg.Cursor):
        self._result: _ResultSeen | None = _ResultSeen(cursor)
        self._columns: list[psycopg.Column] | None = None

    def _described(self) -> list[psycopg.Column]:
        if self._columns is None:
            result, self._result = self._result, None
            self._columns = [psycopg.Column(result, index)
                             for index in range(result.pgresult.nfields)]
        return self._columns

    def __len__(self) -> int:
        return len(self._described())

    def __getitem__(self, index):
        return self._described()[index]

    def __repr__(self) -> str:
        return repr(self._described())


class LazilyDescribedCursor(psycopg.Cursor):
    @property
    def description(self) -> LazyDescription | None:
        # The same test as psycopg's own Cursor.description.
        result = self.pgresult
        if result and (result.nfields or result.status in _ROWS):
            return LazyDescription(self)
        return None


def describe_lazily(dbapi_connection, _connection_record) -> None:
    """An engine's "connect" listener: the new connection's cursors describe lazily."""
    dbapi_connection.cursor_factory = LazilyDescribedCursor
