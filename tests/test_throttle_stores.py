"""Sign-in throttling behaves the same in its two stores: the database, and Redis (when
REDIS_URL is set), which every worker and host shares. Redis runs on 127.0.0.1:6379 here."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select

from jesip_learn import users
from jesip_learn.models import LoginFailure, utcnow
from jesip_learn.throttle import DatabaseLoginThrottle, RedisLoginThrottle, ThrottlePolicy
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
        users.authenticate(session, user.email, "wrong password!", address=f"10.1.0.{number}",
                           throttle=throttle)
    locked = users.authenticate(session, user.email, PASSWORD, address="10.1.1.1",
                                throttle=throttle)
    assert locked.user is None and "too many failed attempts to sign in to this account" in (
        locked.error)
    later = utcnow() + timedelta(minutes=16)
    assert users.authenticate(session, user.email, PASSWORD, address="10.1.1.1",
                              throttle=throttle, now=later).user is user


def test_an_address_guessing_across_accounts_is_throttled(session, throttle):
    for number in range(3):
        users.authenticate(session, f"guess{number}.{uuid.uuid4().hex[:6]}@example.org",
                           "x" * 12, address="10.9.8.7", throttle=throttle)
    user = make_user(session)
    result = users.authenticate(session, user.email, PASSWORD, address="10.9.8.7",
                                throttle=throttle)
    assert result.user is None and "from your network" in result.error


def test_a_success_clears_the_accounts_failures(session, throttle):
    user = make_user(session)
    for _ in range(9):
        users.authenticate(session, user.email, "wrong password!", address=f"10.2.0.{_}",
                           throttle=throttle)
    assert users.authenticate(session, user.email, PASSWORD, address="10.2.1.1",
                              throttle=throttle).user is user
    users.authenticate(session, user.email, "wrong password!", address="10.2.1.2",
                       throttle=throttle)
    assert users.authenticate(session, user.email, PASSWORD, address="10.2.1.3",
                              throttle=throttle).user is user


def test_workers_with_their_own_redis_connections_share_the_count(session, redis_client,
                                                                  prefix):
    user = make_user(session)
    workers = [RedisLoginThrottle(POLICY, redis.Redis.from_url(REDIS_URL), prefix=prefix)
               for _ in range(2)]
    for number in range(10):
        users.authenticate(session, user.email, "wrong password!", address=f"10.3.0.{number}",
                           throttle=workers[number % 2])
    refused = users.authenticate(session, user.email, PASSWORD, address="10.3.1.1",
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
