"""Which database the tests use, and bringing it to the newest migration.

SQLite in a temporary file by default; the database DATABASE_URL names when it is set
(CI sets it to PostgreSQL). Its name must contain "test": the suite empties it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, make_url, text

from jesip_learn.cli import alembic_config
from jesip_learn.core.config import normalise_database_url
from jesip_learn.core.db import Database, begin_writing, is_sqlite


def configured_url() -> str | None:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return None
    url = normalise_database_url(url)
    name = make_url(url).database or ""
    if "test" not in Path(name).name:
        raise RuntimeError(
            f"DATABASE_URL names the database {name!r}: the tests empty the database they "
            "use, so its name must contain 'test'."
        )
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and not url.startswith("sqlite"):
        # Tests run in several processes at once: each has a database of its own beside
        # the named one, made the first time that process asks.
        url = _worker_database(url, worker)
    return url


def postgresql_only(why: str) -> pytest.MarkDecorator:
    """Skips a test, or with `pytestmark` a module, unless DATABASE_URL names a PostgreSQL
    database; `why` says what SQLite lacks, in the skip's reason."""
    return pytest.mark.skipif(not (configured_url() or "").startswith("postgresql"),
                              reason=f"DATABASE_URL names no PostgreSQL database: {why}")


@cache
def _worker_database(url: str, worker: str) -> str:
    return sibling_database(url, worker)


def sibling_database(url: str, suffix: str) -> str:
    """A second database beside the configured one (PostgreSQL), created empty."""
    parsed = make_url(url)
    name = f"{parsed.database}_{suffix}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def drop_sibling_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def empty_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(make_url(url).database)
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def migrate(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


@contextmanager
def committing_database(kind: str, name: str, folder: Path, **options) -> Iterator[Database]:
    """A migrated database apart from the one the other tests roll back in, for tests whose
    threads commit for real: SQLite in a file in `folder`, or PostgreSQL beside the
    configured database (the test is skipped when DATABASE_URL names none)."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / f'{name}.db'}"
    else:
        configured = configured_url()
        if not configured or not configured.startswith("postgresql"):
            pytest.skip("DATABASE_URL names no PostgreSQL database")
        url = sibling_database(configured, name)
    try:
        migrate(url)
        database = Database(url, **options)
        yield database
        database.engine.dispose()
    finally:
        if kind == "postgresql":
            drop_sibling_database(url)


def race_in_sessions(database: Database, prepare: Callable, attempt: Callable, *,
                     threads: int) -> list:
    """`prepare(session)` then `attempt(session, prepared)` in `threads` threads at once, each
    in its own transaction, committed when it returns; what each returned or raised."""
    barrier = threading.Barrier(threads, timeout=30)
    sqlite = is_sqlite(database.engine)

    def one_session(_index):
        session = database.session()
        try:
            if sqlite:
                barrier.wait()
            begin_writing(session)
            prepared = prepare(session)
            if not sqlite:
                barrier.wait()
            outcome = attempt(session, prepared)
            session.commit()
            return outcome
        except Exception as error:  # noqa: BLE001 - reported by the test
            session.rollback()
            return error
        finally:
            session.close()

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one_session, range(threads)))
