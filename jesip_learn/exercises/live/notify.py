"""Telling the open streams that a session's log has new entries.

An announcement is made only after the entries' transaction has committed (log.py calls
`announce` from SQLAlchemy's after_commit), so whoever it wakes finds them in the database.
It wakes this process's streams at once, and reaches other workers and hosts through Redis
pub/sub when REDIS_URL is set, else (or while Redis cannot be reached) PostgreSQL's
LISTEN/NOTIFY; on SQLite the site runs in one process and needs neither. An announcement
carries only the session's id: a stream woken reads what is new from the database itself,
and streams also look every few seconds, so a lost announcement delays, never loses.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import make_url

from jesip_learn.exercises.live import log as live_log

logger = logging.getLogger("jesip_learn.exercises.live")
CHANNEL = "jesip_live"
RETRY_SECONDS = 2.0


class LocalNotifier:
    """This process's streams, waiting for their session's count of announcements to move."""

    def __init__(self):
        self._condition = threading.Condition()
        self._counts: dict[int, int] = {}

    def mark(self, session_id: int) -> int:
        with self._condition:
            return self._counts.get(session_id, 0)

    def wake(self, session_id: int) -> None:
        with self._condition:
            self._counts[session_id] = self._counts.get(session_id, 0) + 1
            self._condition.notify_all()

    def wait(self, session_id: int, mark: int, timeout: float) -> bool:
        """True when an announcement came after `mark`; False after `timeout` seconds."""
        with self._condition:
            return self._condition.wait_for(
                lambda: self._counts.get(session_id, 0) != mark, timeout=max(0.0, timeout))


LOCAL = LocalNotifier()


class RedisTransport:
    name = "redis"

    def __init__(self, url: str):
        import redis

        self.url = url
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._warned = False

    def publish(self, session_id: int) -> bool:
        import redis

        try:
            self.client.publish(CHANNEL, str(session_id))
            self._warned = False
            return True
        except redis.RedisError as error:
            if not self._warned:
                logger.warning("Redis unreachable, announcing live exercise entries through "
                               "the database instead: %s", error)
                self._warned = True
            return False

    def listen(self, wake: Callable[[int], None], stop: threading.Event) -> None:
        import redis

        while not stop.is_set():
            try:
                pubsub = redis.Redis.from_url(self.url, socket_connect_timeout=2).pubsub()
                pubsub.subscribe(CHANNEL)
                while not stop.is_set():
                    message = pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message and message.get("type") == "message":
                        _wake_from(message.get("data"), wake)
            except redis.RedisError:
                stop.wait(RETRY_SECONDS)


class PostgresTransport:
    name = "postgresql"

    def __init__(self, url: str):
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._lock = threading.Lock()
        self._connection = None

    def publish(self, session_id: int) -> bool:
        import psycopg

        with self._lock:
            for _try in range(2):
                try:
                    if self._connection is None or self._connection.closed:
                        self._connection = psycopg.connect(self.conninfo, autocommit=True,
                                                           connect_timeout=5)
                    self._connection.execute("SELECT pg_notify(%s, %s)",
                                             (CHANNEL, str(session_id)))
                    return True
                except psycopg.Error as error:
                    logger.info("Could not announce through PostgreSQL: %s", error)
                    self._connection = None
        return False

    def listen(self, wake: Callable[[int], None], stop: threading.Event) -> None:
        import psycopg

        while not stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True,
                                     connect_timeout=5) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    while not stop.is_set():
                        for notice in connection.notifies(timeout=1.0):
                            _wake_from(notice.payload, wake)
            except psycopg.Error as error:
                logger.info("Listening for live exercise entries failed, trying again: %s",
                            error)
                stop.wait(RETRY_SECONDS)


def _wake_from(payload, wake: Callable[[int], None]) -> None:
    try:
        wake(int(payload.decode() if isinstance(payload, bytes) else payload))
    except (TypeError, ValueError):
        return


class Announcer:
    """The transports of one app: Redis first when set, then PostgreSQL."""

    def __init__(self, database_url: str, redis_url: str | None):
        self.transports = []
        if redis_url:
            self.transports.append(RedisTransport(redis_url))
        if database_url.startswith("postgresql"):
            self.transports.append(PostgresTransport(database_url))
        self._listening = False
        self._lock = threading.Lock()
        self.stop = threading.Event()

    def close(self) -> None:
        self.stop.set()
        for transport in self.transports:
            connection = getattr(transport, "_connection", None)
            if connection is not None:
                connection.close()

    def announce(self, session_id: int) -> None:
        LOCAL.wake(session_id)
        for transport in self.transports:
            if transport.publish(session_id):
                return

    def ensure_listening(self) -> None:
        """Start the listener threads of this process, once (from the first stream, so after
        gunicorn has forked the worker)."""
        if self._listening or not self.transports:
            return
        with self._lock:
            if self._listening:
                return
            for transport in self.transports:
                threading.Thread(target=transport.listen, args=(LOCAL.wake, self.stop),
                                 name=f"live-{transport.name}", daemon=True).start()
            self._listening = True


_current: Announcer | None = None


def install(database_url: str, redis_url: str | None) -> Announcer:
    global _current
    if _current is not None:
        _current.close()
    _current = Announcer(database_url, redis_url)
    live_log.on_committed_entries(_announce)
    return _current


def _announce(session_id: int) -> None:
    if _current is None:
        LOCAL.wake(session_id)
    else:
        _current.announce(session_id)


def wait_for_entries(session_id: int, mark: int, timeout: float) -> bool:
    return LOCAL.wait(session_id, mark, timeout)


def current() -> Announcer | None:
    return _current


def after_fork() -> None:
    """In a worker forked from a process that loaded the app (gunicorn's preload): its
    own announcement connections and listener threads, never the parent's (threads do not
    survive a fork, and a shared socket would mix two processes' messages)."""
    if _current is None:
        return
    for transport in _current.transports:
        if isinstance(transport, PostgresTransport):
            transport._connection = None  # the parent's: left open for it, not used here
            transport._lock = threading.Lock()
    _current._listening = False
    _current._lock = threading.Lock()
