"""Cursors on PostgreSQL describe their result's columns only when something reads the
description (`core.described_cursors`), and then exactly as psycopg's own cursors do."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import (
    Column,
    Identity,
    Integer,
    MetaData,
    String,
    Table,
    column,
    insert,
    make_url,
    select,
    text,
)

from jesip_learn.core import described_cursors
from jesip_learn.core.db import Database
from tests.support.database import postgresql_only

pytestmark = postgresql_only("the cursors are psycopg's")

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


def test_it_compares_equal_to_the_list_psycopg_gives_and_is_none_before_any_statement(
        connections):
    plain, lazy = connections
    assert plain.cursor().description is None
    assert lazy.cursor().description is None
    described = lazy.execute("SELECT 1 AS one, 2 AS two").description
    assert described == list(described)
    assert lazy.execute("SELECT").description == []
    assert described != []


def test_a_description_asked_for_before_the_connection_closed_can_be_read_after(database_url):
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, cursor_factory=described_cursors.LazilyDescribedCursor) as lazy:
        cursor = lazy.execute("SELECT 'Kent'::text AS force, 3::integer AS officers")
        described = cursor.description
        cursor.close()
    assert lazy.closed
    assert [(column.name, column.type_display) for column in described] == [
        ("force", "text"), ("officers", "int4")]


def test_each_result_of_an_executemany_with_returning_is_described(connections):
    plain, lazy = connections
    descriptions = []
    for connection in (plain, lazy):
        cursor = connection.cursor()
        cursor.executemany("SELECT %s::integer AS number, %s::text AS word",
                           [(1, "one"), (2, "two")], returning=True)
        seen = [_as_psycopg_gives(cursor.description)]
        assert cursor.nextset()
        seen.append(_as_psycopg_gives(cursor.description))
        descriptions.append(seen)
    assert descriptions[0] == descriptions[1]
    assert [name for name, *_ in descriptions[1][1]] == ["number", "word"]


def test_a_failure_while_describing_happens_again_on_the_next_read(connections, monkeypatch):
    _plain, lazy = connections
    described = lazy.execute("SELECT 1 AS one").description

    def failing(_result, _index):
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "a name that does not decode")

    monkeypatch.setattr(described_cursors.psycopg, "Column", failing)
    with pytest.raises(UnicodeDecodeError):
        len(described)
    monkeypatch.undo()
    assert [column.name for column in described] == ["one"]


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
        with database.session() as session:
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


def test_a_connection_asked_for_cursors_of_another_kind_keeps_them(database_url):
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, cursor_factory=psycopg.ClientCursor) as chosen, \
            psycopg.connect(url) as default:
        described_cursors.describe_lazily(chosen, None)
        described_cursors.describe_lazily(default, None)
        assert chosen.cursor_factory is psycopg.ClientCursor
        assert default.cursor_factory is described_cursors.LazilyDescribedCursor


def test_rows_streamed_and_rows_inserted_in_bulk_come_back_as_before(database_url):
    """Two paths that read the description: results streamed through a named cursor (which
    stays psycopg's own) and a bulk insert returning its rows in the order given."""
    items = Table("described_items", MetaData(),
                  Column("id", Integer, Identity(), primary_key=True), Column("name", String),
                  prefixes=["TEMPORARY"])
    database = Database(database_url)
    try:
        with database.session() as session:
            numbers = select(column("n")).select_from(text("generate_series(1, 5) AS n"))
            streamed = session.execute(numbers.execution_options(yield_per=2))
            assert [row.n for row in streamed] == [1, 2, 3, 4, 5]
            items.create(session.connection())
            names = ["Kent", "Essex", "Surrey", "Sussex"]
            inserted = session.execute(
                insert(items).returning(items.c.name, items.c.id, sort_by_parameter_order=True),
                [{"name": name} for name in names]).all()
            assert [row.name for row in inserted] == names
            assert len({row.id for row in inserted}) == 4
            session.rollback()
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
        with database.session() as session:
            assert session.execute(statement).all() == [(1, 2), (2, 4), (3, 6)]
            assert built == [0, 1]  # the first time, SQLAlchemy learns the columns
            assert session.execute(statement).all() == [(1, 2), (2, 4), (3, 6)]
            assert built == [0, 1]
    finally:
        database.engine.dispose()
