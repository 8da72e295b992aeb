"""More attempts at a used-up quiz: who may give them, that they count in this round only,
that a form sent twice gives them once (threads racing on PostgreSQL), and who the learner
is told to ask."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from jesip_learn.accounts.models import User
from jesip_learn.core.db import Database
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.courses import authoring
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import Course
from jesip_learn.learning import allowances, attempt_answers, attempt_lookup, attempts
from jesip_learn.learning.models import QuizAllowance
from jesip_learn.records.models import AuditEvent
from tests.support.database import configured_url, drop_sibling_database, migrate, sibling_database
from tests.support.factories import make_organisation, make_user
from tests.support.quizzes import answer_values

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
SLUG = "check-your-understanding"


def use_every_attempt(session, learner, version, quiz):
    for number in range(quiz.max_attempts):
        attempt = attempts.start_attempt(session, learner, version, quiz, random.Random(number))
        questions = attempt_answers.attempt_questions(attempt)
        attempts.submit_attempt(session, attempt, answer_values(questions, right=False))


@pytest.fixture
def world(session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    version = courses.find_version(session, "JESIP-AWARE")
    quiz = courses.version_item(version, SLUG)
    home = make_organisation(session, name="Northshire Police")
    away = make_organisation(session, name="Southshire Police")
    people = {
        "learner": make_user(session, organisation=home, name="Lee Learner"),
        "manager": make_user(session, organisation=home, name="Mo Manager",
                             permissions={"manager"}),
        "other_manager": make_user(session, organisation=away, name="Oz Manager",
                                   permissions={"manager"}),
        "trainer": make_user(session, organisation=away, name="Tia Trainer",
                             permissions={"trainer"}),
        "other_trainer": make_user(session, organisation=home, name="Ola Trainer",
                                   permissions={"trainer"}),
        "admin": make_user(session, organisation=away, name="Ada Admin",
                           permissions={"admin"}),
    }
    authoring.editors.make_owner(session, version.course, people["trainer"])
    session.flush()
    use_every_attempt(session, people["learner"], version, quiz)
    return version, quiz, people


def test_a_used_up_quiz_is_a_dead_end_until_more_attempts_are_given(session, world):
    version, quiz, people = world
    learner = people["learner"]
    standing = attempt_lookup.quiz_standing(session, learner, version.course, quiz)
    assert standing.used_up and standing.left == 0
    with pytest.raises(attempts.AttemptRefused):
        attempts.start_attempt(session, learner, version, quiz)
    grant = allowances.grant_attempts(session, people["manager"], learner, version.course,
                                      SLUG, 2, seen=0)
    assert grant.granted and grant.extra == 2
    standing = attempt_lookup.quiz_standing(session, learner, version.course, quiz)
    assert (standing.limit, standing.left, standing.extra, standing.used_up) == (5, 2, 2, False)
    assert attempts.start_attempt(session, learner, version, quiz).submitted_at is None
    event = session.scalar(select(AuditEvent).where(
        AuditEvent.action == "quiz.attempts_granted"))
    assert event.actor_id == people["manager"].id and event.subject_user_id == learner.id
    assert event.details["after"] == {"extra_attempts": 2}


def test_the_same_form_sent_twice_grants_once(session, world):
    version, _quiz, people = world
    learner = people["learner"]
    first = allowances.grant_attempts(session, people["trainer"], learner, version.course,
                                      SLUG, 1, seen=0)
    again = allowances.grant_attempts(session, people["trainer"], learner, version.course,
                                      SLUG, 1, seen=0)
    assert first.granted and not again.granted
    assert attempt_lookup.extra_attempts(session, learner, version.course, SLUG) == 1
    # A form shown after the first grant carries 1, and grants again.
    assert allowances.grants_seen(session, learner, version.course, SLUG) == 1
    assert allowances.grant_attempts(session, people["trainer"], learner, version.course,
                                     SLUG, 1, seen=1).extra == 2


@pytest.mark.parametrize(("who", "allowed"), [
    ("manager", True), ("trainer", True), ("admin", True),
    ("other_manager", False), ("other_trainer", False), ("learner", False)])
def test_only_a_trainer_of_the_course_or_a_manager_of_the_person_may_grant(
        session, world, who, allowed):
    version, _quiz, people = world
    actor, learner = people[who], people["learner"]
    assert allowances.can_grant_attempts(session, actor, learner, version.course) is allowed
    if allowed:
        assert allowances.grant_attempts(session, actor, learner, version.course, SLUG, 1,
                                         seen=0).granted
    else:
        with pytest.raises(NotAllowed):  # the edge's 403 page
            allowances.grant_attempts(session, actor, learner, version.course, SLUG, 1, seen=0)
        assert session.scalar(select(QuizAllowance)) is None


def test_a_deactivated_manager_may_not_grant(session, world):
    version, _quiz, people = world
    people["manager"].is_active = False
    assert not allowances.can_grant_attempts(session, people["manager"], people["learner"],
                                             version.course)


@pytest.mark.parametrize("number", [0, -1, allowances.MAX_GRANT + 1])
def test_a_number_out_of_range_is_refused(session, world, number):
    version, _quiz, people = world
    with pytest.raises(allowances.GrantRefused, match="between 1 and"):
        allowances.grant_attempts(session, people["admin"], people["learner"], version.course,
                                  SLUG, number, seen=0)


def test_an_unknown_quiz_is_refused(session, world):
    version, _quiz, people = world
    with pytest.raises(allowances.GrantRefused, match="no longer published"):
        allowances.grant_attempts(session, people["admin"], people["learner"], version.course,
                                  "why-interoperability", 1, seen=0)


def test_attempts_given_in_an_earlier_round_do_not_count_in_the_next(session, world):
    version, quiz, people = world
    learner = people["learner"]
    allowances.grant_attempts(session, people["manager"], learner, version.course, SLUG, 2,
                              seen=0)
    row = session.scalar(select(QuizAllowance))
    # The round of training began after the grant (a renewal, say).
    from jesip_learn.learning import progress
    later = row.granted_at.replace(year=row.granted_at.year + 1)
    original = progress.cycle_start
    try:
        progress.cycle_start = lambda *args: row.granted_at
        assert attempt_lookup.extra_attempts(session, learner, version.course, SLUG, later) == 0
    finally:
        progress.cycle_start = original


def test_the_learner_is_told_whom_to_ask(session, world):
    version, _quiz, people = world
    helpers = allowances.who_to_ask(session, people["learner"], version.course)
    assert [(h.name, h.role) for h in helpers] == [("Mo Manager", "manager"),
                                                   ("Tia Trainer", "trainer")]
    assert helpers[0].email == people["manager"].email
    assert helpers[1].email == ""  # a trainer elsewhere: named, not their address


def test_the_stuck_learners_are_listed_for_those_who_can_help(session, world):
    version, _quiz, people = world
    learner = people["learner"]
    stuck = allowances.stuck_learners(session, people["trainer"], version.course)
    assert [(s.user.name, s.used, s.limit) for s in stuck] == [("Lee Learner", 3, 3)]
    assert allowances.stuck_learners(session, people["other_manager"], version.course) == []
    assert [s.quiz.slug for s in allowances.stuck_quizzes_of(
        session, people["manager"], learner)] == [SLUG]
    assert allowances.stuck_quizzes_of(session, people["other_manager"], learner) == []


# --- a form sent by eight threads at once, on PostgreSQL ---------------------------------

THREADS = 8


@pytest.fixture(scope="module")
def postgresql():
    configured = configured_url()
    if not configured or not configured.startswith("postgresql"):
        pytest.skip("DATABASE_URL names no PostgreSQL database")
    url = sibling_database(configured, "allowance_race")
    migrate(url)
    database = Database(url)
    yield database
    database.engine.dispose()
    drop_sibling_database(url)


@pytest.mark.parametrize("first_grant", [True, False], ids=["row-missing", "row-present"])
def test_a_grant_sent_many_times_at_once_grants_once(postgresql, first_grant):
    with postgresql.write_session() as session:
        courses.import_parsed(session, courses.parse_folders(VALID))
        version = courses.find_version(session, "JESIP-AWARE")
        quiz = courses.version_item(version, SLUG)
        organisation = make_organisation(session)
        learner = make_user(session, organisation=organisation)
        manager = make_user(session, organisation=organisation, permissions={"manager"})
        use_every_attempt(session, learner, version, quiz)
        seen = 0
        if not first_grant:
            allowances.grant_attempts(session, manager, learner, version.course, SLUG, 1, 0)
            seen = 1
        session.flush()
        ids = learner.id, manager.id, version.course_id
    barrier = threading.Barrier(THREADS, timeout=30)
    outcomes = []

    def send(_index):
        session = postgresql.session()
        try:
            learner, manager = session.get(User, ids[0]), session.get(User, ids[1])
            course = session.get(Course, ids[2])
            course.published_version  # noqa: B018 - loaded before the race
            barrier.wait()
            grant = allowances.grant_attempts(session, manager, learner, course, SLUG, 2, seen)
            session.commit()
            outcomes.append(grant.granted)
        except Exception as error:  # noqa: BLE001 - reported by the test
            session.rollback()
            outcomes.append(error)
        finally:
            session.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes, key=str) == [False] * (THREADS - 1) + [True]
    with postgresql.session() as session:
        row = session.scalar(select(QuizAllowance).where(QuizAllowance.user_id == ids[0]))
        assert row.grants == seen + 1
        assert row.extra_attempts == (1 if seen else 0) + 2
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "quiz.attempts_granted",
            AuditEvent.subject_user_id == ids[0])).all()
        assert len(events) == seen + 1
