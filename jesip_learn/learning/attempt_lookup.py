"""Looking a learner's quiz attempts up, and where they stand with a quiz.

Owns the read-only queries on attempts: one attempt by id (only the learner's own), the open
one, the attempts used against the limit and the limit itself (with attempts granted),
`QuizStanding` (used, left, passed, best, worked out by the database however many attempts
there are), the history of attempts and the submitted ones a page at a time. Lists never
read the questions drawn or the answers (`SUMMARY_COLUMNS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, and_, case, func, select
from sqlalchemy.orm import Session, load_only

from jesip_learn.accounts.models import User
from jesip_learn.content import Quiz
from jesip_learn.core.columns import utcnow
from jesip_learn.courses.models import Course
from jesip_learn.learning import progress
from jesip_learn.learning.models import QuizAllowance, QuizAttempt


def attempt_for(session: Session, user: User, attempt_id: int) -> QuizAttempt | None:
    """The attempt, or None when there is none or it is someone else's."""
    attempt = session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        return None
    return attempt


# What lists of attempts show: never the questions drawn, their order or the answers (JSON
# that grows with the quiz), so a learner with hundreds of attempts costs what one with a
# few costs.
SUMMARY_COLUMNS = (QuizAttempt.id, QuizAttempt.user_id, QuizAttempt.course_id,
                   QuizAttempt.version_id, QuizAttempt.item_slug, QuizAttempt.started_at,
                   QuizAttempt.submitted_at, QuizAttempt.correct, QuizAttempt.total,
                   QuizAttempt.percent, QuizAttempt.passed)
SUMMARY = load_only(*SUMMARY_COLUMNS)


def attempt_history(session: Session, user: User, course: Course,
                    slug: str | None = None) -> list[QuizAttempt]:
    """Every attempt of this learner at the course's quizzes (or one quiz), newest first,
    without their questions and answers."""
    query = select(QuizAttempt).options(SUMMARY).where(QuizAttempt.user_id == user.id,
                                                       QuizAttempt.course_id == course.id)
    if slug is not None:
        query = query.where(QuizAttempt.item_slug == slug)
    return list(session.scalars(query.order_by(QuizAttempt.started_at.desc(),
                                               QuizAttempt.id.desc())))


def open_attempt(session: Session, user: User, course: Course, slug: str) -> QuizAttempt | None:
    """The learner's unsubmitted attempt at this quiz, if there is one."""
    return session.scalar(select(QuizAttempt).where(
        QuizAttempt.user_id == user.id, QuizAttempt.course_id == course.id,
        QuizAttempt.item_slug == slug, QuizAttempt.submitted_at.is_(None))
        .order_by(QuizAttempt.id.desc()).limit(1))


def attempts_used(session: Session, user: User, course: Course, slug: str,
                  now: datetime | None = None) -> int:
    """Submitted attempts that count against `max_attempts`: those of the current cycle."""
    query = select(func.count()).select_from(QuizAttempt).where(
        QuizAttempt.user_id == user.id, QuizAttempt.course_id == course.id,
        QuizAttempt.item_slug == slug, QuizAttempt.submitted_at.is_not(None))
    start = progress.cycle_start(session, user, course, now or utcnow())
    if start is not None:
        query = query.where(QuizAttempt.submitted_at > start)
    return session.scalar(query) or 0


def attempt_number(session: Session, attempt: QuizAttempt) -> int:
    """1 for the learner's first attempt at this quiz, 2 for the next, and so on."""
    return session.scalar(select(func.count()).select_from(QuizAttempt).where(
        QuizAttempt.user_id == attempt.user_id, QuizAttempt.course_id == attempt.course_id,
        QuizAttempt.item_slug == attempt.item_slug, QuizAttempt.id <= attempt.id)) or 1


def extra_attempts(session: Session, user: User, course: Course, slug: str,
                   now: datetime | None = None) -> int:
    """Attempts granted beyond `max_attempts` in this round of training (a grant made
    before the round began no longer counts)."""
    allowance = session.scalar(select(QuizAllowance).where(
        QuizAllowance.user_id == user.id, QuizAllowance.course_id == course.id,
        QuizAllowance.item_slug == slug))
    if allowance is None or allowance.granted_at is None:
        return 0
    start = progress.cycle_start(session, user, course, now or utcnow())
    if start is not None and allowance.granted_at <= start:
        return 0
    return allowance.extra_attempts


def attempt_limit(session: Session, user: User, course: Course, quiz: Quiz,
                  now: datetime | None = None) -> int | None:
    """How many attempts the learner may submit in this round: the quiz's `max_attempts`
    and any granted to them; None when the quiz has no limit."""
    if quiz.max_attempts is None:
        return None
    return quiz.max_attempts + extra_attempts(session, user, course, quiz.slug, now)


ATTEMPTS_PER_PAGE = 10


@dataclass(frozen=True, slots=True)
class AttemptsPage:
    """One page of a learner's submitted attempts at a quiz, numbered, newest first."""

    attempts: list[tuple[int, Row]]  # rows of SUMMARY_COLUMNS
    page: int  # from 1
    pages: int  # at least 1
    total: int  # submitted attempts on every page
    first: int  # the place of the page's first attempt in the list (from 1), 0 when none
    last: int


@dataclass(frozen=True, slots=True)
class QuizStanding:
    """Where a learner stands with a quiz: attempts used and left in this cycle, whether
    they passed in it and their best attempt in it, and the open attempt. Worked out by the
    database, so it costs the same however many attempts the learner has made; the list of
    attempts is read a page at a time (`submitted_page`)."""

    used: int
    limit: int | None  # None: unlimited
    passed: bool
    open_attempt: QuizAttempt | None
    # The highest score of this cycle (the first, if tied): a row of SUMMARY_COLUMNS.
    best: Row | None = None
    started: int = 0  # attempts ever started at the quiz, open ones too
    submitted: int = 0  # attempts ever submitted, in any cycle
    extra: int = 0  # attempts granted beyond the quiz's own limit, included in `limit`

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    @property
    def can_start(self) -> bool:
        return self.open_attempt is not None or self.left is None or self.left > 0

    @property
    def used_up(self) -> bool:
        """Every attempt used without a pass: the learner needs more to finish the course."""
        return not self.can_start and not self.passed

    @property
    def refusal(self) -> str | None:
        if self.can_start:
            return None
        return refusal_message(self.limit)


def refusal_message(limit: int) -> str:
    noun = "attempt" if limit == 1 else "attempts"
    return f"You have used all {limit} {noun} at this quiz, so you cannot take it again."


def _quiz_attempts(user: User, course: Course, slug: str):
    return (QuizAttempt.user_id == user.id, QuizAttempt.course_id == course.id,
            QuizAttempt.item_slug == slug)


def quiz_standing(session: Session, user: User, course: Course, quiz: Quiz,
                  now: datetime | None = None) -> QuizStanding:
    start = progress.cycle_start(session, user, course, now or utcnow())
    mine = _quiz_attempts(user, course, quiz.slug)
    submitted = QuizAttempt.submitted_at.is_not(None)
    in_cycle = submitted if start is None else and_(submitted, QuizAttempt.submitted_at > start)
    # Counted from the index of attempts by quiz, never reading an attempt's answers: the
    # same cost, near enough, however many attempts there are.
    started, ever_submitted, used, passed, open_id = session.execute(
        select(func.count(), func.count(QuizAttempt.submitted_at),
               func.count(case((in_cycle, 1))),
               func.count(case((and_(in_cycle, QuizAttempt.passed.is_(True)), 1))),
               func.max(case((QuizAttempt.submitted_at.is_(None), QuizAttempt.id))))
        .where(*mine)).one()
    best = None
    if used:
        best_id = (select(QuizAttempt.id).where(*mine, in_cycle)
                   .order_by(func.coalesce(QuizAttempt.percent, 0.0).desc(),
                             QuizAttempt.started_at, QuizAttempt.id)
                   .limit(1).scalar_subquery())
        best = session.execute(select(*SUMMARY_COLUMNS).where(QuizAttempt.id == best_id)).one()
    extra = (extra_attempts(session, user, course, quiz.slug, now)
             if quiz.max_attempts is not None else 0)
    return QuizStanding(used=used, extra=extra,
                        limit=None if quiz.max_attempts is None else quiz.max_attempts + extra,
                        passed=bool(passed),
                        open_attempt=session.get(QuizAttempt, open_id) if open_id else None,
                        best=best, started=started, submitted=ever_submitted)


def submitted_page(session: Session, user: User, course: Course, slug: str, page: int,
                   per_page: int = ATTEMPTS_PER_PAGE, *,
                   standing: QuizStanding | None = None) -> AttemptsPage:
    """Page `page` of the learner's submitted attempts at the quiz, newest first, each
    numbered among all their attempts (1 for the first started); a page number out of range
    gives the nearest page there is. `standing`, the quiz's, saves counting again."""
    if standing is not None:
        everyone, total = standing.started, standing.submitted
    else:
        everyone, total = session.execute(
            select(func.count(), func.count(QuizAttempt.submitted_at))
            .where(*_quiz_attempts(user, course, slug))).one()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    shown = []
    if total:
        newest_first = (QuizAttempt.started_at.desc(), QuizAttempt.id.desc())
        # The page's ids from the index alone, then only those rows read.
        on_page = (select(QuizAttempt.id)
                   .where(*_quiz_attempts(user, course, slug),
                          QuizAttempt.submitted_at.is_not(None))
                   .order_by(*newest_first).limit(per_page).offset(start))
        rows = session.execute(select(*SUMMARY_COLUMNS)
                               .where(QuizAttempt.id.in_(on_page.scalar_subquery()))
                               .order_by(*newest_first)).all()
        # Numbered among every attempt, open ones too (there is one at most, as a rule).
        unsubmitted = session.execute(
            select(QuizAttempt.started_at, QuizAttempt.id)
            .where(*_quiz_attempts(user, course, slug), QuizAttempt.submitted_at.is_(None))
        ).all() if everyone > total else []
        for index, row in enumerate(rows):
            newer_open = sum((started_at, id_) > (row.started_at, row.id)
                             for started_at, id_ in unsubmitted)
            shown.append((everyone - (start + index + newer_open), row))
    return AttemptsPage(attempts=shown, page=page, pages=pages, total=total,
                        first=start + 1 if shown else 0, last=start + len(shown))
