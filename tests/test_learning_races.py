"""One learner's training changed from two tabs (or two server workers) at the same moment:
each change is recorded once and every learner ends in one consistent state.

- a quiz submitted while the last module is marked done: one completion, one certificate;
- every part of a course finishing at once: still one completion;
- two different choices (or METHANE messages) on the same scenario step: one is recorded,
  and a run is never finished unless it stands at an ending;
- Start pressed twice (a quiz, a scenario, Start again) and Mark as done pressed twice: no
  error, one attempt or run, one progress row.

Each race runs its actions in threads, each with its own write session that commits for
real, as the web edge does for a POST. Every action holds its transaction open until all
the actions have done their work, or until HOLD_SECONDS have passed when a lock makes the
others wait, so the transactions overlap as two requests' do on a busy server. They run
against SQLite in a temporary file and, when DATABASE_URL names one, against a PostgreSQL
database beside the configured one: SQLite's single writer takes them in turn, PostgreSQL
runs them side by side.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.core.db import Database
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import CourseVersion
from jesip_learn.learning import attempt_answers, attempts, progress, runs
from jesip_learn.learning.models import Completion, ItemProgress, QuizAttempt, ScenarioRun
from tests.support.database import committing_database
from tests.support.factories import make_organisation
from tests.support.quizzes import answer_values

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
CODE = "JESIP-AWARE"
QUIZ, SCENARIO = "check-your-understanding", "flooding"
LEARNERS = 8
HOLD_SECONDS = 1.0  # how long a transaction stays open waiting for the others
WAIT_SECONDS = 60
GOOD_MESSAGE = [
    "No, not declared yet", "14 Mill Lane Riverside", "Residential properties flooding",
    "Fast flowing water and electricity", "Mill Lane closed, use Station Road",
    "One elderly resident",
    "One fire appliance on scene; water rescue team requested",
]
_numbers = itertools.count(1)


@dataclass(frozen=True)
class RaceDatabase:
    database: Database
    organisation_id: int

    def session(self) -> Session:
        return self.database.session()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def races(request, tmp_path_factory):
    """A migrated database holding the course, apart from the one the other tests roll back
    in: these races commit."""
    with committing_database(request.param, "learning_races",
                             tmp_path_factory.mktemp("races")) as database:
        with database.write_session() as session:
            organisation = make_organisation(session, name="Racing Police")
            courses.import_parsed(session, courses.parse_folders(VALID))
        yield RaceDatabase(database, organisation.id)


# --- running actions at the same moment ----------------------------------------------------


def race(races: RaceDatabase, actions: list[Callable[[Session], object]]) -> list[object]:
    """Run every action at once, each in its own thread and write session; each result is
    what the action returned, or the exception it raised."""
    start = threading.Barrier(len(actions))
    done = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(index: int, action: Callable[[Session], object]) -> None:
        try:
            start.wait(WAIT_SECONDS)
            with races.database.write_session() as session:
                result = action(session)
                # Commit only once every action has done its work; a broken barrier means
                # one waits for another's lock, so they take turns.
                with contextlib.suppress(threading.BrokenBarrierError):
                    done.wait(HOLD_SECONDS)
            results[index] = result
        except BaseException as error:  # noqa: BLE001 - reported by the test
            results[index] = error

    threads = [threading.Thread(target=run, args=(index, action), name=f"racer-{index}")
               for index, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a racer did not finish"
    return results


def assert_no_errors(results: list[object]) -> None:
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} of {len(results)} actions failed:\n" + "\n".join(errors)


# --- setting learners up -------------------------------------------------------------------


def published(session: Session) -> CourseVersion:
    return courses.find_version(session, CODE)


def module_slugs(version: CourseVersion) -> list[str]:
    return [item.slug for item in courses.version_outline(version) if item.kind == "module"]


def add_learners(races: RaceDatabase, count: int = LEARNERS,
                 prepare: Callable[[Session, User, CourseVersion], None] | None = None
                 ) -> list[int]:
    """New learners, each brought to the point of the race by `prepare`."""
    ids = []
    with races.database.write_session() as session:
        version = published(session)
        for _ in range(count):
            number = next(_numbers)
            user = User(email=f"racer{number}@example.org", name=f"Racer {number}",
                        password_hash="!", organisation_id=races.organisation_id,
                        command_role="operational")
            session.add(user)
            session.flush()
            if prepare is not None:
                prepare(session, user, version)
            ids.append(user.id)
    return ids


def open_quiz(session: Session, user: User, version: CourseVersion) -> QuizAttempt:
    return attempts.start_attempt(session, user, version, courses.version_item(version, QUIZ),
                                  random.Random(user.id))


def run_to(session: Session, user: User, version: CourseVersion, *choices: str) -> ScenarioRun:
    scenario = courses.version_item(version, SCENARIO)
    run = runs.start_run(session, user, version, scenario)
    for choice in choices:
        assert runs.choose(session, run, scenario, choice, run.path[-1][0]).advanced
    return run


def count(session: Session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


# --- the actions, each as one request would take it ----------------------------------------


def submit_quiz(user_id: int, *, right: bool = True) -> Callable[[Session], object]:
    def action(session: Session):
        attempt = session.scalar(select(QuizAttempt).where(QuizAttempt.user_id == user_id))
        values = answer_values(attempt_answers.attempt_questions(attempt), right=right)
        submission = attempts.submit_attempt(session, attempt, values)
        return submission.completion is not None
    return action


def mark_done(user_id: int, slug: str) -> Callable[[Session], object]:
    def action(session: Session):
        return progress.complete_item(session, session.get(User, user_id), published(session),
                                      slug) is not None
    return action


def own_run(session: Session, user_id: int) -> ScenarioRun:
    return session.scalar(select(ScenarioRun).where(ScenarioRun.user_id == user_id)
                          .order_by(ScenarioRun.id.desc()).limit(1))


def choose(user_id: int, choice: str, shown: str) -> Callable[[Session], object]:
    def action(session: Session):
        run = own_run(session, user_id)
        return runs.choose(session, run, runs.scenario_for(run), choice, shown)
    return action


def write_methane(user_id: int, texts: list[str]) -> Callable[[Session], object]:
    def action(session: Session):
        run = own_run(session, user_id)
        return runs.submit_methane(session, run, runs.scenario_for(run), texts,
                                   "methane-message")
    return action


def start_quiz(user_id: int) -> Callable[[Session], object]:
    def action(session: Session):
        return open_quiz(session, session.get(User, user_id), published(session)).id
    return action


def start_scenario(user_id: int) -> Callable[[Session], object]:
    def action(session: Session):
        version = published(session)
        return runs.start_run(session, session.get(User, user_id), version,
                              courses.version_item(version, SCENARIO)).id
    return action


def start_again(user_id: int, run_id: int) -> Callable[[Session], object]:
    def action(session: Session):
        run = session.get(ScenarioRun, run_id)
        return runs.start_again(session, run).id
    return action


# --- completing the course ------------------------------------------------------------------


def test_a_quiz_submitted_while_the_last_module_is_marked_done_completes_once(races):
    def everything_but_the_quiz_and_a_module(session, user, version):
        first, _last = module_slugs(version)
        progress.complete_item(session, user, version, first)
        run_to(session, user, version, "1", "1")
        runs.submit_methane(session, own_run(session, user.id),
                            courses.version_item(version, SCENARIO), GOOD_MESSAGE)
        open_quiz(session, user, version)

    learners = add_learners(races, prepare=everything_but_the_quiz_and_a_module)
    with races.session() as session:
        last_module = module_slugs(published(session))[-1]
    results = race(races, [action for user_id in learners
                           for action in (submit_quiz(user_id), mark_done(user_id, last_module))])

    assert_no_errors(results)
    with races.session() as session:
        for index, user_id in enumerate(learners):
            pair = results[2 * index:2 * index + 2]
            assert pair.count(True) == 1, f"learner {user_id}: completions returned {pair}"
            completion, = session.scalars(select(Completion)
                                          .where(Completion.user_id == user_id)).all()
            assert completion.certificate_code and completion.version_id is not None
            user = session.get(User, user_id)
            assert progress.course_status(session, user, completion.course).state == "in-date"


def test_every_part_finishing_at_once_records_one_completion(races):
    def every_part_one_step_from_done(session, user, version):
        run_to(session, user, version, "1", "1")
        open_quiz(session, user, version)

    learners = add_learners(races, count=LEARNERS // 2, prepare=every_part_one_step_from_done)
    with races.session() as session:
        first, last = module_slugs(published(session))
    results = race(races, [action for user_id in learners for action in (
        mark_done(user_id, first), mark_done(user_id, last), submit_quiz(user_id),
        write_methane(user_id, GOOD_MESSAGE))])

    assert_no_errors(results)
    with races.session() as session:
        for index, user_id in enumerate(learners):
            moves = results[4 * index:4 * index + 4]
            finished = moves[:3] + [moves[3].completion is not None]
            assert finished.count(True) == 1, f"learner {user_id}: {finished}"
            assert count(session, Completion, Completion.user_id == user_id) == 1
            version = published(session)
            states = progress.item_states(session, session.get(User, user_id), version)
            assert set(states.values()) == {"completed"}


# --- scenario choices -----------------------------------------------------------------------


def test_two_different_choices_at_once_record_one(races):
    # At exact-location, "1" goes on to the METHANE message and "2" ends in failure.
    learners = add_learners(races, prepare=lambda session, user, version:
                            run_to(session, user, version, "1"))
    results = race(races, [action for user_id in learners for action in (
        choose(user_id, "1", "exact-location"), choose(user_id, "2", "exact-location"))])

    assert_no_errors(results)
    with races.session() as session:
        for index, user_id in enumerate(learners):
            on, off = results[2 * index:2 * index + 2]
            assert [on.advanced, off.advanced].count(True) == 1, f"learner {user_id}"
            loser = off if on.advanced else on
            assert loser.answered_elsewhere
            run = own_run(session, user_id)
            scenario = runs.scenario_for(run)
            if on.advanced:
                assert run.path[-2:] == [["exact-location", "1"], ["methane-message", None]]
                assert run.finished_at is None and run.result is None
                assert runs.is_open(run)
            else:
                assert run.path[-2:] == [["exact-location", "2"], ["delay", None]]
                assert run.result == "fail" and run.finished_at is not None
            assert (run.finished_at is not None) == (runs.current_step(run, scenario).kind
                                                     == "end")


def test_two_methane_messages_at_once_record_one_and_complete_the_item_once(races):
    learners = add_learners(races, prepare=lambda session, user, version:
                            run_to(session, user, version, "1", "1"))
    other = [f"{text} (second tab)" for text in GOOD_MESSAGE]
    results = race(races, [action for user_id in learners for action in (
        write_methane(user_id, GOOD_MESSAGE), write_methane(user_id, other))])

    assert_no_errors(results)
    with races.session() as session:
        for index, user_id in enumerate(learners):
            first, second = results[2 * index:2 * index + 2]
            assert [first.advanced, second.advanced].count(True) == 1, f"learner {user_id}"
            winner = GOOD_MESSAGE if first.advanced else other
            run = own_run(session, user_id)
            assert run.methane == {"methane-message": winner}
            assert run.path[-2:] == [["methane-message", "1"], ["rescue", None]]
            assert run.result == "pass"
            progress_row = session.scalar(select(ItemProgress).where(
                ItemProgress.user_id == user_id, ItemProgress.item_slug == SCENARIO))
            assert progress_row.completed_at == run.finished_at


# --- pressing Start twice -------------------------------------------------------------------


def test_two_quiz_starts_at_once_open_one_attempt(races):
    learners = add_learners(races)
    results = race(races, [start_quiz(user_id) for user_id in learners for _ in range(2)])

    assert_no_errors(results)
    with races.session() as session:
        for index, user_id in enumerate(learners):
            first, second = results[2 * index:2 * index + 2]
            assert first == second
            assert count(session, QuizAttempt, QuizAttempt.user_id == user_id) == 1
            assert count(session, ItemProgress, ItemProgress.user_id == user_id) == 1


def test_two_scenario_starts_at_once_open_one_run(races):
    learners = add_learners(races)
    results = race(races, [start_scenario(user_id) for user_id in learners for _ in range(2)])

    assert_no_errors(results)
    with races.session() as session:
        for index, user_id in enumerate(learners):
            first, second = results[2 * index:2 * index + 2]
            assert first == second
            assert count(session, ScenarioRun, ScenarioRun.user_id == user_id) == 1
            assert count(session, ItemProgress, ItemProgress.user_id == user_id) == 1


def test_a_quiz_and_a_scenario_started_at_once_both_start(races):
    learners = add_learners(races)
    results = race(races, [action for user_id in learners
                           for action in (start_quiz(user_id), start_scenario(user_id))])

    assert_no_errors(results)
    with races.session() as session:
        for user_id in learners:
            assert count(session, QuizAttempt, QuizAttempt.user_id == user_id) == 1
            assert count(session, ScenarioRun, ScenarioRun.user_id == user_id) == 1
            assert count(session, ItemProgress, ItemProgress.user_id == user_id) == 2


def test_start_again_pressed_twice_at_once_starts_one_new_run(races):
    learners = add_learners(races, prepare=lambda session, user, version:
                            run_to(session, user, version, "1"))
    with races.session() as session:
        first_runs = [own_run(session, user_id).id for user_id in learners]
    results = race(races, [start_again(user_id, run_id)
                           for user_id, run_id in zip(learners, first_runs, strict=True)
                           for _ in range(2)])

    assert_no_errors(results)
    with races.session() as session:
        for index, (user_id, run_id) in enumerate(zip(learners, first_runs, strict=True)):
            first, second = results[2 * index:2 * index + 2]
            assert first == second != run_id
            assert count(session, ScenarioRun, ScenarioRun.user_id == user_id) == 2
            assert session.get(ScenarioRun, run_id).abandoned_at is not None
            assert runs.is_open(session.get(ScenarioRun, first))


def test_mark_as_done_pressed_twice_at_once_records_it_once(races):
    learners = add_learners(races)
    with races.session() as session:
        slug = module_slugs(published(session))[0]
    results = race(races, [mark_done(user_id, slug) for user_id in learners for _ in range(2)])

    assert_no_errors(results)
    with races.session() as session:
        for user_id in learners:
            assert count(session, ItemProgress, ItemProgress.user_id == user_id) == 1
