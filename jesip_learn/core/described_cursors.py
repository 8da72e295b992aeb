"""psycopg cursors that describe their result's columns only when something reads them.

SQLAlchemy reads `cursor.description` after every statement to learn whether it returned
rows. For a statement whose result columns it has cached, which is nearly every statement
the site runs more than once, it already knows the columns and looks no further than that.
psycopg builds a `Column` for every column each time it is asked, looking up each column's
type: on a signed-in module page that is 33 columns, about a tenth of the page's work,
thrown away unread. The cursors here answer None exactly when psycopg's would, and
otherwise a read-only sequence that builds psycopg's own `Column`s, from the result it was
asked about, when it is first read, and compares equal to the list psycopg would give; so
anything that reads the description finds what psycopg would give. (SQLAlchemy still reads
the description of a statement whose result it cannot cache, such as `text()` without
`.columns()`; those build their columns as before. Named cursors, which stream results,
are psycopg's own.)
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg.pq import ExecStatus

_ROWS = (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK)


class _ResultSeen:
    """What psycopg's `Column` reads from a cursor: the result and the connection's encoding
    as they were when the description was asked for (the cursor may have run another
    statement by the time it is read, and a closed connection reports another encoding),
    and the connection's type adapters."""

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
            result = self._result
            self._columns = [psycopg.Column(result, index)
                             for index in range(result.pgresult.nfields)]
            self._result = None  # the rows need not be kept once described
        return self._columns

    def __len__(self) -> int:
        return len(self._described())

    def __getitem__(self, index):
        return self._described()[index]

    def __eq__(self, other) -> bool:
        if isinstance(other, LazyDescription):
            other = other._described()
        return self._described() == other

    __hash__ = None  # a list's is None too

    def __repr__(self) -> str:
        return repr(self._described())


class LazilyDescribedCursor(psycopg.Cursor):
    __slots__ = ()  # as psycopg's: SQLAlchemy makes one cursor per statement

    @property
    def description(self) -> LazyDescription | None:
        # The same test as psycopg's own Cursor.description.
        result = self.pgresult
        if result and (result.nfields or result.status in _ROWS):
            return LazyDescription(self)
        return None


def describe_lazily(dbapi_connection, _connection_record) -> None:
    """An engine's "connect" listener: the new connection's cursors describe lazily, unless
    the connection was asked for cursors of another kind (psycopg's `ClientCursor`, say)."""
    if dbapi_connection.cursor_factory is psycopg.Cursor:
        dbapi_connection.cursor_factory = LazilyDescribedCursor
