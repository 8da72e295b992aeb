"""Single-use codes stay single-use when eight sessions send the same one at the same moment:
exactly one of them signs in (or changes the settings), against a real database, SQLite in a
temporary file and PostgreSQL (a sibling of the configured test database) when DATABASE_URL
names one.

The rollback fixture is not used: each thread has its own session and commits for real, as
the web edge does for a POST. On PostgreSQL every thread reads the account before any of them
writes, the worst case for a check-then-write; SQLite's single writer cannot hold eight write
transactions open at once, so there the threads only start together.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts import mfa
from jesip_learn.accounts.models import RecoveryCode, User
from jesip_learn.accounts.throttle import DatabaseLoginThrottle, ThrottlePolicy
from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import Database
from jesip_learn.factory import create_app
from jesip_learn.records.models import AuditEvent
from tests.support.database import committing_database, race_in_sessions
from tests.support.factories import PASSWORD, make_organisation, make_user
from tests.support.pages import read_page
from tests.support.web import TWO_STEP_PATH, app_settings

ATTEMPTS = 8
THROTTLE = DatabaseLoginThrottle(ThrottlePolicy(failures_per_account=50,
                                                failures_per_address=500))
_people = itertools.count(1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    with committing_database(request.param, "mfa_race",
                             tmp_path_factory.mktemp("mfa_race")) as database:
        yield database


def enrolled_user(database: Database, **kwargs) -> tuple[int, str, list[str]]:
    """Someone with two-step verification on: their id, app key and recovery codes."""
    with database.write_session() as session:
        number = next(_people)
        user = make_user(session, organisation=make_organisation(session),
                         email=f"racer{number}@example.org", two_step=False, **kwargs)
        codes = mfa.turn_on(session, user, _app_code(mfa.start_set_up(session, user)))
        session.flush()
        return user.id, user.mfa_secret, codes


def _app_code(secret: str, now=None) -> str:
    return mfa.code_for(secret, mfa.time_step(now or utcnow()))


def race(database: Database, user_id: int, attempt: Callable) -> list:
    """`attempt(session, user)` in ATTEMPTS threads at once (see race_in_sessions)."""
    return race_in_sessions(database, lambda session: session.get(User, user_id), attempt,
                            threads=ATTEMPTS)


def unexpected(outcomes: list) -> list:
    return [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, mfa.TwoStepError)]


def count(database: Database, query) -> int:
    with database.session() as session:
        return session.scalar(query)


def successful_sign_ins(database: Database, user_id: int) -> int:
    return count(database, select(func.count()).select_from(AuditEvent).where(
        AuditEvent.subject_user_id == user_id, AuditEvent.action == "sign_in.succeeded"))


def test_one_app_code_signs_in_once(database):
    user_id, secret, _codes = enrolled_user(database)
    now = utcnow() + timedelta(seconds=mfa.STEP_SECONDS * 2)  # a step the set-up did not use
    code = _app_code(secret, now)
    outcomes = race(database, user_id, lambda session, user: mfa.complete_sign_in(
        session, user, code, address="192.0.2.1", throttle=THROTTLE, now=now))
    assert not unexpected(outcomes)
    signed_in = [o for o in outcomes if o.user is not None]
    assert len(signed_in) == 1, f"{len(signed_in)} of {ATTEMPTS} sessions signed in"
    assert {o.error for o in outcomes if o.user is None} == {mfa.CODE_USED}
    assert successful_sign_ins(database, user_id) == 1


def test_one_recovery_code_signs_in_once(database):
    user_id, _secret, codes = enrolled_user(database)
    outcomes = race(database, user_id, lambda session, user: mfa.complete_sign_in(
        session, user, codes[0], address="192.0.2.1", throttle=THROTTLE))
    assert not unexpected(outcomes)
    signed_in = [o for o in outcomes if o.user is not None]
    assert len(signed_in) == 1, f"{len(signed_in)} of {ATTEMPTS} sessions signed in"
    assert signed_in[0].recovery_codes_left == mfa.RECOVERY_CODE_COUNT - 1
    assert successful_sign_ins(database, user_id) == 1
    assert count(database, select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    ) == mfa.RECOVERY_CODE_COUNT - 1


def test_one_app_code_changes_the_settings_once(database):
    """New recovery codes need a fresh code: eight tabs sending the same one make one set."""
    user_id, secret, _codes = enrolled_user(database)
    now = utcnow() + timedelta(seconds=mfa.STEP_SECONDS * 2)
    code = _app_code(secret, now)

    def new_recovery_codes(session, user):
        mfa.check_code(session, user, code, now=now)
        return mfa.replace_recovery_codes(session, user)

    outcomes = race(database, user_id, new_recovery_codes)
    assert not unexpected(outcomes)
    made = [o for o in outcomes if isinstance(o, list)]
    assert len(made) == 1, f"{len(made)} of {ATTEMPTS} sessions made new recovery codes"
    assert {o.message for o in outcomes if isinstance(o, mfa.TwoStepError)} == {mfa.CODE_USED}
    assert count(database, select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id)) == mfa.RECOVERY_CODE_COUNT


def test_one_set_up_code_turns_it_on_once(database):
    """Eight tabs proving the same new key at once: one set of recovery codes, one record."""
    with database.write_session() as session:
        user = make_user(session, organisation=make_organisation(session),
                         email=f"racer{next(_people)}@example.org", two_step=False)
        user_id, key = user.id, mfa.start_set_up(session, user)
    code = _app_code(key)
    outcomes = race(database, user_id, lambda session, user: mfa.turn_on(session, user, code))
    assert not unexpected(outcomes)
    turned_on = [o for o in outcomes if isinstance(o, list)]
    assert len(turned_on) == 1, f"{len(turned_on)} of {ATTEMPTS} sessions turned it on"
    assert count(database, select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id)) == mfa.RECOVERY_CODE_COUNT
    assert count(database, select(func.count()).select_from(AuditEvent).where(
        AuditEvent.subject_user_id == user_id, AuditEvent.action == "mfa.enabled")) == 1


@pytest.mark.parametrize("kind", ["app code", "recovery code"])
def test_eight_browsers_send_the_same_code_and_one_signs_in(database, tmp_path, kind):
    """As it was found: eight sessions past the password send one code at the same moment."""
    app = create_app(app_settings(database, INSTANCE_PATH=tmp_path))
    user_id, secret, codes = enrolled_user(database, permissions={"manager"})
    with database.session() as session:
        email = session.get(User, user_id).email
    clients = [app.test_client() for _ in range(ATTEMPTS)]
    tokens = []
    for client in clients:
        token = read_page(client.get("/sign-in")).csrf_token()
        response = client.post("/sign-in", data={"email": email, "password": PASSWORD,
                                                 "csrf_token": token})
        assert response.status_code == 302
        assert response.headers["Location"].endswith(TWO_STEP_PATH)
        page = read_page(client.get(TWO_STEP_PATH))
        assert page.status == 200
        tokens.append(page.csrf_token())
    if kind == "app code":
        next_step = utcnow() + timedelta(seconds=mfa.STEP_SECONDS)  # not the set-up's step
        code, refusal = _app_code(secret, next_step), mfa.CODE_USED
    else:
        code, refusal = codes[0], mfa.WRONG_CODE
    barrier = threading.Barrier(ATTEMPTS, timeout=30)

    def send(index):
        barrier.wait()
        return clients[index].post(TWO_STEP_PATH, data={"code": code,
                                                        "csrf_token": tokens[index]})

    with ThreadPoolExecutor(ATTEMPTS) as pool:
        responses = list(pool.map(send, range(ATTEMPTS)))
    assert sorted(r.status_code for r in responses) == [200] * (ATTEMPTS - 1) + [302]
    for response in responses:
        if response.status_code == 200:
            assert read_page(response).errors == [refusal]
    signed_in = [c for c in clients if c.get("/account").status_code == 200]
    assert len(signed_in) == 1
    assert successful_sign_ins(database, user_id) == 1
