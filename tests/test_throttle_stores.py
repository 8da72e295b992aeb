"""Sign-in throttling behaves the same in its two stores: the database, and Redis (when
REDIS_URL is set), which every worker and host shares. Redis runs on 127.0.0.1:6379 here;
the tests of an outage start and stop a redis-server of their own."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select

from jesip_learn.accounts.models import LoginFailure
from jesip_learn.accounts.sign_in import authenticate
from jesip_learn.accounts.throttle import (
    DatabaseLoginThrottle,
    RedisHealth,
    RedisLoginThrottle,
    RedisOrDatabase,
    ThrottlePolicy,
)
from jesip_learn.core.columns import utcnow
from tests.support.factories import PASSWORD, make_user

REDIS_URL = "redis://127.0.0.1:6379/0"
POLICY = ThrottlePolicy(failures_per_account=10, failures_per_address=3)


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client):
    prefix = f"jesip-learn-test:{uuid.uuid4().hex}"
    yield prefix
    for key in redis_client.scan_iter(f"{prefix}:*"):
        redis_client.delete(key)


@pytest.fixture(params=["database", "redis"])
def throttle(request):
    if request.param == "database":
        return DatabaseLoginThrottle(POLICY)
    client = request.getfixturevalue("redis_client")
    return RedisLoginThrottle(POLICY, client, prefix=request.getfixturevalue("prefix"))


def test_ten_failures_lock_the_account_for_the_window(session, throttle):
    user = make_user(session)
    for number in range(10):  # from ten addresses, so only the account's count is reached
        authenticate(session, user.email, "wrong password!", address=f"10.1.0.{number}",
                     throttle=throttle)
    locked = authenticate(session, user.email, PASSWORD, address="10.1.1.1",
                          throttle=throttle)
    assert locked.user is None and "too many failed attempts to sign in to this account" in (
        locked.error)
    later = utcnow() + timedelta(minutes=16)
    assert authenticate(session, user.email, PASSWORD, address="10.1.1.1",
                        throttle=throttle, now=later).user is user


def test_an_address_guessing_across_accounts_is_throttled(session, throttle):
    for number in range(3):
        authenticate(session, f"guess{number}.{uuid.uuid4().hex[:6]}@example.org",
                     "x" * 12, address="10.9.8.7", throttle=throttle)
    user = make_user(session)
    result = authenticate(session, user.email, PASSWORD, address="10.9.8.7",
                          throttle=throttle)
    assert result.user is None and "from your network" in result.error


def test_a_success_clears_the_accounts_failures(session, throttle):
    user = make_user(session)
    for _ in range(9):
        authenticate(session, user.email, "wrong password!", address=f"10.2.0.{_}",
                     throttle=throttle)
    assert authenticate(session, user.email, PASSWORD, address="10.2.1.1",
                        throttle=throttle).user is user
    authenticate(session, user.email, "wrong password!", address="10.2.1.2",
                 throttle=throttle)
    assert authenticate(session, user.email, PASSWORD, address="10.2.1.3",
                        throttle=throttle).user is user


def test_workers_with_their_own_redis_connections_share_the_count(session, redis_client,
                                                                  prefix):
    user = make_user(session)
    workers = [RedisLoginThrottle(POLICY, redis.Redis.from_url(REDIS_URL), prefix=prefix)
               for _ in range(2)]
    for number in range(10):
        authenticate(session, user.email, "wrong password!", address=f"10.3.0.{number}",
                     throttle=workers[number % 2])
    refused = authenticate(session, user.email, PASSWORD, address="10.3.1.1",
                           throttle=workers[0])
    assert refused.user is None
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 0


def test_the_site_counts_in_redis_when_redis_url_is_set(app, browser, make, organisation,
                                                        redis_client, prefix, session):
    app.config.update(REDIS_URL=REDIS_URL, REDIS_PREFIX=prefix)
    user = make.user(organisation=organisation)
    for _ in range(10):
        browser.submit("/sign-in", {"email": user.email, "password": "not the password"})
    page = browser.submit("/sign-in", {"email": user.email, "password": PASSWORD})
    assert "too many failed attempts" in page.errors[0]
    assert any(redis_client.scan_iter(f"{prefix}:account:*"))
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 0


# --- Redis down: the database counts instead ---------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own on a free loopback port, to stop and start again."""

    def __init__(self):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self):
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def own_redis():
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed: apt-get install redis-server")
    server = RedisServer()
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


OUTAGE_WARNING = "Redis cannot be reached"


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "jesip_learn.accounts.throttle"]


def test_sign_in_works_and_stays_throttled_while_redis_is_down(app, browser, make, organisation,
                                                               own_redis, session, caplog):
    app.config.update(REDIS_URL=own_redis.url)
    user = make.user(organisation=organisation)
    browser.submit("/sign-in", {"email": user.email, "password": "not the password"})
    counted = redis.Redis.from_url(own_redis.url)
    assert counted.keys("jesip-learn:sign-in:account:*")
    counted.close()
    own_redis.stop()
    # Try Redis on every request, not only every 30 seconds, to see it warn just once.
    app.extensions["redis_health"].retry_seconds = 0

    assert browser.sign_in(user.email).h1 == "My training"
    browser.sign_out()
    for _ in range(10):
        page = browser.submit("/sign-in", {"email": user.email, "password": "not the password"})
        assert page.status == 200 and page.errors == ["Enter a correct email address and "
                                                      "password"]
    page = browser.submit("/sign-in", {"email": user.email, "password": PASSWORD})
    assert page.status == 200 and "too many failed attempts" in page.errors[0]
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 10
    outage = [m for m in _warnings(caplog) if OUTAGE_WARNING in m]
    assert len(outage) == 1, _warnings(caplog)

    own_redis.start()
    page = browser.submit("/sign-in", {"email": user.email, "password": "not the password"})
    assert page.status == 200
    assert any("can be reached again" in m for m in _warnings(caplog))


def test_reset_emails_are_still_limited_while_redis_is_down(app, browser, make, organisation,
                                                            own_redis, outbox):
    app.config.update(REDIS_URL=own_redis.url, EMAIL_REQUESTS_PER_ACCOUNT=3)
    user = make.user(organisation=organisation)
    assert browser.submit("/forgot-password", {"email": user.email}).status == 200
    own_redis.stop()
    for _ in range(2):
        assert browser.submit("/forgot-password", {"email": user.email}).status == 200
    assert len(outbox) == 3
    # Only the two asked for during the outage count in the database: one more is let through.
    assert browser.submit("/forgot-password", {"email": user.email}).status == 200
    refused = browser.submit("/forgot-password", {"email": user.email})
    assert refused.status == 429 and len(outbox) == 4


def test_while_redis_is_down_it_is_tried_again_only_after_a_pause(session):
    clock = [100.0]
    health = RedisHealth(retry_seconds=30, clock=lambda: clock[0])
    dead = redis.Redis(host="127.0.0.1", port=_free_port(), socket_connect_timeout=1,
                       retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0))
    calls = []

    class Watched(RedisLoginThrottle):
        def claim(self, *args):
            calls.append("redis")
            return super().claim(*args)

    store = RedisOrDatabase(Watched(POLICY, dead), DatabaseLoginThrottle(POLICY), health)
    user = make_user(session)
    for _ in range(3):
        authenticate(session, user.email, "wrong password!", address="10.4.0.1",
                     throttle=store)
    assert calls == ["redis"] and health.down
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 3
    clock[0] += 31
    authenticate(session, user.email, "wrong password!", address="10.4.0.1",
                 throttle=store)
    assert calls == ["redis", "redis"]
