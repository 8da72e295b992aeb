"""Bulk import of course completions recorded by other systems: each row (email, course
code, completion date) planned against the completions already recorded from the same
source, then applied as completions in date until the course's validity runs out, with
the person's membership moved back when the completion predates it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from jesip_learn.accounts.models import User
from jesip_learn.courses.models import Course
from jesip_learn.imports import dates as import_dates
from jesip_learn.imports.csv_files import Row
from jesip_learn.imports.models import ImportBatch
from jesip_learn.imports.plan import CHUNK, ImportPlan, Outcome, RowPlan, read_email, users_by_email
from jesip_learn.learning.models import Completion
from jesip_learn.learning.progress import add_months
from jesip_learn.records.audit import record_event

EARLIEST_COMPLETION = date(2000, 1, 1)
COMPLETION_TIME = time(12, 0)  # a completion known only by its date is recorded at noon UTC


def parse_completion_date(text: str, today: date) -> date:
    """A date written YYYY-MM-DD or DD/MM/YYYY, from 1 January 2000 to today."""
    return import_dates.read_day(text, today, "completion date", EARLIEST_COMPLETION)


def _long(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def completion_moment(day: date) -> datetime:
    return datetime.combine(day, COMPLETION_TIME, tzinfo=UTC)


def plan_rows(session: Session, rows: tuple[Row, ...], scope: set[int] | None,
              source: str, lock: bool, today: date) -> list[RowPlan]:
    plans = [RowPlan(row.line, row.values) for row in rows]
    for plan in plans:
        read_email(plan)
    people = users_by_email(session, {p.email for p in plans if p.email}, lock)
    courses = {course.code.casefold(): course for course in session.scalars(
        select(Course).options(selectinload(Course.published_version)))}
    recorded = _recorded_completions(session, {u.id for u in people.values()}, source)
    first_line: dict[tuple, int] = {}
    for plan in plans:
        if plan.email:
            plan.user = people.get(plan.email)
            if plan.user is None:
                plan.errors.append(f"There is no account with the email address {plan.email}")
            elif scope is not None and plan.user.organisation_id not in scope:
                plan.errors.append(f"{plan.email} belongs to someone in an organisation you do "
                                   "not manage")
        code = plan.values["course_code"]
        if not code:
            plan.errors.append("Course code is missing")
        else:
            plan.course = courses.get(code.casefold())
            if plan.course is None:
                plan.errors.append(f"There is no course with the code “{code}”")
        if not plan.values["completion_date"]:
            plan.errors.append("Completion date is missing")
        else:
            try:
                plan.completed_on = parse_completion_date(plan.values["completion_date"], today)
            except ValueError as error:
                plan.errors.append(str(error))
        if plan.errors:
            continue
        key = (plan.user.id, plan.course.id, plan.completed_on)
        if key in first_line:
            plan.errors.append(f"This row repeats line {first_line[key]}")
            continue
        first_line[key] = plan.line
        if key in recorded:
            plan.outcome = Outcome.RECORDED
        else:
            plan.outcome = Outcome.CREATE
            expires = _expiry(plan.course, plan.completed_on)
            plan.changes = [f"In date until {_long(expires.date())}" if expires
                            else "Does not expire"]
    import_dates.plan_backdating(session, [p for p in plans if p.outcome == Outcome.CREATE])
    return plans


def _expiry(course: Course, day: date) -> datetime | None:
    version = course.published_version
    if version is None or not version.validity_months:
        return None
    return add_months(completion_moment(day), version.validity_months)


def _recorded_completions(session: Session, user_ids: set[int], source: str) -> set[tuple]:
    """(user, course, date) of the completions already recorded from this source."""
    found, ordered = set(), sorted(user_ids)
    for start in range(0, len(ordered), CHUNK):
        for user_id, course_id, completed_at in session.execute(
            select(Completion.user_id, Completion.course_id, Completion.completed_at).where(
                Completion.user_id.in_(ordered[start:start + CHUNK]),
                func.lower(Completion.source) == source.lower())):
            found.add((user_id, course_id, completed_at.astimezone(UTC).date()))
    return found


def apply_rows(session: Session, plan: ImportPlan, importer: User, batch: ImportBatch,
               address: str) -> None:
    for row in plan.rows:
        if row.outcome != Outcome.CREATE:
            continue
        completed_at = completion_moment(row.completed_on)
        session.add(Completion(user_id=row.user.id, course_id=row.course.id, version_id=None,
                               completed_at=completed_at,
                               expires_at=_expiry(row.course, row.completed_on),
                               certificate_code=None, source=batch.source,
                               recorded_by_id=importer.id))
        record_event(session, "completion.imported", actor=importer, subject=row.user,
                     address=address,
                     summary=f"{row.course.code} completed on {_long(row.completed_on)}, "
                             f"recorded by {batch.source}",
                     details={"code": row.course.code, "date": row.completed_on.isoformat(),
                              "source": batch.source, "batch": batch.id})
        if row.counts_from is not None:
            import_dates.apply_backdating(session, row, importer, batch, address)
    session.flush()
