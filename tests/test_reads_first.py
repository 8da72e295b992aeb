"""Sessions on PostgreSQL (`core.db.make_engine`: the driver in autocommit): their plain
SELECTs run without a transaction, so BEGIN and ROLLBACK or COMMIT are never sent for work
that only reads; the first statement that does more than read (a write, a row or advisory
lock, a setting for the transaction, a notification, a streamed result) begins the
transaction first, and what follows is one transaction, saved or undone whole.
A connection given an isolation level of its own keeps it: "AUTOCOMMIT" for what may not
run inside a transaction, as Alembic's `autocommit_block` asks for it."""

from __future__ import annotations

import uuid

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, OperationalError

from jesip_learn.core.db import Database, make_engine
from jesip_learn.factory import create_app
from jesip_learn.learning.progress import lock_learner_course
from tests.support.database import postgresql_only
from tests.support.web import app_settings

pytestmark = postgresql_only("SQLite's reads begin a transaction that costs nothing")


@pytest.fixture
def scratch(database) -> Table:
    """A table of the test's own, on the real database (no outer transaction to hide
    whether one begins), dropped at the end."""
    table = Table(f"scratch_{uuid.uuid4().hex[:10]}", MetaData(),
                  Column("id", Integer, primary_key=True), Column("note", Text))
    table.create(database.engine)
    with database.engine.begin() as connection:
        connection.execute(insert(table).values(id=1, note="first"))
    yield table
    table.drop(database.engine)


def _status(session) -> TransactionStatus:
    return session.connection().connection.driver_connection.info.transaction_status


def _notes(database, table: Table) -> list[tuple]:
    with database.session() as session:
        return [tuple(row) for row in session.execute(select(table).order_by(table.c.id))]


def test_plain_reads_open_no_transaction(database, scratch):
    with database.session() as reading:
        assert reading.execute(select(scratch.c.note)).scalar_one() == "first"
        assert _status(reading) == TransactionStatus.IDLE
        reading.commit()  # nothing to commit: nothing is sent, nothing fails
        assert _status(reading) == TransactionStatus.IDLE


def test_a_session_begun_as_a_writer_reads_first_too(database, scratch):
    with database.write_session() as session:
        session.execute(select(scratch.c.note))
        assert _status(session) == TransactionStatus.IDLE
        session.execute(insert(scratch).values(id=2, note="second"))
        assert _status(session) == TransactionStatus.INTRANS
    assert _notes(database, scratch) == [(1, "first"), (2, "second")]


def test_a_connection_with_an_isolation_level_of_its_choosing_keeps_it(database_url, scratch):
    chosen = Database(database_url, make_engine(database_url, isolation_level="REPEATABLE READ"))
    try:
        with chosen.session() as session:
            session.execute(select(scratch.c.note))
            assert _status(session) == TransactionStatus.INTRANS
            assert session.execute(select(func.current_setting("transaction_isolation"))
                                   ).scalar_one() == "repeatable read"
    finally:
        chosen.dispose()


def test_a_connection_asked_for_autocommit_runs_what_may_not_run_in_a_transaction(
        database, scratch):
    with database.engine.connect() as connection, pytest.raises(
            DBAPIError, match="cannot run inside a transaction block"):
        connection.exec_driver_sql(f"VACUUM {scratch.name}")
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") \
            as connection:
        connection.exec_driver_sql(f"VACUUM {scratch.name}")
        connection.exec_driver_sql(  # what a migration's autocommit_block would run
            f"CREATE INDEX CONCURRENTLY ix_{scratch.name}_note ON {scratch.name} (note)")
        assert connection.connection.driver_connection.info.transaction_status \
            == TransactionStatus.IDLE


def test_a_connection_asked_for_another_level_begins_its_transactions_as_usual(
        database, scratch):
    with database.engine.connect().execution_options(
            isolation_level="REPEATABLE READ") as connection:
        connection.execute(select(scratch.c.note))
        assert connection.connection.driver_connection.info.transaction_status \
            == TransactionStatus.INTRANS
        assert connection.execute(select(func.current_setting("transaction_isolation"))
                                  ).scalar_one() == "repeatable read"
        connection.execute(insert(scratch).values(id=2, note="second"))
        connection.commit()
    assert _notes(database, scratch) == [(1, "first"), (2, "second")]


@pytest.mark.parametrize("option", [{"skip_autocommit_rollback": True},
                                    {"pool_reset_on_return": None}])
def test_connections_that_read_first_are_always_rolled_back_into_the_pool(database_url,
                                                                         option):
    with pytest.raises(ValueError, match="rolled back on their way back to the pool"):
        make_engine(database_url, **option)

def test_a_write_begins_the_transaction_and_a_rollback_undoes_every_write(database, scratch):
    with database.session() as session:
        session.execute(select(scratch.c.note))
        session.execute(insert(scratch).values(id=2, note="second"))
        assert _status(session) == TransactionStatus.INTRANS
        session.execute(update(scratch).where(scratch.c.id == 1).values(note="changed"))
        assert _notes(database, scratch) == [(1, "first")]  # not seen outside before the end
        session.rollback()
    assert _notes(database, scratch) == [(1, "first")]


def test_writes_are_saved_together_by_the_commit(database, scratch):
    with database.session() as session:
        session.execute(insert(scratch).values(id=2, note="second"))
        session.execute(update(scratch).where(scratch.c.id == 1).values(note="changed"))
        session.commit()
        assert _status(session) == TransactionStatus.IDLE
    assert _notes(database, scratch) == [(1, "changed"), (2, "second")]


def test_a_row_locked_by_a_select_stays_locked_until_the_end(database, scratch):
    first_row = select(scratch.c.id).where(scratch.c.id == 1)
    with database.session() as session:
        session.execute(first_row.with_for_update())
        assert _status(session) == TransactionStatus.INTRANS
        with database.engine.connect() as other, pytest.raises(OperationalError):
            other.execute(first_row.with_for_update(nowait=True))
        session.rollback()
    with database.engine.connect() as other:
        assert other.execute(first_row.with_for_update(nowait=True)).scalar_one() == 1


def test_an_advisory_lock_is_held_until_the_end(database):
    key = (900_000_000 + uuid.uuid4().int % 1_000_000, 42)
    with database.session() as session:
        lock_learner_course(session, *key)
        with database.engine.connect() as other:
            assert other.execute(select(func.pg_try_advisory_xact_lock(*key))).scalar_one() \
                is False
        session.rollback()
    with database.engine.connect() as other:
        assert other.execute(select(func.pg_try_advisory_xact_lock(*key))).scalar_one() is True


def test_a_setting_for_the_transaction_holds_for_the_statements_after_it(database):
    with database.session() as session:
        session.execute(select(func.set_config("jit", "off", True)))
        assert session.execute(select(func.current_setting("jit"))).scalar_one() == "off"


def test_a_notification_waits_for_the_commit_with_the_writes(database):
    with database.session() as session:
        session.execute(select(func.pg_notify("jesip_test", "sent with the commit")))
        assert _status(session) == TransactionStatus.INTRANS
        session.rollback()


def test_a_streamed_result_reads_every_row(database, scratch):
    with database.session() as session:
        session.execute(insert(scratch), [{"id": n, "note": "more"} for n in range(2, 10)])
        session.commit()
        rows = session.execute(select(scratch.c.id).order_by(scratch.c.id)
                               .execution_options(yield_per=3))
        assert [row.id for row in rows] == list(range(1, 10))


def test_a_page_that_only_reads_sends_its_selects_outside_a_transaction(database, tmp_path):
    """Through the edge, on the real database: every statement of an anonymous page that
    reads (a certificate check) is sent with no transaction open, and none is BEGIN,
    COMMIT or ROLLBACK."""
    app = create_app(app_settings(database, INSTANCE_PATH=tmp_path))
    seen: list[tuple[str, TransactionStatus]] = []

    def note(connection, _cursor, statement, *_rest):
        status = connection.connection.driver_connection.info.transaction_status
        seen.append((" ".join(statement.split())[:40], status))

    event.listen(database.engine, "before_cursor_execute", note)
    try:
        page = app.test_client().get("/verify/NO-SUCH-CERTIFICATE")
    finally:
        event.remove(database.engine, "before_cursor_execute", note)
    assert page.status_code == 200
    assert seen, "the page read nothing"
    assert all(statement.startswith("SELECT") for statement, _ in seen)
    assert {status for _, status in seen} == {TransactionStatus.IDLE}
