"""Engine, sessions and the declarative base.

Plain SQLAlchemy 2: the web layer opens one session per request and commits once at the
edge; the CLI and the tests use the same `Database` without an app.

SQLite runs in WAL mode with a busy timeout and foreign keys on. pysqlite's own
transaction handling is switched off so that SQLAlchemy emits BEGIN itself; a session that
will write asks for `BEGIN IMMEDIATE`, because a deferred transaction that reads and then
writes fails at once with "database is locked" when another writer got there first,
whereas an immediate one waits its turn for the busy timeout.

On PostgreSQL the driver runs in autocommit and every session sends its plain SELECTs
without a transaction, saving the BEGIN and ROLLBACK (or COMMIT) round trips of work that
only reads; the first statement that does more than read (a write, a lock, a setting for
the transaction, a notification, a streamed result) begins the transaction first, so what
follows is one transaction, committed or rolled back whole as in any session. Under
PostgreSQL's READ COMMITTED every statement takes its own snapshot anyway, so the reads see
what they would have seen inside one. The connections never change isolation level on the
way in and out of the pool (doing so on every request was 4% of a reading page's work). A
connection given an isolation level of its own (`execution_options(isolation_level=...)`,
as Alembic's `autocommit_block` does for CREATE INDEX CONCURRENTLY) gets exactly that:
"AUTOCOMMIT" runs every statement outside a transaction, any other level begins them as
the driver does.

On PostgreSQL every connection's cursors (all but the named ones that stream results)
describe their results' columns only when something reads the description
(`core.described_cursors`).
"""

from __future__ import annotations

import functools
import random
import re
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, MetaData, create_engine, event, make_url
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

BUSY_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_SECONDS = 10  # a server that does not answer: give up, and say so, in time
WRITER_TRY_MS = 20  # how long one try at the write lock waits before a random pause
WRITE_OPTION = "jesip_write"
READS_FIRST_OPTION = "jesip_reads_first"
# A pooled connection idle for longer than this is pinged before it is used again.
IDLE_BEFORE_PING_SECONDS = 10
_IDLE_SINCE = "jesip_idle_since"

# What a SELECT may do that lasts until its transaction ends: lock rows, take an advisory
# lock, change a setting for the transaction, send a notification (delivered at the commit,
# with the writes, or not at all). Such a statement needs a transaction to last in.
_HOLDS_UNTIL_THE_END = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\bFOR\s+(?:KEY\s+)?SHARE\b"
    r"|\bpg_(?:try_)?advisory|\bset_config\b|\bpg_notify\b", re.IGNORECASE)

# Named constraints, so Alembic's batch mode on SQLite can find and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, foreign_keys: bool) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy issues BEGIN, not pysqlite
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if connection.get_execution_options().get(WRITE_OPTION):
            _begin_immediate(connection, busy_timeout_ms)
        else:
            connection.exec_driver_sql("BEGIN")


def _begin_immediate(connection, busy_timeout_ms: int) -> None:
    """BEGIN IMMEDIATE, waiting up to the busy timeout for the write lock.

    SQLite's own busy handler sleeps on a fixed schedule, so many waiting writers wake
    together and all but one go back to sleep: under load the last in line waits for
    seconds. Short tries with random pauses between them share the lock out fairly.
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    connection.exec_driver_sql(f"PRAGMA busy_timeout={WRITER_TRY_MS}")
    try:
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if not is_database_busy(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(random.uniform(0.002, 0.03))  # noqa: S311 - jitter, not secrets
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")


def make_engine(url: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS, *,
                sqlite_foreign_keys: bool = True, **kwargs) -> Engine:
    """An engine that waits up to `busy_timeout_ms` for another writer's lock, then fails
    with an error `is_database_busy` recognises.

    Migrations turn SQLite's foreign keys off: batch mode rebuilds a table by dropping it,
    and with foreign keys on, dropping `users` would first delete every row that refers to
    it with ON DELETE CASCADE."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": busy_timeout_ms / 1000})
    else:
        connect_args = {"options": f"-c lock_timeout={int(busy_timeout_ms)}"}
        if "connect_timeout" not in make_url(url).query:  # one in the URL is kept
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        kwargs.setdefault("connect_args", connect_args)
        if "isolation_level" not in kwargs:  # one chosen by the caller is kept as it is
            # Without the rollback on the way back to the pool, a transaction begun by a
            # write and never ended would stay open for the connection's next user.
            if kwargs.get("skip_autocommit_rollback") or (
                    "pool_reset_on_return" in kwargs and not kwargs["pool_reset_on_return"]):
                raise ValueError("PostgreSQL connections that read first must be rolled "
                                 "back on their way back to the pool")
            kwargs["isolation_level"] = "AUTOCOMMIT"
            kwargs["execution_options"] = {READS_FIRST_OPTION: True,
                                           **kwargs.get("execution_options", {})}
    engine = create_engine(url, **kwargs)
    if is_sqlite(engine):
        _configure_sqlite(engine, busy_timeout_ms, sqlite_foreign_keys)
        return engine
    if not kwargs.get("pool_pre_ping"):
        _check_pooled_connections(engine)
    event.listen(engine, "before_cursor_execute", _begin_before_more_than_reading)
    if engine.dialect.driver == "psycopg":
        # Imported here: a site on SQLite never loads the driver.
        from jesip_learn.core.described_cursors import describe_lazily

        event.listen(engine, "connect", describe_lazily)
    return engine


# The statements of a page are the same strings each time (compiled once, then cached):
# searching a long SELECT again each time was about 3% of a page's time on PostgreSQL.
@functools.lru_cache(maxsize=256)
def only_reads(statement: str) -> bool:
    """Whether an SQL statement is a SELECT that leaves nothing behind it in its transaction
    (no row lock, advisory lock, setting or notification). Anything else counts as more
    than reading, including statements that do not start with SELECT and only read
    (WITH ...), and text holding more than one statement (a semicolon anywhere). A
    function that writes must not be called from a bare SELECT: its writes would commit
    by themselves."""
    return (statement.lstrip()[:6].upper() == "SELECT" and ";" not in statement
            and _HOLDS_UNTIL_THE_END.search(statement) is None)


def _begin_before_more_than_reading(connection, cursor, statement, _parameters, _context,
                                    _executemany) -> None:
    """On a connection that reads first (autocommit on the driver), begin the transaction
    before the first statement that does more than read, or streams its result through a
    server-side cursor (which lives in a transaction)."""
    options = connection.get_execution_options()
    if not options.get(READS_FIRST_OPTION) or "isolation_level" in options:
        return  # an isolation level chosen for this connection is kept as it is
    from psycopg import ServerCursor
    from psycopg.pq import TransactionStatus

    if only_reads(statement) and not isinstance(cursor, ServerCursor):
        return

    driver_connection = connection.connection.driver_connection
    if driver_connection.info.transaction_status == TransactionStatus.IDLE:
        driver_connection.execute("BEGIN")


def _check_pooled_connections(engine: Engine) -> None:
    """A connection checked out of the pool is looked at first, and one the server has
    ended (it restarted, an administrator ended it, a network device dropped it) is
    replaced, so the site recovers by itself after a restart.

    pool_pre_ping's round trip on every checkout was a sixth of a page's time. Instead the
    operating system is asked, without waiting, whether the idle connection's socket has
    anything to read: between transactions the server sends nothing unless it is ending
    the connection (a message saying so, or the socket's end). A connection that sat idle
    for longer than IDLE_BEFORE_PING_SECONDS is pinged as well, because that is when a
    firewall or a failover may have dropped it without a word; in a busy pool connections
    come back within milliseconds and are not. What neither sees (the server ending a
    connection in the instant before a request takes it) fails that one request with the
    busy page, and the pool replaces the connection."""
    dialect = engine.dialect

    def note_when_idle(_dbapi_connection, record) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def check(dbapi_connection, record, _proxy) -> None:
        _refuse_connection_ended_by_server(dbapi_connection)
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since <= IDLE_BEFORE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise DisconnectionError("the server did not answer a ping") from error
            raise

    event.listen(engine, "connect", note_when_idle)
    event.listen(engine, "checkin", note_when_idle)
    event.listen(engine, "checkout", check)


def _refuse_connection_ended_by_server(dbapi_connection) -> None:
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        raise DisconnectionError("the connection was closed")
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    except (OSError, ValueError, AttributeError) as error:
        raise DisconnectionError("the connection has no socket") from error
    if poller.poll(0):
        raise DisconnectionError("the server ended the connection")


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, engine: Engine | None = None,
                 busy_timeout_ms: int = BUSY_TIMEOUT_MS):
        self.url = url
        self.engine = engine or make_engine(url, busy_timeout_ms)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.busy_timeout_ms = busy_timeout_ms
        self._side_sessionmaker: sessionmaker | None = None
        self._side_lock = threading.Lock()

    def session(self) -> Session:
        return self.sessionmaker()

    def side_session(self) -> Session:
        """A session on a pool of connections of its own, for a short transaction that
        commits by itself while a request's transaction is open (the throttle's counts).
        From the main pool, as many such requests at once as it has connections could each
        hold one and wait for ever for a second."""
        if self._side_sessionmaker is None:
            with self._side_lock:
                if self._side_sessionmaker is None:
                    self._side_sessionmaker = sessionmaker(
                        bind=make_engine(self.url, self.busy_timeout_ms),
                        expire_on_commit=False)
        return self._side_sessionmaker()

    def forget_connections(self) -> None:
        """In a forked process: drop the pooled connections inherited from the parent
        without closing them (closing would end them for the parent too); new ones are
        opened on first use."""
        self.engine.dispose(close=False)
        if self._side_sessionmaker is not None:
            self._side_sessionmaker.kw["bind"].dispose(close=False)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._side_sessionmaker is not None:
            self._side_sessionmaker.kw["bind"].dispose()

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A session for a command that writes: begins immediately, commits once."""
        session = self.session()
        try:
            begin_writing(session)
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def begin_writing(session: Session) -> None:
    """Start the session's transaction as a writer (BEGIN IMMEDIATE on SQLite).

    Must be called before the session's first statement; later it is a no-op, because the
    transaction has already begun.
    """
    session.connection(execution_options={WRITE_OPTION: True})


def begin_writing_after_reading(session: Session) -> None:
    """Make the session a writer from here on, for work that reads (and parses a course)
    before it writes, so that SQLite's write lock is not held while it parses.

    On SQLite a transaction that has only read cannot safely start writing (it fails at
    once when another writer got in first), so it is ended (it has written nothing) and a
    writer begun: what was loaded reloads under the lock, and the caller checks again
    anything it decided from it. A session already writing (begun as a writer, or holding
    the lock since its first write), or on PostgreSQL (where a reader's transaction may
    write, waiting for the rows it locks), carries on as it is.
    """
    if session.in_transaction():
        connection = session.connection()
        if (connection.get_execution_options().get(WRITE_OPTION)
                or not is_sqlite(connection.engine) or session.info.get(WROTE)):
            return
        if session.new or session.dirty or session.deleted:
            return  # about to write anyway: ending the transaction would lose the changes
        session.rollback()
    begin_writing(session)


WROTE = "jesip_wrote"


def has_written(session: Session) -> bool:
    """Whether the session's transaction holds anything to save: objects added, changed or
    deleted and not yet flushed, or statements already sent that may have written (a flush,
    or an INSERT, UPDATE or DELETE through `session.execute`). A transaction that only read
    can be rolled back instead of committed: the same outcome, without the commit."""
    return bool(session.info.get(WROTE) or session.new or session.dirty or session.deleted)


def note_written(session: Session) -> None:
    """Have the session's transaction end with a commit, as one that wrote: for work done on
    its behalf in another session that must stand with it."""
    session.info[WROTE] = True


@event.listens_for(Session, "after_flush")
def _note_writing(session: Session, _context) -> None:
    session.info[WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement_writing(state) -> None:
    # Anything but a SELECT may write: bulk INSERT ... ON CONFLICT, UPDATE and DELETE
    # statements, and plain SQL text, which is not read to find out.
    if not state.is_select:
        state.session.info[WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_writing(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(WROTE, None)


def is_database_busy(error: BaseException) -> bool:
    text = str(getattr(error, "orig", error)).lower()
    return any(sign in text for sign in BUSY_SIGNS)


def is_database_unavailable(error: BaseException) -> bool:
    """Whether the error says the database server cannot be reached or dropped the
    connection (restarting, shut down, connection refused or ended, no connection slot
    free), rather than anything wrong with the request: worth trying again shortly."""
    if isinstance(error, DisconnectionError | PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = getattr(error, "orig", None)
    if not type(original).__module__.startswith("psycopg"):
        return False  # SQLite's operational and interface errors are the program's own
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    sqlstate = getattr(original, "sqlstate", None)
    # No SQLSTATE: libpq's own failure to connect or to read the server's answer.
    return sqlstate is None or sqlstate.startswith(UNAVAILABLE_SQLSTATES)


# PostgreSQL's SQLSTATEs of a server out of reach: class 08 (connection exception), the
# administrator's or a crash's shutdown and a server still starting (57P01-57P03), and too
# many connections (53300).
UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")

# What SQLite and PostgreSQL say when another writer holds the lock for too long.
BUSY_SIGNS = (
    "database is locked",
    "database table is locked",
    "could not obtain lock",
    "lock timeout",
    "deadlock detected",
)
