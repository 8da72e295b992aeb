"""The database layer: SQLite settings, writers that wait their turn, migrations."""

import threading

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from jesip_learn import tables
from jesip_learn.accounts.models import Organisation
from jesip_learn.cli import alembic_config
from jesip_learn.core.db import Database, begin_writing, begin_writing_after_reading
from tests.support import database as test_database


@pytest.fixture
def fresh_url(tmp_path):
    """An empty database of the kind the suite runs on."""
    url = test_database.configured_url()
    if url:
        url = test_database.sibling_database(url, "fresh")
    else:
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    yield url
    if not url.startswith("sqlite"):
        test_database.drop_sibling_database(url)


def table_names(url):
    database = Database(url)
    names = set(inspect(database.engine).get_table_names())
    database.engine.dispose()
    return names


def test_migrations_upgrade_downgrade_and_upgrade_again(fresh_url):
    config = alembic_config(fresh_url)
    command.upgrade(config, "head")
    assert {"users", "organisations", "areas", "audit_events"} <= table_names(fresh_url)
    command.downgrade(config, "base")
    assert table_names(fresh_url) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert "users" in table_names(fresh_url)


def test_migrations_match_the_models(database):
    """A model change without its migration fails here."""
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), tables.metadata)
    assert differences == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    database.engine.dispose()


def test_concurrent_read_then_write_transactions_all_succeed(tmp_path):
    """With deferred BEGIN, a reader that becomes a writer fails at once with "database is
    locked" when another writer got in first; BEGIN IMMEDIATE makes it wait instead."""
    url = f"sqlite:///{tmp_path / 'writers.db'}"
    test_database.migrate(url)
    database = Database(url)
    errors = []
    barrier = threading.Barrier(8)

    def writer(number):
        try:
            barrier.wait()
            with database.write_session() as session:
                session.scalars(select(Organisation)).all()  # read first...
                session.add(Organisation(name=f"Writer {number}", service="other"))  # ...then write
        except Exception as error:  # noqa: BLE001 - every failure is the finding
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.session() as session:
        assert session.scalar(text("SELECT count(*) FROM organisations")) == 8
    database.engine.dispose()


def test_write_sessions_roll_back_on_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'rollback.db'}"
    test_database.migrate(url)
    database = Database(url)
    with pytest.raises(RuntimeError), database.write_session() as session:
        session.add(Organisation(name="Half Written", service="other"))
        session.flush()
        raise RuntimeError("stop")
    with database.session() as session:
        assert session.scalar(select(Organisation)) is None
    database.engine.dispose()


def test_manager_grants_that_named_nothing_are_given_their_holders_organisation(fresh_url):
    """Before migration 0013 a manager grant could name neither organisation nor area, and was
    read as the holder's organisation of the moment; upgrading names it, once and for all,
    and from then on the database refuses such a grant."""
    config = alembic_config(fresh_url)
    command.upgrade(config, "0012")
    database = Database(fresh_url)
    with database.engine.begin() as connection:
        for number, name in ((1, "Northshire Police"), (2, "Southshire Police")):
            connection.execute(text(
                "INSERT INTO organisations (id, name, service, country, is_active, created_at)"
                " VALUES (:id, :name, 'police', 'England', true, CURRENT_TIMESTAMP)"),
                {"id": number, "name": name})
        connection.execute(text("INSERT INTO areas (id, name, country) VALUES (1, 'LRF', '')"))
        for number, organisation in ((1, 2), (2, 1), (3, 1)):
            connection.execute(text(
                "INSERT INTO users (id, email, name, password_hash, organisation_id, "
                "command_role, is_active, session_epoch, created_at) VALUES (:id, :email, "
                "'Person', '', :organisation, 'staff', true, 0, CURRENT_TIMESTAMP)"),
                {"id": number, "email": f"person{number}@example.org",
                 "organisation": organisation})
        connection.execute(text(
            "INSERT INTO permission_grants (user_id, permission, organisation_id, area_id, "
            "granted_at) VALUES (1, 'manager', NULL, NULL, CURRENT_TIMESTAMP), "
            "(1, 'learner', NULL, NULL, CURRENT_TIMESTAMP), "
            "(2, 'manager', NULL, 1, CURRENT_TIMESTAMP), "
            "(3, 'manager', 2, NULL, CURRENT_TIMESTAMP)"))
    command.upgrade(config, "head")
    with database.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT user_id, permission, organisation_id, area_id FROM permission_grants "
            "ORDER BY user_id, permission")).all()
    assert [tuple(row) for row in rows] == [
        (1, "learner", None, None), (1, "manager", 2, None), (2, "manager", None, 1),
        (3, "manager", 2, None)]
    with database.engine.begin() as connection:  # other permissions name nothing
        connection.execute(text(
            "INSERT INTO permission_grants (user_id, permission, organisation_id, area_id, "
            "granted_at) VALUES (2, 'trainer', NULL, NULL, CURRENT_TIMESTAMP), "
            "(3, 'admin', NULL, NULL, CURRENT_TIMESTAMP)"))
    with pytest.raises(IntegrityError), database.engine.begin() as connection:
        connection.execute(text(
            "UPDATE permission_grants SET organisation_id = NULL WHERE user_id = 3"))
    command.downgrade(config, "0012")
    command.upgrade(config, "head")
    database.engine.dispose()
def _sqlite_database(tmp_path, name):
    url = f"sqlite:///{tmp_path / name}"
    test_database.migrate(url)
    return Database(url, busy_timeout_ms=100)


def test_a_reader_becomes_a_writer_only_when_asked(tmp_path):
    database = _sqlite_database(tmp_path, "reader.db")
    reader, other = database.session(), database.session()
    try:
        reader.scalar(select(Organisation.id))  # a reading transaction: no lock held
        begin_writing(other)  # another writer gets the lock at once...
        other.rollback()
        begin_writing_after_reading(reader)  # ...until the reader asks to write
        reader.add(Organisation(name="Readshire Police", service="police"))
        reader.flush()
        with pytest.raises(Exception, match="locked"):
            begin_writing(other)
            other.execute(text("SELECT 1"))
        other.rollback()
        begin_writing_after_reading(reader)  # a writer already: its change stays
        reader.commit()
        assert other.scalar(select(Organisation.name)) == "Readshire Police"
    finally:
        reader.close()
        other.close()
        database.engine.dispose()
