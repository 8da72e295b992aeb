"""Wrong live exercise join codes sent at the same moment (several workers, several hosts)
are counted exactly once each: of N wrong codes at once from one person, or from one
network address, exactly the limit are checked and the rest refused without being looked
at, and the count stands at the limit, not above it. Right codes sent at once leave nothing
counted. Threads against a real database (PostgreSQL when DATABASE_URL names
one, as a sibling database; SQLite in a file otherwise, where one writer at a time makes
them pass trivially) and a real Redis, each thread committing as the web edge does."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import Organisation, RateLimitHit, User
from jesip_learn.accounts.throttle import (
    DatabaseRequestCounter,
    GuessLimiter,
    GuessPolicy,
    RedisRequestCounter,
    _hashed,
)
from jesip_learn.core.db import Database
from jesip_learn.exercises.live import sessions
from jesip_learn.exercises.live.log import LiveError
from jesip_learn.exercises.live.models import LiveSession
from jesip_learn.records.models import AuditEvent
from tests.support.database import (
    configured_url,
    drop_sibling_database,
    migrate,
    sibling_database,
)
from tests.support.factories import make_user
from tests.support.live import live_world
from tests.test_throttle_races import THREADS, at_once, redis_client  # noqa: F401 - a fixture

LIMIT = 5
WRONG = "AAAA-BBBB-CCCC-DDDD-EEEE"


@pytest.fixture(scope="module")
def racing_database(tmp_path_factory):
    configured = configured_url()
    if configured and configured.startswith("postgresql"):
        url = sibling_database(configured, "live_join_races")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('join-races') / 'races.db'}"
    migrate(url)
    database = Database(url, busy_timeout_ms=60_000)
    yield database
    database.dispose()
    if not url.startswith("sqlite"):
        drop_sibling_database(url)


@pytest.fixture(scope="module")
def joinable(racing_database) -> tuple[int, str, int]:
    """A session waiting in its lobby, its join code, and an organisation for newcomers."""
    with racing_database.write_session() as session:
        world = live_world(session, assign=False, suffix=" races")
        code = sessions.make_join_code(session, world.facilitator, world.live)
        return world.live.id, code, world.facilitator.organisation_id


@pytest.fixture(params=["database", "redis"])
def store(request, racing_database):
    """Where the limiter counts, as the site makes it: in the database (claims in short
    transactions of their own on PostgreSQL), or in Redis; and how to read a key's count."""
    if request.param == "database":
        counter = DatabaseRequestCounter(racing_database.side_session)

        def count(key: str) -> int:
            with racing_database.session() as session:
                return session.scalar(select(func.count()).select_from(RateLimitHit)
                                      .where(RateLimitHit.key == key))

        return counter, count
    client, prefix = request.getfixturevalue("redis_client")
    counter = RedisRequestCounter(client, prefix=f"{prefix}:guesses")
    return counter, lambda key: client.zcard(f"{prefix}:guesses:{key}")


@pytest.fixture
def limiter(store) -> GuessLimiter:
    policy = GuessPolicy(per_person=LIMIT, per_address=LIMIT, window=timedelta(minutes=15))
    return GuessLimiter(policy, store[0], "join-code")


def newcomers(database: Database, organisation_id: int, count: int) -> list[int]:
    with database.write_session() as session:
        organisation = session.get(Organisation, organisation_id)
        people = [make_user(session, email=f"joiner.{uuid.uuid4().hex[:10]}@example.org",
                            organisation=organisation) for _ in range(count)]
        session.flush()
        return [person.id for person in people]


def join(database: Database, limiter: GuessLimiter, user_id: int, code: str,
         address: str) -> str:
    """What the join page does: the refusal's and the wrong code's audit lines commit."""
    with database.write_session() as session:
        try:
            sessions.join_with_code(session, session.get(User, user_id), code, address,
                                    limiter=limiter)
        except sessions.TooManyWrongCodes:
            return "refused"
        except LiveError:
            return "wrong"
        return "joined"


def outcomes(results) -> Counter:
    problems = [r for r in results if isinstance(r, Exception)]
    assert not problems, problems
    return Counter(results)


def audited(database: Database, action: str, user_ids: list[int]) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.actor_id.in_(user_ids)))


def test_wrong_codes_at_once_from_one_person_check_exactly_the_limit(
        racing_database, joinable, limiter, store):
    _live_id, _code, organisation_id = joinable
    person, = newcomers(racing_database, organisation_id, 1)
    results = at_once(THREADS, lambda n: join(racing_database, limiter, person, WRONG,
                                              f"198.51.100.{n}"))
    assert outcomes(results) == {"wrong": LIMIT, "refused": THREADS - LIMIT}
    assert store[1](_hashed("join-code:person", str(person))) == LIMIT
    assert audited(racing_database, "live.join_code_wrong", [person]) == LIMIT
    assert audited(racing_database, "live.join_code_refused", [person]) == THREADS - LIMIT


def test_wrong_codes_at_once_from_one_address_check_exactly_the_limit(
        racing_database, joinable, limiter, store):
    _live_id, _code, organisation_id = joinable
    people = newcomers(racing_database, organisation_id, THREADS)
    address = f"203.0.113.{uuid.uuid4().int % 250}"
    results = at_once(THREADS, lambda n: join(racing_database, limiter, people[n], WRONG,
                                              address))
    assert outcomes(results) == {"wrong": LIMIT, "refused": THREADS - LIMIT}
    assert store[1](_hashed("join-code:address", address)) == LIMIT
    assert audited(racing_database, "live.join_code_wrong", people) == LIMIT


def test_right_codes_at_once_from_one_address_leave_nothing_counted(
        racing_database, joinable, limiter, store):
    """A code counts while it is checked, so that guesses sent together cannot all be
    checked: a right code sent in the very moment others are checked may be refused (never
    called wrong). Once checked, right codes count for nothing, and those refused join when
    they press Join again."""
    live_id, code, organisation_id = joinable
    people = newcomers(racing_database, organisation_id, THREADS)
    address = f"192.0.2.{uuid.uuid4().int % 250}"
    results = at_once(THREADS, lambda n: join(racing_database, limiter, people[n], code,
                                              address))
    found = outcomes(results)
    assert set(found) <= {"joined", "refused"} and found["joined"] >= LIMIT, found
    assert store[1](_hashed("join-code:address", address)) == 0
    again = [join(racing_database, limiter, person, code, address)
             for person, result in zip(people, results, strict=True) if result == "refused"]
    assert set(again) <= {"joined"}
    with racing_database.session() as session:
        live = session.get(LiveSession, live_id)
        assert set(people) <= {p.user_id for p in live.participants}
