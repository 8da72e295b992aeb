"""What each process of tests/test_quiz_concurrency.py runs: one learner submitting a quiz.

Kept apart from the test module so that each spawned process imports only the domain it
needs (not pytest's plugins, Alembic or Flask), which keeps 50 processes quick to start.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass

from jesip_learn.core.db import Database
from jesip_learn.learning import attempt_answers, attempt_lookup, attempts
from jesip_learn.learning.models import QuizAttempt

WAIT_SECONDS = 120


@dataclass(frozen=True)
class Job:
    attempt_id: int
    user_id: int
    values: dict[str, list[str]]  # the submission
    replay: dict[str, list[str]]  # sent again afterwards: the opposite answers
    passes: bool
    completes_course: bool  # every other item done: passing completes the course
    # Then two processes submit the same attempt at once (a double click, a second tab),
    # one with right answers and one with wrong: exactly one of them may be recorded.
    shared_attempt_id: int
    shared_values: dict[str, list[str]]


def submit(database: Database, attempt_id: int, values) -> dict:
    """One POST's worth of work: a write session, the submission, one commit."""
    began = time.monotonic()
    with database.write_session() as session:
        attempt = session.get(QuizAttempt, attempt_id)
        submission = attempts.submit_attempt(session, attempt, values)
        outcome = {
            "recorded": submission.recorded, "submitted": submission.submitted,
            "problems": dict(submission.problems),
            "completion": submission.completion is not None,
            "submitted_at": attempt.submitted_at.isoformat() if attempt.submitted_at else None,
        }
    outcome["seconds"] = time.monotonic() - began
    return outcome


def guarded(action, *args) -> dict:
    try:
        return action(*args)
    except BaseException as error:  # reported to the parent, which fails the test
        return {"error": f"{type(error).__name__}: {error}\n{traceback.format_exc()}"}


def warm_up(database: Database, attempt_id: int) -> None:
    """Connect and read the attempt as its page does, so the process is like a warm server
    (connections open, statements compiled) when the submissions start."""
    with database.session() as session:
        attempt = session.get(QuizAttempt, attempt_id)
        attempt_answers.shown_questions(attempt)
        attempt_lookup.attempt_number(session, attempt)
        session.rollback()


def learner_process(rounds: list[tuple[str, Job]], barrier, results) -> None:
    """One learner, once per database: submit when every process is ready; then all send
    theirs again at once; then submit an attempt shared with one other process at once.
    `rounds` is [(database URL, this process's job there)]."""
    for url, job in rounds:
        database = Database(url)
        warm_up(database, job.attempt_id)
        barrier.wait(WAIT_SECONDS)
        first = guarded(submit, database, job.attempt_id, job.values)
        barrier.wait(WAIT_SECONDS)
        again = guarded(submit, database, job.attempt_id, job.replay)
        barrier.wait(WAIT_SECONDS)
        shared = guarded(submit, database, job.shared_attempt_id, job.shared_values)
        database.engine.dispose()
        results.put((url, job.attempt_id, first, again, shared))
