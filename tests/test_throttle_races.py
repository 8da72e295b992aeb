"""Counts that must hold when requests arrive together: threads against a real database
(PostgreSQL when DATABASE_URL names one, as a sibling database; SQLite in a file otherwise,
where the one writer at a time makes them pass trivially) and a real Redis.

- N wrong passwords for one account at once: exactly the limit are checked against the
  password, the rest are refused without being checked.
- The same for one network address guessing across accounts.
- N requests for reset emails to one address at once: exactly the limit are sent.
- One password reset link used from 8 threads at once, or two links of the same person
  used at once: exactly one reset happens.

Each thread commits for real, with its own `Database.write_session()`, as the web edge does
for a POST.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select

from jesip_learn.accounts import mfa, passwords
from jesip_learn.accounts.details import find_user_by_email
from jesip_learn.accounts.email_requests import TooManyEmails
from jesip_learn.accounts.models import User
from jesip_learn.accounts.password_reset import request_password_reset, reset_password
from jesip_learn.accounts.sign_in import WRONG_DETAILS, authenticate
from jesip_learn.accounts.throttle import (
    DatabaseLoginThrottle,
    DatabaseRequestCounter,
    EmailRequestLimiter,
    EmailRequestPolicy,
    RedisLoginThrottle,
    RedisRequestCounter,
    ThrottlePolicy,
)
from jesip_learn.accounts.tokens import TokenError
from jesip_learn.core.db import Database
from jesip_learn.records.models import AuditEvent
from tests.support.database import (
    configured_url,
    drop_sibling_database,
    migrate,
    sibling_database,
)
from tests.support.factories import PASSWORD, make_organisation, make_user, set_up_two_step

REDIS_URL = "redis://127.0.0.1:6379/0"
LIMIT = 5
THREADS = 15
WAIT_SECONDS = 120


@pytest.fixture(scope="module")
def racing_database(tmp_path_factory):
    configured = configured_url()
    if configured and configured.startswith("postgresql"):
        url = sibling_database(configured, "throttle_races")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('races') / 'races.db'}"
    migrate(url)
    # Writers on SQLite wait their turn; each holds the lock through a password check.
    database = Database(url, busy_timeout_ms=60_000)
    with database.write_session() as session:
        make_organisation(session, name="Raceshire Police")
    yield database
    database.dispose()
    if not url.startswith("sqlite"):
        drop_sibling_database(url)


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    prefix = f"jesip-learn-test:{uuid.uuid4().hex}"
    yield client, prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def new_account(database: Database) -> str:
    with database.write_session() as session:
        user = make_user(session, email=f"racer.{uuid.uuid4().hex[:10]}@example.org")
        return user.email


def at_once(count: int, action: Callable[[int], object]) -> list:
    """Run action(0..count-1) in threads released together; return what each gave (or the
    exception it raised)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(number: int) -> None:
        barrier.wait(WAIT_SECONDS)
        try:
            results[number] = action(number)
        except Exception as error:  # noqa: BLE001 - reported to the test
            results[number] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    return results


@pytest.fixture
def password_checks(monkeypatch) -> Counter:
    """How many times a password was checked against a hash (the real check still runs)."""
    checks: Counter = Counter()
    lock = threading.Lock()
    verify = passwords.verify_password

    def counting(password_hash, password):
        with lock:
            checks["checked"] += 1
        return verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    return checks


@pytest.fixture(params=["database", "redis"])
def login_throttle(request, racing_database):
    policy = ThrottlePolicy(failures_per_account=LIMIT, failures_per_address=LIMIT)
    if request.param == "database":
        # As the site makes it: claims in short transactions of their own on PostgreSQL.
        return DatabaseLoginThrottle(policy, racing_database.side_session)
    client, prefix = request.getfixturevalue("redis_client")
    return RedisLoginThrottle(policy, client, prefix=prefix)


def sign_in(database: Database, throttle, email: str, address: str, password: str):
    with database.write_session() as session:
        return authenticate(session, email, password, address=address, throttle=throttle)


def outcomes(results) -> Counter:
    problems = [r for r in results if isinstance(r, Exception)]
    assert not problems, problems
    return Counter("checked" if r.error == WRONG_DETAILS else "refused"
                   if "too many failed attempts" in (r.error or "") else r.error
                   for r in results)


def test_wrong_passwords_at_once_for_one_account_check_exactly_the_limit(
        racing_database, login_throttle, password_checks):
    email = new_account(racing_database)
    results = at_once(THREADS, lambda n: sign_in(racing_database, login_throttle, email,
                                                 f"198.51.100.{n}", "not the password!"))
    assert outcomes(results) == {"checked": LIMIT, "refused": THREADS - LIMIT}
    assert password_checks["checked"] == LIMIT
    # And the account stays locked for a right password too.
    assert "too many failed attempts" in sign_in(racing_database, login_throttle, email,
                                                 "198.51.100.99", PASSWORD).error


def test_guesses_at_once_from_one_address_check_exactly_the_limit(
        racing_database, login_throttle, password_checks):
    address = f"203.0.113.{uuid.uuid4().int % 250}"
    results = at_once(THREADS, lambda n: sign_in(
        racing_database, login_throttle, f"guess.{n}.{uuid.uuid4().hex[:6]}@example.org",
        address, "not the password!"))
    assert outcomes(results) == {"checked": LIMIT, "refused": THREADS - LIMIT}
    assert password_checks["checked"] == LIMIT


@pytest.fixture(params=["database", "redis"])
def email_limiter(request, racing_database):
    policy = EmailRequestPolicy(per_account=LIMIT, per_address=1000,
                                window=timedelta(hours=1))
    if request.param == "database":
        return EmailRequestLimiter(policy, DatabaseRequestCounter(racing_database.side_session))
    client, prefix = request.getfixturevalue("redis_client")
    return EmailRequestLimiter(policy, RedisRequestCounter(client, prefix=prefix))


def test_reset_emails_asked_for_at_once_send_exactly_the_limit(racing_database, email_limiter):
    email = new_account(racing_database)

    def ask(number: int):
        with racing_database.write_session() as session:
            try:
                return request_password_reset(session, email, timedelta(hours=2),
                                              f"192.0.2.{number}", limiter=email_limiter)
            except TooManyEmails:
                return "refused"

    results = at_once(THREADS, ask)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(1 for r in results if isinstance(r, tuple)) == LIMIT
    assert results.count("refused") == THREADS - LIMIT


def reset_with(database: Database, token: str, number: int) -> str:
    with database.write_session() as session:
        try:
            reset_password(session, token, f"brand new passphrase number {number} here")
        except TokenError:
            return "refused"
    return "reset"


def reset_links(database: Database, email: str, count: int) -> list[str]:
    with database.write_session() as session:
        return [request_password_reset(session, email, timedelta(hours=2))[1]
                for _ in range(count)]


def resets_of(database: Database, email: str) -> int:
    with database.session() as session:
        user = find_user_by_email(session, email)
        return session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "password.reset", AuditEvent.subject_user_id == user.id))


def test_one_reset_link_used_from_eight_threads_resets_once(racing_database):
    email = new_account(racing_database)
    token, = reset_links(racing_database, email, 1)
    results = at_once(8, lambda n: reset_with(racing_database, token, n))
    assert sorted(results) == ["refused"] * 7 + ["reset"], results
    assert resets_of(racing_database, email) == 1


def test_two_links_of_one_person_used_at_once_reset_once(racing_database):
    email = new_account(racing_database)
    tokens = reset_links(racing_database, email, 2)
    results = at_once(8, lambda n: reset_with(racing_database, tokens[n % 2], n))
    assert sorted(results) == ["refused"] * 7 + ["reset"], results
    assert resets_of(racing_database, email) == 1


def test_wrong_two_step_codes_at_once_check_exactly_the_limit(racing_database, login_throttle,
                                                              monkeypatch):
    """The second step of signing in counts towards the same limit, atomically: of many
    wrong codes sent together, only the limit are checked against the secret."""
    with racing_database.write_session() as session:
        user = make_user(session, email=f"coder.{uuid.uuid4().hex[:10]}@example.org")
        set_up_two_step(user)
        user_id = user.id
    checks: Counter = Counter()
    lock = threading.Lock()
    matching_step = mfa._matching_step

    def counting(secret, code, now):
        with lock:
            checks["checked"] += 1
        return matching_step(secret, code, now)

    monkeypatch.setattr(mfa, "_matching_step", counting)

    def second_step(number: int):
        with racing_database.write_session() as session:
            user = session.get(User, user_id)
            return mfa.complete_sign_in(session, user, "000000" if number % 2 else "999999",
                                        address=f"198.51.100.{number}", throttle=login_throttle)

    results = at_once(THREADS, second_step)
    assert not [r for r in results if isinstance(r, Exception)], results
    refused = [r for r in results if "too many failed attempts" in (r.error or "")]
    assert len(refused) == THREADS - LIMIT
    assert checks["checked"] == LIMIT
