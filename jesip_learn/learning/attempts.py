"""Quiz attempts: starting (or resuming) one, saving answers, and submitting it once.

An attempt fixes, when it starts, the questions drawn and the order their options are
shown in; it is always read against the version it started on (attempt_answers.py), so
publishing a new version never changes an attempt in progress.

A submission is recorded by one conditional UPDATE (`... WHERE submitted_at IS NULL`), so a
double click, a second tab or a replayed POST records one result: the later ones find the
attempt already submitted and simply show that result again. Answers are saved the same
way, so a late save can never change the answers of a submitted attempt.

Looking attempts up and where a learner stands are in attempt_lookup.py; the marked result
of a submitted attempt in attempt_results.py.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from jesip_learn import scoring
from jesip_learn.accounts.models import User
from jesip_learn.content import Question, Quiz
from jesip_learn.core.columns import utcnow
from jesip_learn.courses.models import CourseVersion
from jesip_learn.learning import progress
from jesip_learn.learning.attempt_answers import (
    answer_problems,
    attempt_questions,
    attempt_quiz,
    draft_answers,
    read_answers,
)
from jesip_learn.learning.attempt_lookup import (
    attempt_limit,
    attempts_used,
    open_attempt,
    refusal_message,
)
from jesip_learn.learning.models import Completion, QuizAttempt
from jesip_learn.scoring import FormValues
from jesip_learn.xapi import outbox as xapi_outbox
from jesip_learn.xapi import statements as xapi_statements


class AttemptRefused(Exception):
    """No attempt can be started; `message` says why, in words for the learner."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- starting ----------------------------------------------------------------------------


def start_attempt(session: Session, user: User, version: CourseVersion, quiz: Quiz,
                  rng: random.Random | None = None, now: datetime | None = None) -> QuizAttempt:
    """The learner's open attempt at this quiz, or a new one with questions drawn and their
    options shuffled; refuses (AttemptRefused) when no attempt is left in this cycle."""
    now = now or utcnow()
    rng = rng or random.SystemRandom()
    # One learner starting from two tabs at once: the second waits here for the first, and
    # then finds its attempt.
    progress.lock_learner_course(session, user.id, version.course_id)
    course = version.course
    existing = open_attempt(session, user, course, quiz.slug)
    if existing is not None:
        return existing
    limit = attempt_limit(session, user, course, quiz, now)
    if limit is not None and attempts_used(session, user, course, quiz.slug, now) >= limit:
        raise AttemptRefused(refusal_message(limit))
    drawn = rng.sample(list(quiz.questions), quiz.questions_drawn)
    attempt = QuizAttempt(
        user_id=user.id, course_id=course.id, version_id=version.id, item_slug=quiz.slug,
        started_at=now, question_ids=[question.id for question in drawn],
        option_order={question.id: shuffled_options(question, rng) for question in drawn},
        answers={})
    session.add(attempt)
    session.flush()
    progress.start_item(session, user, version, quiz.slug, now)
    xapi_outbox.record(session, lambda settings: xapi_statements.quiz_attempted(
        settings, user, attempt, quiz, now))
    return attempt


def shuffled_options(question: Question, rng: random.Random) -> list[str]:
    """The question's option ids in a random order; for an ordering question of more than
    one item, never the right order (that would give the answer away)."""
    order = [option.id for option in question.options]
    rng.shuffle(order)
    if question.kind == "ordering" and len(order) > 1:
        while tuple(order) == tuple(question.correct_order):
            rng.shuffle(order)
    return order


# --- saving and submitting --------------------------------------------------------------


def _unsubmitted(attempt: QuizAttempt):
    return update(QuizAttempt).where(QuizAttempt.id == attempt.id,
                                     QuizAttempt.submitted_at.is_(None))


def save_answers(session: Session, attempt: QuizAttempt, values: FormValues) -> bool:
    """Keep the answers sent as they are, finished or not (some may be missing); False
    when the attempt was already submitted, in which case nothing changes."""
    answers = draft_answers(attempt_questions(attempt), values)
    return _write(session, attempt, _unsubmitted(attempt).values(answers=answers))


def _write(session: Session, attempt: QuizAttempt, statement) -> bool:
    result = session.execute(statement, execution_options={"synchronize_session": False})
    session.refresh(attempt)  # what the database now holds, whoever wrote it
    return result.rowcount == 1


@dataclass(frozen=True, slots=True)
class Submission:
    """What submitting did. `problems` (question id → message) is set when some question
    was unanswered: no result was recorded. `recorded` is True only for the request that
    recorded the result; a repeated one finds it already submitted. `completion` is set
    when passing the quiz completed the course."""

    attempt: QuizAttempt
    problems: dict[str, str]
    recorded: bool = False
    completion: Completion | None = None

    @property
    def submitted(self) -> bool:
        return self.attempt.submitted_at is not None


def submit_attempt(session: Session, attempt: QuizAttempt, values: FormValues,
                   now: datetime | None = None) -> Submission:
    """Save the answers, then mark and record the attempt once, if every question has an
    answer."""
    if attempt.submitted_at is not None:
        return Submission(attempt, problems={})
    # Before the attempt's row, like every change to the learner's progress in the course.
    progress.lock_learner_course(session, attempt.user_id, attempt.course_id)
    now = now or utcnow()
    quiz = attempt_quiz(attempt)
    questions = attempt_questions(attempt, quiz)
    answers = read_answers(questions, values)
    problems = answer_problems(questions, answers)
    if problems:  # kept as a save would keep them; nothing is marked
        _write(session, attempt, _unsubmitted(attempt).values(
            answers=draft_answers(questions, values)))
        return Submission(attempt, problems={} if attempt.submitted_at else problems)
    score = scoring.score_quiz(questions, answers, quiz.pass_mark)
    recorded = _write(session, attempt, _unsubmitted(attempt).values(
        answers=answers, submitted_at=now, correct=score.correct, total=score.total,
        percent=score.percent, passed=score.passed))
    completion = None
    if recorded:
        xapi_outbox.record(session, lambda settings: xapi_statements.quiz_submitted(
            settings, session.get(User, attempt.user_id), attempt, quiz, questions, answers,
            score, now))
    if recorded and score.passed:
        completion = _complete_quiz(session, attempt, now)
    return Submission(attempt, problems={}, recorded=recorded, completion=completion)


def _complete_quiz(session: Session, attempt: QuizAttempt, now: datetime) -> Completion | None:
    return progress.complete_published_item(session, attempt.user_id, attempt.course_id,
                                            attempt.item_slug, now)
