"""50 learners submitting quizzes at the same moment, each from its own OS process, against
a real database: SQLite in a temporary file, and PostgreSQL (a sibling of the configured
test database) when DATABASE_URL is set.

Every submission must succeed ("database is locked" included as a failure), each attempt
must hold exactly one result, and sending every submission again, all at once and with the
opposite answers, must change nothing.

The rollback fixture is not used: the processes commit for real, each with its own
`Database(url).write_session()`, as the web edge does for a POST. The same 50 processes
serve both databases in turn.
"""

from __future__ import annotations

import multiprocessing
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import User
from jesip_learn.core.db import Database
from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import attempt_answers, attempts, progress
from jesip_learn.learning.models import Completion, QuizAttempt
from tests.support.database import configured_url, drop_sibling_database, migrate, sibling_database
from tests.support.factories import make_organisation
from tests.support.quiz_processes import WAIT_SECONDS, Job, learner_process
from tests.support.quizzes import answer_values

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
SLUG = "check-your-understanding"
LEARNERS = 50

# A process's own attempt id → what its submissions gave: (first, replay, shared attempt).
Outcomes = dict[int, tuple[dict, dict, dict]]


def add_learner(session, organisation, version, quiz, number: int, *,
                completes_course: bool) -> tuple[User, QuizAttempt]:
    user = User(email=f"learner{number}@example.org", name=f"Learner {number}",
                password_hash="!", organisation=organisation, command_role="operational")
    session.add(user)
    session.flush()
    if completes_course:
        for item in version.items:
            if item.slug != SLUG:
                progress.complete_item(session, user, version, item.slug)
    attempt = attempts.start_attempt(session, user, version, quiz, random.Random(number))
    return user, attempt


def prepare(url: str) -> list[Job]:
    """A learner with an open attempt for each process (half of them have done everything
    but the quiz), and an attempt for each pair of processes to submit at once."""
    migrate(url)
    database = Database(url)
    jobs = []
    try:
        with database.write_session() as session:
            organisation = make_organisation(session, name="Concurrency Police")
            courses.import_parsed(session, courses.parse_folders(VALID))
            version = courses.find_version(session, "JESIP-AWARE")
            quiz = courses.version_item(version, SLUG)
            shared = [add_learner(session, organisation, version, quiz, LEARNERS + number,
                                  completes_course=True)[1]
                      for number in range(LEARNERS // 2)]
            for number in range(LEARNERS):
                completes_course, passes = number % 2 == 0, number % 3 != 0
                user, attempt = add_learner(session, organisation, version, quiz, number,
                                            completes_course=completes_course)
                questions = attempt_answers.attempt_questions(attempt)
                rival = shared[number // 2]
                jobs.append(Job(
                    attempt_id=attempt.id, user_id=user.id,
                    values=answer_values(questions, right=passes),
                    replay=answer_values(questions, right=not passes),
                    passes=passes, completes_course=completes_course,
                    shared_attempt_id=rival.id,
                    shared_values=answer_values(attempt_answers.attempt_questions(rival),
                                                right=number % 2 == 0)))
    finally:
        database.engine.dispose()
    return jobs


def run_learners(plans: dict[str, list[Job]]) -> dict[str, Outcomes]:
    """Start one process per learner; each takes its turn on every database."""
    # Forked from a server that has already imported the quiz code: 50 spawned processes
    # each importing it took most of the test's time. The server is a fresh process, so
    # nothing of pytest's (threads, open connections) is copied into the learners.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.support.quiz_processes"])
    barrier = context.Barrier(LEARNERS)
    results = context.Queue()
    processes = [
        context.Process(target=learner_process, name=f"learner-{index}",
                        args=([(url, jobs[index]) for url, jobs in plans.items()], barrier,
                              results))
        for index in range(LEARNERS)
    ]
    for process in processes:
        process.start()
    outcomes: dict[str, Outcomes] = {url: {} for url in plans}
    try:
        for _ in range(LEARNERS * len(plans)):
            url, attempt_id, *submissions = results.get(timeout=WAIT_SECONDS)
            outcomes[url][attempt_id] = tuple(submissions)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    return outcomes


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{"sqlite" | "postgresql": (url, jobs, outcomes)} once every process has finished."""
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('concurrency') / 'quiz.db'}"}
    configured = configured_url()
    if configured and configured.startswith("postgresql"):
        urls["postgresql"] = sibling_database(configured, "quiz_concurrency")
    try:
        plans = {url: prepare(url) for url in urls.values()}
        outcomes = run_learners(plans)
        yield {name: (url, plans[url], outcomes[url]) for name, url in urls.items()}
    finally:
        if "postgresql" in urls:
            drop_sibling_database(urls["postgresql"])


def check(url: str, jobs: list[Job], outcomes: Outcomes) -> None:
    errors = [f"attempt {attempt_id}: {outcome['error']}"
              for attempt_id, pair in outcomes.items() for outcome in pair if "error" in outcome]
    assert not errors, f"{len(errors)} submission(s) failed:\n" + "\n".join(errors)
    assert sorted(outcomes) == sorted(job.attempt_id for job in jobs)
    database = Database(url)
    try:
        with database.session() as session:
            for job in jobs:
                first, second, _shared = outcomes[job.attempt_id]
                assert first["recorded"] and first["submitted"] and not first["problems"]
                assert first["completion"] == (job.passes and job.completes_course)
                assert not second["recorded"] and second["submitted"]
                assert not second["problems"] and not second["completion"]
                stored = session.get(QuizAttempt, job.attempt_id)
                assert stored.submitted_at.isoformat() == first["submitted_at"]
                assert second["submitted_at"] == first["submitted_at"]
                assert stored.passed is job.passes
                assert (stored.correct, stored.total) == ((3 if job.passes else 0), 3)
                questions = attempt_answers.attempt_questions(stored)
                assert stored.answers == attempt_answers.read_answers(questions, job.values)
                completions = session.scalar(select(func.count()).select_from(Completion)
                                             .where(Completion.user_id == job.user_id))
                assert completions == (1 if job.passes and job.completes_course else 0)
            check_shared_attempts(session, jobs, outcomes)
            assert session.scalar(select(func.count()).select_from(QuizAttempt)
                                  .where(QuizAttempt.submitted_at.is_(None))) == 0
    finally:
        database.engine.dispose()


def check_shared_attempts(session, jobs: list[Job], outcomes: Outcomes) -> None:
    """Two processes sent the same attempt at once: one result, that of the one recorded."""
    pairs: dict[int, list[tuple[Job, dict]]] = {}
    for job in jobs:
        pairs.setdefault(job.shared_attempt_id, []).append((job, outcomes[job.attempt_id][2]))
    assert len(pairs) == LEARNERS // 2
    for attempt_id, pair in pairs.items():
        assert len(pair) == 2 and all(outcome["submitted"] for _job, outcome in pair)
        recorded = [(job, outcome) for job, outcome in pair if outcome["recorded"]]
        assert len(recorded) == 1, f"attempt {attempt_id}: {len(recorded)} results recorded"
        (winner, outcome), = recorded
        assert {o["submitted_at"] for _job, o in pair} == {outcome["submitted_at"]}
        stored = session.get(QuizAttempt, attempt_id)
        questions = attempt_answers.attempt_questions(stored)
        assert stored.answers == attempt_answers.read_answers(questions, winner.shared_values)
        assert stored.passed is outcome["completion"]  # a pass finished the course
        completions = session.scalar(select(func.count()).select_from(Completion)
                                     .where(Completion.user_id == stored.user_id))
        assert completions == (1 if stored.passed else 0)


def test_fifty_learners_submit_at_once_on_sqlite(runs):
    check(*runs["sqlite"])


def test_fifty_learners_submit_at_once_on_postgresql(runs):
    if "postgresql" not in runs:
        pytest.skip("DATABASE_URL names no PostgreSQL database")
    check(*runs["postgresql"])
