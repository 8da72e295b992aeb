"""Wrong live exercise join codes are limited per person and per network address, in the
database or in Redis (and in the database while Redis cannot be reached). A refusal is the
429 page with Retry-After, saying when to try again; it is audited, and so is every wrong
code. A right code never counts, so a room of people behind one proxy all join."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import RateLimitHit
from jesip_learn.exercises.live import sessions
from jesip_learn.records.models import AuditEvent
from tests.support.limit_stores import either_store
from tests.support.live import import_live_course
from tests.support.web import Browser

WRONG = "AAAA-BBBB-CCCC-DDDD-EEEE"


@pytest.fixture
def limited(app):
    app.config.update(LIVE_JOIN_FAILURES_PER_PERSON=3, LIVE_JOIN_FAILURES_PER_ADDRESS=6)
    return app


@pytest.fixture(params=["database", "redis"])
def store(request, limited):
    """Both stores: the database, and Redis."""
    with either_store(request.param, limited, "guesses") as kind:
        yield kind


@pytest.fixture
def code(session, make, organisation):
    """A join code of a session facilitated by a trainer of the organisation."""
    version = import_live_course(session)
    trainer = make.user(organisation=organisation, permissions={"trainer"})
    scripts = [s for s in sessions.published_scripts(session) if s.version_id == version.id]
    live = sessions.create_session(session, trainer, version.id, scripts[0].slug)
    made = sessions.make_join_code(session, trainer, live)
    session.commit()
    return made


def signed_in_from(app, address: str, user) -> Browser:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    browser = Browser(client)
    assert browser.sign_in(user.email).status == 200
    return browser


def join(browser: Browser, code: str):
    return browser.submit("/live/join", {"code": code})


def assert_wrong(page):
    assert page.status == 400 and page.h1 == "Join a live exercise"
    assert page.errors == ["That code is not right, or it has expired: ask the facilitator "
                           "for a new one"]


def assert_too_many(page):
    assert page.status == 429
    assert page.title == "Too many requests – JESIP Learn" and page.h1 == "Too many requests"
    assert "There have been too many wrong join codes from your account or your network" in (
        page.text)
    assert "Wait 15 minutes, then try again." in page.text


def audited(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                .order_by(AuditEvent.id)))


def test_wrong_codes_from_one_person_are_limited_and_say_when_to_try_again(
        limited, store, make, organisation, code, session):
    person = make.user(organisation=organisation)
    browser = signed_in_from(limited, "192.0.2.20", person)
    for _ in range(3):
        assert_wrong(join(browser, WRONG))
    # Now even the right code is refused unchecked: guessing cannot go on.
    response = browser.client.post("/live/join", data={
        "code": code, "csrf_token": browser.get("/live/join").csrf_token()})
    assert response.status_code == 429 and response.headers["Retry-After"] == "900"
    assert_too_many(join(browser, code))
    # From another network the same person is still refused: the limit is theirs.
    elsewhere = signed_in_from(limited, "198.51.100.20", person)
    assert_too_many(join(elsewhere, code))
    wrong = audited(session, "live.join_code_wrong")
    assert len(wrong) == 3 and {e.actor_id for e in wrong} == {person.id}
    assert wrong[0].address == "192.0.2.20" and code not in str(wrong[0].details)
    refused = audited(session, "live.join_code_refused")
    assert [e.address for e in refused] == ["192.0.2.20", "192.0.2.20", "198.51.100.20"]
    assert refused[0].subject_user_id == person.id
    assert refused[0].organisation_id == organisation.id
    # Someone else at the same address is not held up by one person's mistakes.
    colleague = signed_in_from(limited, "192.0.2.20", make.user(organisation=organisation))
    assert join(colleague, code).h1 == "Waiting for a role"


def test_wrong_codes_from_one_network_address_are_limited(limited, store, make, organisation,
                                                          code, session):
    for _ in range(6):
        guesser = signed_in_from(limited, "203.0.113.30", make.user(organisation=organisation))
        assert_wrong(join(guesser, WRONG))
    newcomer = make.user(organisation=organisation)
    assert_too_many(join(signed_in_from(limited, "203.0.113.30", newcomer), code))
    assert len(audited(session, "live.join_code_wrong")) == 6
    assert len(audited(session, "live.join_code_refused")) == 1
    # The same person from another network joins.
    assert join(signed_in_from(limited, "203.0.113.31", newcomer), code).h1 == (
        "Waiting for a role")


def test_right_codes_never_count_so_a_room_behind_one_proxy_all_join(
        limited, store, make, organisation, code, session):
    for _ in range(8):  # more than the address's limit of 6
        person = make.user(organisation=organisation)
        assert join(signed_in_from(limited, "192.0.2.40", person), code).h1 == (
            "Waiting for a role")
    if store == "database":
        assert session.scalar(select(func.count()).select_from(RateLimitHit)) == 0
    # Wrong codes from there still count from nothing.
    for _ in range(3):
        guesser = signed_in_from(limited, "192.0.2.40", make.user(organisation=organisation))
        assert_wrong(join(guesser, WRONG))


def test_an_empty_code_is_asked_for_and_not_counted(limited, make, organisation, code,
                                                    session):
    browser = signed_in_from(limited, "192.0.2.50", make.user(organisation=organisation))
    for _ in range(5):
        page = join(browser, "   ")
        assert page.status == 400
        assert page.errors == ["Enter the join code the facilitator gave you"]
    assert join(browser, code).h1 == "Waiting for a role"
    assert audited(session, "live.join_code_wrong") == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_wrong_codes_are_still_limited_while_redis_is_down(limited, make, organisation, code,
                                                           session, caplog):
    limited.config.update(REDIS_URL=f"redis://127.0.0.1:{_free_port()}/0")
    browser = signed_in_from(limited, "192.0.2.60", make.user(organisation=organisation))
    # Try Redis on every request, not only every 30 seconds, to see it warn just once.
    limited.extensions["redis_health"].retry_seconds = 0
    for _ in range(3):
        assert_wrong(join(browser, WRONG))
    assert_too_many(join(browser, code))
    assert session.scalar(select(func.count()).select_from(RateLimitHit)) == 6
    outage = [r for r in caplog.records if r.name == "jesip_learn.accounts.throttle"
              and "Redis cannot be reached" in r.getMessage()]
    assert len(outage) == 1
