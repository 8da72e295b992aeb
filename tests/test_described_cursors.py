"""Cursors on PostgreSQL describe their result's columns only when something reads the
description (`core.described_cursors`), and then exactly as psycopg's own cursors do."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import column, make_url, select, text

from jesip_learn.core import described_cursors
from jesip_learn.core.db import Database
from tests.support.database import configured_url

pytestmark = pytest.mark.skipif(
    not (configured_url() or "").startswith("postgresql"),
    reason="DATABASE_URL names no PostgreSQL database: the cursors are psycopg's")

SEVERAL_TYPES = ("SELECT 1::integer AS number, 'Kent'::text AS name, 12.5::numeric(5, 2) AS score,"
                 " now() AS at, 'abc'::varchar(10) AS code, NULL::boolean AS flag")


@pytest.fixture
def connections(database_url):
    """A psycopg connection with psycopg's own cursors and one with the lazy ones."""
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as plain, psycopg.connect(
            url, autocommit=True, cursor_factory=described_cursors.LazilyDescribedCursor) as lazy:
        yield plain, lazy


def _as_psycopg_gives(description) -> list[tuple]:
    return [tuple(described) for described in description]


def test_a_description_read_is_the_one_psycopg_gives(connections):
    plain, lazy = connections
    expected = plain.execute(SEVERAL_TYPES).description
    described = lazy.execute(SEVERAL_TYPES).description
    assert len(described) == 6
    assert _as_psycopg_gives(described) == _as_psycopg_gives(expected)
    assert [column.name for column in described] == [
        "number", "name", "score", "at", "code", "flag"]
    assert described[-1].name == "flag"
    assert [column.name for column in described[1:3]] == ["name", "score"]
    assert described[2].type_display == expected[2].type_display == "numeric(5,2)"
    assert described[3].type_display == expected[3].type_display == "timestamptz"


@pytest.mark.parametrize("statement", [
    "SET application_name = 'described'", "CREATE TEMPORARY TABLE described (id integer)"])
def test_a_statement_without_rows_has_no_description_as_with_psycopg(connections, statement):
    plain, lazy = connections
    assert plain.execute(statement).description is None
    assert lazy.execute(statement).description is None


def test_a_select_of_no_columns_has_an_empty_description_not_none(connections):
    plain, lazy = connections
    assert plain.execute("SELECT").description == []
    described = lazy.execute("SELECT").description
    assert described is not None and len(described) == 0


def test_a_description_read_late_describes_the_statement_it_was_asked_for(connections):
    _plain, lazy = connections
    cursor = lazy.cursor()
    first = cursor.execute("SELECT 1 AS first_column").description
    cursor.execute("SELECT 'x' AS other, 2 AS second")
    assert [column.name for column in first] == ["first_column"]
    assert [column.name for column in cursor.description] == ["other", "second"]


def test_the_sites_connections_use_them_and_sqlalchemy_results_still_name_their_columns(
        database_url):
    database = Database(database_url)
    try:
        with database.read_session() as session:
            connection = session.connection()
            assert isinstance(connection.connection.driver_connection.cursor(),
                              described_cursors.LazilyDescribedCursor)
            # A textual statement: SQLAlchemy names the columns from the description.
            row = connection.execute(text("SELECT 7 AS seven, 'Kent' AS force")).one()
            assert row._mapping["seven"] == 7 and row.force == "Kent"
            listed = connection.execute(text("SELECT 1 AS a, 2 AS b")).keys()
            assert list(listed) == ["a", "b"]
    finally:
        database.engine.dispose()


def test_a_cached_statements_description_is_not_built(database_url, monkeypatch):
    """What the cursors are for: once SQLAlchemy has compiled and cached a statement, it
    reads nothing from the description, so no column is described."""
    built = []

    class CountedColumn(psycopg.Column):
        def __init__(self, cursor, index):
            built.append(index)
            super().__init__(cursor, index)

    monkeypatch.setattr(described_cursors.psycopg, "Column", CountedColumn)
    numbers = select(column("n")).select_from(
        text("generate_series(1, 3) AS n")).subquery()
    statement = select(numbers.c.n, (numbers.c.n * 2).label("twice"))
    database = Database(database_url)
    try:
        with database.read_session() as session:
            assert session.execute(statement).all() == [(1, 2), (2, 4), (3, 6)]
            assert built == [0, 1]  # the first time, SQLAlchemy learns the columns
            assert session.execute(statement).all() == [(1, 2), (2, 4), (3, 6)]
            assert built == [0, 1]
    finally:
        database.engine.dispose()
