"""Announcing a live exercise's new entries: only after their transaction commits (never
after a rollback); in this process at once; to other workers through PostgreSQL's
LISTEN/NOTIFY, or Redis pub/sub when REDIS_URL is set, falling back to the database while
Redis is down."""

from __future__ import annotations

import threading
import time

import pytest

from jesip_learn.exercises.live import log as live_log
from jesip_learn.exercises.live import notify, sessions
from tests.support.database import configured_url, postgresql_only
from tests.support.live import live_world
from tests.test_throttle_stores import RedisServer, _free_port


@pytest.fixture
def own_redis():
    server = RedisServer()
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


def _collector():
    seen, arrived = [], threading.Event()

    def wake(session_id):
        seen.append(session_id)
        arrived.set()

    return seen, arrived, wake


def test_the_local_notifier_wakes_only_waiters_of_that_session():
    mark = notify.LOCAL.mark(991)
    assert not notify.LOCAL.wait(991, mark, 0.05)
    threading.Timer(0.05, notify.LOCAL.wake, args=(991,)).start()
    assert notify.LOCAL.wait(991, mark, 2)
    other = notify.LOCAL.mark(992)
    notify.LOCAL.wake(991)
    assert not notify.LOCAL.wait(992, other, 0.05)


def test_entries_are_announced_after_their_commit_and_never_after_a_rollback(session):
    world = live_world(session)
    session.commit()
    heard = []
    live_log.on_committed_entries(heard.append)
    try:
        sessions.start(session, world.facilitator, world.live)
        assert heard == []  # written, not yet committed
        session.commit()
        assert heard == [world.live.id]
        sessions.pause(session, world.facilitator, world.live)
        session.rollback()
        assert heard == [world.live.id]
    finally:
        live_log._announcers.remove(heard.append)  # noqa: SLF001


@postgresql_only("the announcements travel by PostgreSQL's NOTIFY")
def test_postgresql_carries_announcements_between_workers():
    listener, publisher = (notify.PostgresTransport(configured_url()) for _ in range(2))
    seen, arrived, wake = _collector()
    stop = threading.Event()
    thread = threading.Thread(target=listener.listen, args=(wake, stop), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not arrived.is_set() and time.monotonic() < deadline:
            publisher.publish(4242)  # until the listener has begun listening
            arrived.wait(0.2)
        assert 4242 in seen
    finally:
        stop.set()
        thread.join(timeout=5)


def test_redis_carries_announcements_and_the_database_takes_over_when_it_is_down(own_redis):
    listener, publisher = notify.RedisTransport(own_redis.url), notify.RedisTransport(
        own_redis.url)
    seen, arrived, wake = _collector()
    stop = threading.Event()
    thread = threading.Thread(target=listener.listen, args=(wake, stop), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not arrived.is_set() and time.monotonic() < deadline:
            assert publisher.publish(77)
            arrived.wait(0.2)
        assert 77 in seen
    finally:
        stop.set()
        thread.join(timeout=5)
    own_redis.stop()
    assert publisher.publish(78) is False  # refused quickly, said once in the log
    announcer = notify.Announcer("sqlite://", f"redis://127.0.0.1:{_free_port()}/0")
    mark = notify.LOCAL.mark(79)
    announcer.announce(79)  # Redis down: this process's streams are woken all the same
    assert notify.LOCAL.wait(79, mark, 0.1)
