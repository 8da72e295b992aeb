"""More attempts at a quiz for a learner who has used every one without passing.

Without them the course can never be finished: the learner's pages say so and name who can
help. A trainer of the course (its owners and editors) or a manager of the person (or an
administrator) grants them; each grant is in the audit log.

A grant is exactly once per form sent: the form carries the number of grants it was shown
(`QuizAllowance.grants`), and the grant is one conditional UPDATE on that number, so a
form sent twice, or two people granting from the same page at once, grants once; the
others are told it had already been done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import Permission, PermissionGrant, User, organisation_areas
from jesip_learn.accounts.permissions import can_manage_user
from jesip_learn.content import Quiz
from jesip_learn.core.columns import utcnow
from jesip_learn.core.input_errors import InputError
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.authoring.editors import editor_role, is_author
from jesip_learn.courses.models import Course, CourseEditor
from jesip_learn.learning import attempt_lookup
from jesip_learn.learning.models import QuizAllowance, QuizAttempt
from jesip_learn.records.audit import record_event

MAX_GRANT = 5  # attempts granted at once: enough for a second chance, not a blank cheque


class GrantRefused(InputError):
    """The grant cannot be made; `message` says why, for the person granting."""


def can_grant_attempts(session: Session, actor: User, learner: User, course: Course) -> bool:
    """Administrators; trainers named on the course; managers of the learner's
    organisation."""
    if not actor.is_active:
        return False
    if actor.is_admin:
        return True
    if is_author(actor) and editor_role(session, actor, course) is not None:
        return True
    return actor.has_permission(Permission.MANAGER) and can_manage_user(session, actor, learner)


def published_quiz(course: Course, slug: str) -> Quiz | None:
    version = course.published_version
    if version is None:
        return None
    if not any(item.slug == slug and item.kind == "quiz"
               for item in courses.version_outline(version)):
        return None
    item = courses.version_item(version, slug)
    return item if isinstance(item, Quiz) else None


def _allowance(session: Session, learner: User, course: Course, slug: str) -> QuizAllowance:
    """The learner's allowance row for the quiz, made (with nothing granted) if missing. Two
    requests making it at once: the unique key keeps one, and the other reads it."""
    query = select(QuizAllowance).where(QuizAllowance.user_id == learner.id,
                                        QuizAllowance.course_id == course.id,
                                        QuizAllowance.item_slug == slug)
    row = session.scalar(query)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = QuizAllowance(user_id=learner.id, course_id=course.id, item_slug=slug,
                                extra_attempts=0, grants=0)
            session.add(row)
    except IntegrityError:
        row = session.scalar(query)
    return row


def grants_seen(session: Session, learner: User, course: Course, slug: str) -> int:
    """The number the grant form carries: grants made so far."""
    return session.scalar(select(QuizAllowance.grants).where(
        QuizAllowance.user_id == learner.id, QuizAllowance.course_id == course.id,
        QuizAllowance.item_slug == slug)) or 0


@dataclass(frozen=True, slots=True)
class Grant:
    granted: bool  # False: the same form had already granted (nothing changed)
    extra: int  # attempts granted beyond the quiz's own in this round, after the grant


def grant_attempts(session: Session, actor: User, learner: User, course: Course, slug: str,
                   number: int, seen: int, now: datetime | None = None) -> Grant:
    """Give the learner `number` more attempts at the quiz, once for the form that was
    shown `seen` grants."""
    now = now or utcnow()
    if not can_grant_attempts(session, actor, learner, course):
        raise NotAllowed("Only a trainer of the course or a manager of the person can "
                         "give more attempts.")
    quiz = published_quiz(course, slug)
    if quiz is None:
        raise GrantRefused("This quiz is no longer published.")
    if quiz.max_attempts is None:
        raise GrantRefused("This quiz has no limit on attempts.")
    if not 1 <= number <= MAX_GRANT:
        raise GrantRefused(f"Choose between 1 and {MAX_GRANT} attempts.")
    row = _allowance(session, learner, course, slug)
    if row.grants != seen:
        return Grant(granted=False, extra=attempt_lookup.extra_attempts(session, learner, course,
                                                                        slug, now))
    # Grants of an earlier round of training no longer count: start again from nothing.
    current = attempt_lookup.extra_attempts(session, learner, course, slug, now)
    result = session.execute(
        update(QuizAllowance).where(QuizAllowance.id == row.id, QuizAllowance.grants == seen)
        .values(extra_attempts=current + number, grants=QuizAllowance.grants + 1,
                granted_at=now, granted_by_id=actor.id),
        execution_options={"synchronize_session": False})
    session.refresh(row)
    if result.rowcount != 1:
        return Grant(granted=False, extra=attempt_lookup.extra_attempts(session, learner, course,
                                                                        slug, now))
    noun = "attempt" if number == 1 else "attempts"
    record_event(session, "quiz.attempts_granted", actor=actor, subject=learner,
                 summary=f"{number} more {noun} at {course.code} {quiz.title} "
                         f"for {learner.name}",
                 details={"code": course.code, "quiz": slug, "granted": number,
                          "before": {"extra_attempts": current},
                          "after": {"extra_attempts": current + number}})
    return Grant(granted=True, extra=current + number)


# --- who can help -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Helper:
    name: str
    email: str  # "" when it is not shown to the learner
    role: str  # "manager" or "trainer"


def who_to_ask(session: Session, learner: User, course: Course, limit: int = 3) -> list[Helper]:
    """The learner's managers (with their email, since they work together), then the
    course's trainers (by name): people who can give more attempts."""
    areas = select(organisation_areas.c.area_id).where(
        organisation_areas.c.organisation_id == learner.organisation_id)
    managers = session.scalars(
        select(User).join(PermissionGrant, PermissionGrant.user_id == User.id)
        .where(PermissionGrant.permission == Permission.MANAGER, User.is_active.is_(True),
               User.approved_at.is_not(None), User.id != learner.id,
               or_(PermissionGrant.organisation_id == learner.organisation_id,
                   PermissionGrant.area_id.in_(areas)))
        .order_by(User.name).limit(limit))
    helpers = [Helper(m.name, m.email, "manager") for m in managers]
    trainers = session.scalars(
        select(User).join(CourseEditor, CourseEditor.user_id == User.id)
        .join(PermissionGrant, PermissionGrant.user_id == User.id)
        .where(CourseEditor.course_id == course.id, User.is_active.is_(True),
               PermissionGrant.permission == Permission.TRAINER, User.id != learner.id)
        .order_by(User.name).limit(limit))
    helpers += [Helper(t.name, "", "trainer") for t in trainers]
    return helpers


# --- who needs them -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stuck:
    """A learner who has used every attempt at a quiz without passing it."""

    user: User
    course: Course
    quiz: Quiz
    used: int
    limit: int


def stuck_learners(session: Session, actor: User, course: Course,
                   user_ids: set[int] | None = None) -> list[Stuck]:
    """Learners the actor may help who are out of attempts at one of the course's quizzes
    (among `user_ids` when given), by name."""
    version = course.published_version
    if version is None:
        return []
    found = []
    for outline in courses.version_outline(version):
        if outline.kind != "quiz":
            continue
        quiz = courses.version_item(version, outline.slug)
        if not isinstance(quiz, Quiz) or quiz.max_attempts is None:
            continue
        # Only those with at least max_attempts submitted ever can be out of them now.
        candidates = select(User).join(QuizAttempt, QuizAttempt.user_id == User.id).where(
            QuizAttempt.course_id == course.id, QuizAttempt.item_slug == quiz.slug,
            QuizAttempt.submitted_at.is_not(None), User.is_active.is_(True)
        ).group_by(User.id).having(func.count(QuizAttempt.id) >= quiz.max_attempts)
        if user_ids is not None:
            candidates = candidates.where(User.id.in_(sorted(user_ids)))
        for learner in session.scalars(candidates):
            if not can_grant_attempts(session, actor, learner, course):
                continue
            standing = attempt_lookup.quiz_standing(session, learner, course, quiz)
            if standing.used_up:
                found.append(Stuck(learner, course, quiz, standing.used, standing.limit))
    return sorted(found, key=lambda s: (s.user.name.lower(), s.quiz.title))


def stuck_quizzes_of(session: Session, actor: User, learner: User) -> list[Stuck]:
    """The quizzes the learner is out of attempts at, where the actor may help."""
    pairs = session.execute(
        select(QuizAttempt.course_id, QuizAttempt.item_slug).where(
            QuizAttempt.user_id == learner.id, QuizAttempt.submitted_at.is_not(None))
        .distinct()).all()
    found = []
    for course_id, slug in pairs:
        course = session.get(Course, course_id)
        if course is None or not can_grant_attempts(session, actor, learner, course):
            continue
        quiz = published_quiz(course, slug)
        if quiz is None or quiz.max_attempts is None:
            continue
        standing = attempt_lookup.quiz_standing(session, learner, course, quiz)
        if standing.used_up:
            found.append(Stuck(learner, course, quiz, standing.used, standing.limit))
    return sorted(found, key=lambda s: (s.course.code, s.quiz.title))
