"""A live exercise acted on by many requests at the same moment (several workers): its log's
numbers stay one after another with none twice, a timed event due is released once however
many pages and streams catch up together, and a role answering a decision from two tabs is
recorded once. Run on SQLite and, when DATABASE_URL names one, on a PostgreSQL database
beside it, where the requests really run side by side (the races of test_learning_races)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from jesip_learn.accounts.models import User
from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import Database
from jesip_learn.exercises.live import actions, sessions
from jesip_learn.exercises.live.log import LiveError, entries
from jesip_learn.exercises.live.models import LiveSession
from tests.support.database import configured_url, drop_sibling_database, migrate, sibling_database
from tests.support.live import live_world
from tests.test_learning_races import RaceDatabase, race

RACERS = 8


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def races(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('live-races') / 'races.db'}"
    else:
        configured = configured_url()
        if not configured or not configured.startswith("postgresql"):
            pytest.skip("DATABASE_URL names no PostgreSQL database")
        url = sibling_database(configured, "live_races")
    try:
        migrate(url)
        database = Database(url)
        yield RaceDatabase(database, 0)
        database.engine.dispose()
    finally:
        if request.param == "postgresql":
            drop_sibling_database(url)


def _running(races, suffix: str, seconds_ago: int = 0) -> tuple[int, dict[str, int]]:
    with races.database.write_session() as session:
        world = live_world(session, suffix=suffix)
        sessions.start(session, world.facilitator, world.live,
                       now=utcnow() - timedelta(seconds=seconds_ago))
        # Only what was due at the start is out: the rest waits for the racers.
        return world.live.id, {role: p.id for role, p in world.people.items()}


def _live(session, live_id):
    return session.scalar(select(LiveSession).where(LiveSession.id == live_id))


def test_numbers_stay_one_after_another_when_everyone_sends_at_once(races):
    live_id, people = _running(races, " numbers")

    def send(role: str, number: int):
        def action(session):
            live = _live(session, live_id)
            acting = actions.acting_as(live, session.get(User, people[role]))
            return actions.message(session, live, acting, text=f"Message {number}",
                                   target="inter-control").seq
        return action

    results = race(races, [send(role, n) for n in range(RACERS // 3 + 1) for role in people])
    assert not [r for r in results if isinstance(r, BaseException)]
    with races.database.session() as session:
        numbers = [e.seq for e in entries(session, _live(session, live_id))]
    assert numbers == list(range(1, len(numbers) + 1))
    assert sorted(results) == sorted(set(results))


def test_an_event_due_is_released_once_however_many_catch_up(races):
    live_id, _people = _running(races, " due", seconds_ago=0)
    with races.database.write_session() as session:
        live = _live(session, live_id)
        live.running_since = utcnow() - timedelta(seconds=200)  # four events now due

    def catch_up(session):
        return sessions.bring_up_to_date(session, _live(session, live_id))

    results = race(races, [catch_up] * RACERS)
    assert not [r for r in results if isinstance(r, BaseException)]
    with races.database.session() as session:
        released = [e.event_ref for e in entries(session, _live(session, live_id),
                                                 kinds=("release",))]
    assert len(released) == len(set(released))
    assert {"first-calls", "ambulance-calls", "van-fire", "talk-group", "plato"} <= set(released)


def test_a_decision_answered_from_two_tabs_is_recorded_once(races):
    live_id, people = _running(races, " tabs", seconds_ago=100)
    with races.database.write_session() as session:
        sessions.bring_up_to_date(session, _live(session, live_id))

    def answer(option: str):
        def action(session):
            live = _live(session, live_id)
            acting = actions.acting_as(live, session.get(User, people["fire-control"]))
            return actions.decide(session, live, acting, decision_id="talk-group",
                                  option_id=option, reason=f"Option {option}").seq
        return action

    results = race(races, [answer("1"), answer("2"), answer("1"), answer("3")])
    refused = [r for r in results if isinstance(r, LiveError)]
    assert len(refused) == 3 and all("already answered" in r.message for r in refused)
    with races.database.session() as session:
        answers = actions.answers_to(session, _live(session, live_id), "talk-group")
    assert len(answers) == 1
