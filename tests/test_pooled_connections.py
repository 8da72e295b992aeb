"""How the pool on PostgreSQL checks a connection before handing it out (`core.db.
_check_pooled_connections`): the socket of every connection is looked at without a round
trip, and only a connection that sat idle is pinged; a connection the server ended, or one
that does not answer its ping, is replaced before anyone uses it."""

from __future__ import annotations

import pytest
from psycopg import OperationalError as DriverOperationalError
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from jesip_learn.core import db as core_db
from jesip_learn.core.db import Database
from tests.support.database import postgresql_only

pytestmark = postgresql_only("SQLite has no server to lose")


@pytest.fixture
def pinged(database_url, monkeypatch):
    """A Database of its own whose pings are counted: (database, [connections pinged])."""
    database = Database(database_url)
    pings = []
    real_ping = database.engine.dialect.do_ping

    def counted_ping(dbapi_connection):
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(database.engine.dialect, "do_ping", counted_ping)
    yield database, pings
    database.engine.dispose()


def _backend_pid(database) -> int:
    with database.session() as session:
        return session.scalar(text("SELECT pg_backend_pid()"))


def _end(database_url: str, pid: int) -> None:
    """End one server process and wait until it has gone, as a restart would."""
    admin = create_engine(database_url, poolclass=NullPool)
    with admin.connect() as connection:
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    admin.dispose()


def test_a_connection_used_a_moment_ago_is_handed_out_without_a_round_trip(pinged):
    database, pings = pinged
    first = _backend_pid(database)  # a new connection: just made, not pinged
    assert _backend_pid(database) == first
    assert _backend_pid(database) == first
    assert pings == []


def test_a_connection_idle_for_longer_than_the_limit_is_pinged(pinged, monkeypatch):
    database, pings = pinged
    first = _backend_pid(database)
    monkeypatch.setattr(core_db, "IDLE_BEFORE_PING_SECONDS", -1)  # every connection "idle"
    assert _backend_pid(database) == first
    assert len(pings) == 1


def test_a_connection_the_server_ended_is_replaced_before_it_is_used(pinged, database_url):
    database, pings = pinged
    first = _backend_pid(database)
    _end(database_url, first)
    # Its socket says so at once: no ping needed, and the page's query works.
    second = _backend_pid(database)
    assert second != first
    assert pings == []


def test_an_idle_connection_that_does_not_answer_its_ping_is_replaced(pinged, monkeypatch):
    database, _pings = pinged
    first = _backend_pid(database)
    monkeypatch.setattr(core_db, "IDLE_BEFORE_PING_SECONDS", -1)
    pinged_connections = []

    def lost_the_first_time(dbapi_connection):
        # As psycopg fails when a network device dropped the connection without a word.
        pinged_connections.append(dbapi_connection)
        if len(pinged_connections) == 1:
            dbapi_connection.close()
            raise DriverOperationalError("server closed the connection unexpectedly")
        return True

    monkeypatch.setattr(database.engine.dialect, "do_ping", lost_the_first_time)
    second = _backend_pid(database)  # the page's query works, on a new connection
    assert second != first
    assert pinged_connections[0].closed
