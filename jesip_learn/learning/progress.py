"""Learners' progress: items done, courses completed, and how long a completion stays
in date.

Progress is kept per course and item slug, so it survives versions that keep the slug.
What counts toward the next completion starts again (the "cycle" starts) when a version
that needs renewal is published, and when a completion enters its last 90 days: from then
the learner renews by completing each item again.

Every change to a learner's progress in a course (starting or finishing an item, a quiz
attempt or a scenario run) first takes `lock_learner_course`, so two tabs or two server
workers changing it at once take turns: each sees what the other did, and a course that
both finish together is completed exactly once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.compliance import acceptance as requirement_acceptance
from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import begin_writing
from jesip_learn.courses.catalogue import ItemOutline, learner_outline, version_outline
from jesip_learn.courses.models import Course, CourseVersion
from jesip_learn.learning.course_states import ComplianceState
from jesip_learn.learning.models import Completion, ItemProgress
from jesip_learn.records.audit import record_event
from jesip_learn.records.models import Anonymisation
from jesip_learn.xapi import outbox as xapi_outbox
from jesip_learn.xapi import statements as xapi_statements
from jesip_learn.xapi.settings import XapiSettings

EXPIRING_WINDOW = timedelta(days=90)
CERTIFICATE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later, or the month's last day when it has no such day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


# --- the cycle ---------------------------------------------------------------------------


def latest_completion(session: Session, user: User, course: Course) -> Completion | None:
    return session.scalar(select(Completion).where(
        Completion.user_id == user.id, Completion.course_id == course.id)
        .order_by(Completion.completed_at.desc(), Completion.id.desc()).limit(1))


def latest_certificate(session: Session, user: User, course: Course) -> Completion | None:
    """The newest completion made here: one brought from another system has no certificate."""
    return session.scalar(select(Completion).where(
        Completion.user_id == user.id, Completion.course_id == course.id,
        Completion.certificate_code.is_not(None))
        .order_by(Completion.completed_at.desc(), Completion.id.desc()).limit(1))


def renewal_cutoff(session: Session, course: Course) -> datetime | None:
    """When the newest version that needs everyone to complete again was published."""
    return session.scalar(select(func.max(CourseVersion.published_at)).where(
        CourseVersion.course_id == course.id, CourseVersion.needs_renewal))


def completion_state(completion: Completion | None, cutoff: datetime | None,
                     now: datetime) -> str | None:
    """'in-date', 'expiring' (within 90 days), 'expired', or None for no completion."""
    if completion is None:
        return None
    return _completion_state(completion.completed_at, completion.expires_at, cutoff, now)


# A completion in these states is due again: a new round of training may start.
FALLING_DUE = (ComplianceState.EXPIRING, ComplianceState.EXPIRED)


def _completion_state(completed_at: datetime, expires_at: datetime | None,
                      cutoff: datetime | None, now: datetime) -> str:
    if cutoff is not None and completed_at < cutoff:
        return ComplianceState.EXPIRED  # a version that needs renewal has made it fall due
    if expires_at is None:
        return ComplianceState.IN_DATE
    if expires_at <= now:
        return ComplianceState.EXPIRED
    if expires_at - now <= EXPIRING_WINDOW:
        return ComplianceState.EXPIRING
    return ComplianceState.IN_DATE


# The read queries below are built once, at import, from the tables rather than the mapped
# classes: pages run them on every request, and they return plain rows, not objects.
_COURSES, _VERSIONS = Course.__table__, CourseVersion.__table__
_COMPLETIONS, _PROGRESS = Completion.__table__, ItemProgress.__table__


def _cycle_columns(user_id, course_id) -> tuple:
    """What decides where the cycle starts, as columns any query can carry: the renewal
    cutoff, and when the latest completion was made and runs out. `course_id` is a bound
    value or the column of an enclosing query."""
    cutoff = select(func.max(_VERSIONS.c.published_at)).where(
        _VERSIONS.c.course_id == course_id, _VERSIONS.c.needs_renewal)
    latest = (select(_COMPLETIONS.c.completed_at)
              .where(_COMPLETIONS.c.user_id == user_id, _COMPLETIONS.c.course_id == course_id)
              .order_by(_COMPLETIONS.c.completed_at.desc(), _COMPLETIONS.c.id.desc()).limit(1))
    return (cutoff.scalar_subquery().label("cutoff"),
            latest.scalar_subquery().label("latest_completed_at"),
            latest.with_only_columns(_COMPLETIONS.c.expires_at).scalar_subquery()
            .label("latest_expires_at"))


def _cycle_start(cutoff: datetime | None, completed_at: datetime | None,
                 expires_at: datetime | None, now: datetime) -> datetime | None:
    starts = [cutoff] if cutoff else []
    if completed_at is not None and _completion_state(
            completed_at, expires_at, cutoff, now) in FALLING_DUE:
        starts.append(completed_at)
    return max(starts) if starts else None


_CYCLE = select(*_cycle_columns(bindparam("user_id"), bindparam("course_id")))


def cycle_start(session: Session, user: User, course: Course, now: datetime) -> datetime | None:
    """Items completed before this moment do not count toward the next completion."""
    inputs = session.execute(_CYCLE, {"user_id": user.id, "course_id": course.id}).one()
    return _cycle_start(*inputs, now)


# --- one change at a time ------------------------------------------------------------------


def lock_learner_course(session: Session, user_id: int, course_id: int) -> None:
    """Wait until no other transaction is changing this learner's progress in this course,
    and keep the others waiting until this one ends. Call it before reading what the change
    depends on: what it reads afterwards includes everything the others committed.

    On PostgreSQL this is a transaction-level advisory lock keyed (learner id, course id),
    the only advisory locks of the two-key form this site takes; like a row lock it gives
    up after the connection's lock_timeout, which the edge reports as the database being
    busy. SQLite has one writer at a time, so a transaction that began as a writer already
    has the database to itself; one that has not begun yet begins as a writer here.
    """
    if not session.in_transaction():
        begin_writing(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(user_id, course_id)))


# --- items -------------------------------------------------------------------------------

_PROGRESS_KEY = ("user_id", "course_id", "item_slug")


def _progress_row(session: Session, user: User, course: Course, slug: str,
                  now: datetime) -> ItemProgress:
    """The learner's row for the item, made when it is missing. Made with INSERT ... ON
    CONFLICT DO NOTHING: a row another transaction has just made is found, never made
    twice."""
    find = select(ItemProgress).where(
        ItemProgress.user_id == user.id, ItemProgress.course_id == course.id,
        ItemProgress.item_slug == slug).execution_options(populate_existing=True)
    row = session.scalar(find)
    if row is None:
        insert = (postgresql_insert if session.get_bind().dialect.name == "postgresql"
                  else sqlite_insert)
        session.execute(insert(ItemProgress).values(
            user_id=user.id, course_id=course.id, item_slug=slug, started_at=now)
            .on_conflict_do_nothing(index_elements=list(_PROGRESS_KEY)))
        row = session.scalar(find)
    return row


def start_item(session: Session, user: User, version: CourseVersion, slug: str,
               now: datetime | None = None) -> None:
    """The learner has opened the item; in a new cycle it counts as started again."""
    lock_learner_course(session, user.id, version.course_id)
    now = now or utcnow()
    row = _progress_row(session, user, version.course, slug, now)
    start = cycle_start(session, user, version.course, now)
    if start is not None and row.started_at <= start:
        row.started_at = now


def _item_state(started_at: datetime | None, completed_at: datetime | None,
                start: datetime | None) -> str:
    """'completed', 'in-progress' or 'not-started', from the learner's row for the item
    (no row: both moments None) and the start of the cycle."""
    def in_cycle(moment: datetime) -> bool:
        # Strictly after: the items that made the last completion belong to its cycle.
        return start is None or moment > start

    if started_at is None:
        return "not-started"
    if completed_at is not None and in_cycle(completed_at):
        return "completed"
    if in_cycle(started_at):
        return "in-progress"
    return "not-started"  # touched only in an earlier cycle


# The learner's rows for a course, each carrying the cycle's inputs: one query.
_ITEM_ROWS = select(
    _PROGRESS.c.item_slug, _PROGRESS.c.started_at, _PROGRESS.c.completed_at,
    *_cycle_columns(bindparam("user_id"), bindparam("course_id")),
).where(_PROGRESS.c.user_id == bindparam("user_id"),
        _PROGRESS.c.course_id == bindparam("course_id"))


def item_states(session: Session, user: User, version: CourseVersion,
                now: datetime | None = None) -> dict[str, str]:
    """Each item's state for this learner: 'completed', 'in-progress' or 'not-started'."""
    now = now or utcnow()
    rows = session.execute(_ITEM_ROWS, {"user_id": user.id,
                                        "course_id": version.course_id}).all()
    start = _cycle_start(rows[0].cutoff, rows[0].latest_completed_at,
                         rows[0].latest_expires_at, now) if rows else None
    touched = {row.item_slug: row for row in rows}
    states = {}
    for item in learner_outline(version):
        row = touched.get(item.slug)
        states[item.slug] = (_item_state(row.started_at, row.completed_at, start)
                             if row else "not-started")
    return states


@dataclass(frozen=True, slots=True)
class PublishedItemState:
    """A learner's state of one item of a course's published version, with what names that
    version. The item is the one asked for, if the version has it: the caller checks."""

    code: str
    version_id: int
    content_hash: str
    state: str  # completed, in-progress or not-started


_PUBLISHED = _VERSIONS.alias("published")
_PUBLISHED_ITEM = (
    select(_COURSES.c.code, _PUBLISHED.c.id.label("version_id"), _PUBLISHED.c.content_hash,
           _PROGRESS.c.started_at, _PROGRESS.c.completed_at,
           *_cycle_columns(bindparam("user_id"), _COURSES.c.id))
    .join(_PUBLISHED, _PUBLISHED.c.id == _COURSES.c.published_version_id)
    .outerjoin(_PROGRESS, and_(_PROGRESS.c.course_id == _COURSES.c.id,
                               _PROGRESS.c.user_id == bindparam("user_id"),
                               _PROGRESS.c.item_slug == bindparam("slug")))
    .where(func.upper(_COURSES.c.code) == bindparam("code"))
)


def published_item_state(session: Session, user: User, code: str, slug: str,
                         now: datetime | None = None) -> PublishedItemState | None:
    """The published version of the course with this code (in any letter case) and the
    learner's state of its item `slug`, in one query; None when there is no such course
    or it has no published version. The state is the one `item_states` gives the item."""
    row = session.execute(_PUBLISHED_ITEM, {"user_id": user.id, "slug": slug,
                                            "code": code.upper()}).one_or_none()
    if row is None:
        return None
    start = _cycle_start(row.cutoff, row.latest_completed_at, row.latest_expires_at,
                         now or utcnow())
    return PublishedItemState(code=row.code,
                              version_id=row.version_id, content_hash=row.content_hash,
                              state=_item_state(row.started_at, row.completed_at, start))


def complete_item(session: Session, user: User, version: CourseVersion, slug: str,
                  now: datetime | None = None) -> Completion | None:
    """Record an item as done; returns the course completion when this finished the course."""
    lock_learner_course(session, user.id, version.course_id)
    now = now or utcnow()
    row = _progress_row(session, user, version.course, slug, now)
    previously_completed_at = row.completed_at
    row.completed_at = now
    row.completed_version_id = version.id
    session.flush()
    xapi_outbox.record(session, lambda settings: _module_statements(
        settings, session, user, version, slug, previously_completed_at, now))
    return complete_course_if_done(session, user, version, now)


def _module_statements(settings: XapiSettings, session: Session, user: User, version: CourseVersion,
                       slug: str, previously_completed_at: datetime | None,
                       now: datetime) -> list[dict]:
    """A reading module marked done: experienced and completed, once per cycle (quizzes and
    scenarios have statements of their own)."""
    item = next((i for i in version_outline(version) if i.slug == slug), None)
    if item is None or item.kind != "module":
        return []
    if previously_completed_at is not None:
        start = cycle_start(session, user, version.course, now)
        if start is None or previously_completed_at > start:
            return []  # already done in this cycle: pressed again
    return xapi_statements.module_completed(settings, user, version, slug, item.title, now)


def complete_published_item(session: Session, user_id: int, course_id: int, slug: str,
                            now: datetime) -> Completion | None:
    """An item finished on whichever version the learner started it on counts toward the
    published version, as long as that version still has an item with this slug."""
    course = session.get(Course, course_id)
    published = course.published_version if course else None
    if published is None or not any(item.slug == slug for item in version_outline(published)):
        return None
    return complete_item(session, session.get(User, user_id), published, slug, now)


def complete_course_if_done(session: Session, user: User, version: CourseVersion,
                            now: datetime) -> Completion | None:
    """Every item of the published version done in this cycle: record one completion.
    Exactly one, however many items finish at once: the caller holds the learner's lock
    for the course (`lock_learner_course`), so what is read here includes every item that
    finished before."""
    if version.course.published_version_id != version.id:
        return None
    states = item_states(session, user, version, now)
    if not states or any(state != "completed" for state in states.values()):
        return None
    latest = latest_completion(session, user, version.course)
    cutoff = renewal_cutoff(session, version.course)
    if completion_state(latest, cutoff, now) == ComplianceState.IN_DATE:
        return None  # already complete and not yet due: nothing new to record
    expires = add_months(now, version.validity_months) if version.validity_months else None
    completion = Completion(user_id=user.id, course_id=version.course_id, version_id=version.id,
                            completed_at=now, expires_at=expires,
                            certificate_code=new_certificate_code())
    session.add(completion)
    session.flush()
    record_event(session, "course.completed", actor=user, subject=user,
                 summary=f"{version.course.code} version {version.number}",
                 details={"code": version.course.code, "version": version.number,
                          "certificate": completion.certificate_code})
    xapi_outbox.record(session, lambda settings: xapi_statements.course_completed(
        settings, user, completion, version))
    return completion


def new_certificate_code() -> str:
    body = "".join(secrets.choice(CERTIFICATE_ALPHABET) for _ in range(10))
    return f"JL-{body[:5]}-{body[5:]}"


# --- what a learner sees -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CourseStatus:
    course: Course
    version: CourseVersion
    state: str  # not-started, in-progress, in-date, expiring, expired
    completion: Completion | None
    items_done: int
    items_total: int
    required: bool

    @property
    def due(self) -> datetime | None:
        return self.completion.expires_at if self.completion else None

    @property
    def renewal_in_progress(self) -> bool:
        return self.state in FALLING_DUE and self.items_done > 0


def course_status(session: Session, user: User, course: Course, now: datetime | None = None,
                  *, required: bool = False) -> CourseStatus | None:
    now = now or utcnow()
    version = course.published_version
    if version is None:
        return None
    completion = latest_completion(session, user, course)
    state = completion_state(completion, renewal_cutoff(session, course), now)
    states = item_states(session, user, version, now)
    done = sum(1 for s in states.values() if s == "completed")
    if state is None:
        started = any(s != "not-started" for s in states.values())
        state = ComplianceState.IN_PROGRESS if started else ComplianceState.NOT_STARTED
    return CourseStatus(course=course, version=version, state=state, completion=completion,
                        items_done=done, items_total=len(states), required=required)


def is_required(session: Session, version: CourseVersion, user: User,
                accepted: dict | None = None) -> bool:
    """Whether the course's own `required_for` names the person, where it has been accepted
    (site-wide, or in their organisation). `accepted`: requirement_acceptance.acceptances,
    when the caller asks about many courses."""
    if not (user.organisation.service in (version.required_services or [])
            and user.command_role in (version.required_roles or [])):
        return False
    accepted = requirement_acceptance.acceptances(session) if accepted is None else accepted
    where = accepted.get(version.course_id)
    return where is not None and where.covers(user.organisation_id)


@dataclass(frozen=True, slots=True)
class Training:
    required: list[CourseStatus]
    optional: list[CourseStatus]


def my_training(session: Session, user: User, now: datetime | None = None) -> Training:
    now = now or utcnow()
    required, optional = [], []
    published = session.scalars(select(Course).where(Course.published_version_id.is_not(None))
                                .order_by(Course.code))
    accepted = requirement_acceptance.acceptances(session)
    for course in published:
        needed = is_required(session, course.published_version, user, accepted)
        status = course_status(session, user, course, now, required=needed)
        (required if needed else optional).append(status)
    # Most urgent first: what has run out, then what is running out, then what is under way.
    urgency = (ComplianceState.EXPIRED, ComplianceState.EXPIRING, ComplianceState.IN_PROGRESS,
               ComplianceState.NOT_STARTED, ComplianceState.IN_DATE)
    order = {state: index for index, state in enumerate(urgency)}
    required.sort(key=lambda s: (order[s.state], s.course.code))
    return Training(required=required, optional=optional)


def next_item(version: CourseVersion, states: dict[str, str]) -> ItemOutline | None:
    """The first item not yet completed, in course order."""
    return next((item for item in learner_outline(version)
                 if states.get(item.slug) != "completed"), None)


def learner_completions(session: Session, user: User) -> list[Completion]:
    return list(session.scalars(select(Completion).where(Completion.user_id == user.id)
                                .order_by(Completion.completed_at.desc())))


# --- certificates ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verification:
    """What the public verification page says about a certificate: enough for whoever
    checks it to match it to the person showing it (their name, the course, its dates and
    whether it is in date), and never how to contact them."""

    genuine: bool
    holder: str = ""  # the holder's name; "" once their details have been anonymised
    course_title: str = ""
    course_code: str = ""
    version: int | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = None
    state: str | None = None  # in-date, expiring or expired
    renewal_due: bool = False  # expired because a newer version must be completed

    @property
    def in_date(self) -> bool:
        return self.state in (ComplianceState.IN_DATE, ComplianceState.EXPIRING)


def verify_certificate(session: Session, code: str, now: datetime | None = None) -> Verification:
    """Whether a certificate code is genuine and in date, with its holder's name, course and
    dates: never their email address or anything else about them."""
    now = now or utcnow()
    completion = session.scalar(select(Completion).where(
        Completion.certificate_code == (code or "").strip().upper()))
    if completion is None:
        return Verification(genuine=False)
    cutoff = renewal_cutoff(session, completion.course)
    state = completion_state(completion, cutoff, now)
    anonymised = session.scalar(select(Anonymisation.id).where(
        Anonymisation.user_id == completion.user_id)) is not None
    return Verification(
        genuine=True, holder="" if anonymised else completion.user.name,
        course_title=completion.version.title, course_code=completion.course.code,
        version=completion.version.number, completed_at=completion.completed_at,
        expires_at=completion.expires_at, state=state,
        renewal_due=cutoff is not None and completion.completed_at < cutoff)
