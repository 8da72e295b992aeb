"""Where each person stood on each required course on a date: the status select that every
report reads, the people behind a number, one person's record and when training falls due.

For each person and required course, the status "as of" a date is one of:

- in-date: their latest completion by that date is in date, and not within the window;
- expiring: in date, but it runs out within the window (90 days unless configured);
- expired: it ran out, or a later version that needs renewal was published after it;
- in-progress: never completed by that date, but started;
- not-started: never completed and never started by that date.

A rule may also require a multi-agency exercise within some months (36 for commanders, say).
Each such period is a column beside the courses, under a negative id (minus the months) that
no course has. It is in date when the person's latest exercise with attendance confirmed by
that date was held after the date that many months earlier (expiring when that runs out
within the window); an attendance not yet confirmed shows the exercise as in progress.

In date and expiring count as compliant. Requirements are today's rules; "as of" turns back
what people had done, who belonged to an organisation, and which organisation each person
belonged to then (a person who moved counts in their old organisation before the move, and in
the new one, with all their training, from the moment of the move), not the rules. A person
belongs from when they joined (`User.joined_at`, which an import of their history may set
before their account existed) until they left (`User.deactivated_at`).

Everything is computed by one SQL statement per question, so that a report over a hundred
thousand people costs what the hand-written query costs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import Organisation, PreviousMembership, User
from jesip_learn.compliance.report_filters import LONDON, ReportFilters
from jesip_learn.compliance.requirements import (
    RequirementLine,
    exercise_column,
    exercise_column_id,
    exercise_lines,
    requirement_lines,
)
from jesip_learn.compliance.states import STATE_LABELS, ComplianceState
from jesip_learn.core.columns import UTCDateTime
from jesip_learn.core.numbers import whole_number
from jesip_learn.courses.models import Course, CourseVersion
from jesip_learn.exercises.models import Exercise, ExerciseParticipant
from jesip_learn.learning.models import Completion, ItemProgress
from jesip_learn.learning.progress import add_months


def status_select(session: Session, scope: set[int] | None, filters: ReportFilters):
    """One row per person and required course within scope and filters: user_id,
    organisation_id, command_role, service, course_id, state, completed_at, expires_at,
    source, renewal_published_at (the latest version that needs renewal), and, when a rule
    requires an exercise, exercise_held_on (the latest attended, on exercise rows). None
    when nothing is required at all."""
    lines = requirement_lines(session, filters.course_id) + exercise_lines(session,
                                                                          filters.course_id)
    if filters.course_ids:
        lines = [line for line in lines if line.course_id in filters.course_ids]
    if not lines:
        return None
    moment = filters.moment
    requirement = _requirement_cte(lines)

    users, organisations = User.__table__, Organisation.__table__
    # Where each person was at the moment: the previous membership that covered it, if any
    # (only people who have moved have one), else their current organisation and role.
    then = PreviousMembership.__table__.alias("then")
    then_organisation = func.coalesce(then.c.organisation_id, users.c.organisation_id)
    then_role = func.coalesce(then.c.command_role, users.c.command_role)
    people = (
        select(users.c.id.label("user_id"), then_organisation.label("organisation_id"),
               then_role.label("command_role"), organisations.c.service,
               requirement.c.course_id)
        .distinct()
        .select_from(users.outerjoin(then, and_(then.c.user_id == users.c.id,
                                                then.c.ended_at > moment,
                                                then.c.started_at <= moment))
                     .join(organisations, organisations.c.id == then_organisation)
                     .join(requirement, and_(
                         or_(requirement.c.service.is_(None),
                             requirement.c.service == organisations.c.service),
                         or_(requirement.c.organisation_id.is_(None),
                             requirement.c.organisation_id == then_organisation),
                         or_(requirement.c.command_role.is_(None),
                             requirement.c.command_role == then_role))))
        .where(*_people_conditions(users, organisations, then, then_organisation, then_role,
                                   scope, filters))
    ).cte("people")

    completions = Completion.__table__
    ranked = (
        select(completions.c.user_id, completions.c.course_id, completions.c.completed_at,
               completions.c.expires_at, completions.c.source,
               func.row_number().over(
                   partition_by=(completions.c.user_id, completions.c.course_id),
                   order_by=(completions.c.completed_at.desc(), completions.c.id.desc()),
               ).label("rank"))
        # No filter on the people here: both databases then misjudge the row counts and
        # pick nested loops that take minutes at a hundred thousand learners.
        .where(completions.c.completed_at <= moment)
    ).subquery("ranked")
    latest = select(ranked).where(ranked.c.rank == 1).subquery("latest")

    versions = CourseVersion.__table__
    cutoff = (
        select(versions.c.course_id, func.max(versions.c.published_at).label("cutoff"))
        .where(versions.c.needs_renewal.is_(True), versions.c.published_at <= moment)
        .group_by(versions.c.course_id)
    ).subquery("cutoff")

    progress = ItemProgress.__table__
    started = exists().where(progress.c.user_id == people.c.user_id,
                             progress.c.course_id == people.c.course_id,
                             progress.c.started_at <= moment)
    at_moment = literal(moment, UTCDateTime)
    window_end = literal(moment + timedelta(days=filters.expiring_days), UTCDateTime)
    course_states = (
        (latest.c.completed_at.is_(None),
         case((started, literal(ComplianceState.IN_PROGRESS.value)),
              else_=literal(ComplianceState.NOT_STARTED.value))),
        (cutoff.c.cutoff > latest.c.completed_at, literal(ComplianceState.EXPIRED.value)),
        (latest.c.expires_at.is_(None), literal(ComplianceState.IN_DATE.value)),
        (latest.c.expires_at <= at_moment, literal(ComplianceState.EXPIRED.value)),
        (latest.c.expires_at <= window_end, literal(ComplianceState.EXPIRING.value)),
    )
    joined = (people
              .outerjoin(latest, and_(latest.c.user_id == people.c.user_id,
                                      latest.c.course_id == people.c.course_id))
              .outerjoin(cutoff, cutoff.c.course_id == people.c.course_id))
    months = sorted({-line.course_id for line in lines if line.course_id < 0})
    held_on = []
    if months:
        # Only when some rule requires an exercise, so course reports keep their plan.
        exercise_state, held, attended = _exercise_state(people, filters, months)
        joined = joined.outerjoin(attended, attended.c.user_id == people.c.user_id)
        held_on = [held.label("exercise_held_on")]
        course_states = ((people.c.course_id < 0, exercise_state), *course_states)
    state = case(*course_states, else_=literal(ComplianceState.IN_DATE.value)).label("state")
    statuses = (
        select(people.c.user_id, people.c.organisation_id, people.c.command_role,
               people.c.service, people.c.course_id, state,
               latest.c.completed_at, latest.c.expires_at, latest.c.source,
               cutoff.c.cutoff.label("renewal_published_at"), *held_on)
        .select_from(joined)
    )
    return statuses


def _requirement_cte(lines: list[RequirementLine]):
    # Typed casts: PostgreSQL cannot tell a column of bare NULLs from text.
    return union_all(*(
        select(cast(literal(line.course_id), Integer).label("course_id"),
               cast(literal(line.service), String).label("service"),
               cast(literal(line.organisation_id), Integer).label("organisation_id"),
               cast(literal(line.command_role), String).label("command_role"))
        for line in lines)).cte("requirement")


def _exercise_state(people, filters: ReportFilters, months: list[int]):
    """The state of each person's exercise columns, the date of their latest exercise with
    attendance confirmed by the moment, and the subquery that finds it."""
    moment, as_of = filters.moment, filters.as_of
    participants, exercises = ExerciseParticipant.__table__, Exercise.__table__
    taken_part = participants.join(exercises, exercises.c.id == participants.c.exercise_id)
    attended = (
        select(participants.c.user_id, func.max(exercises.c.held_on).label("held_on"))
        .select_from(taken_part)
        .where(participants.c.confirmed_at <= moment, exercises.c.held_on <= as_of)
        .group_by(participants.c.user_id)
    ).subquery("attended")
    waiting = (select(literal(1)).select_from(taken_part)
               .where(participants.c.user_id == people.c.user_id,
                      or_(participants.c.confirmed_at.is_(None),
                          participants.c.confirmed_at > moment),
                      exercises.c.held_on <= as_of)
               .exists())
    state = exercise_column_state(attended.c.held_on, waiting, people.c.course_id, filters, months)
    held_on = case((people.c.course_id < 0, attended.c.held_on))
    return state, held_on, attended


def _people_conditions(users, organisations, then, then_organisation, then_role, scope,
                       filters: ReportFilters) -> list:
    moment = filters.moment
    conditions = [
        users.c.approved_at.is_not(None),
        # A member of some organisation then: of a previous one, or of their current one
        # since they joined it (which an import may have set before their account existed).
        or_(then.c.id.is_not(None), users.c.joined_at <= moment),
        or_(users.c.is_active.is_(True), users.c.deactivated_at > moment),
    ]
    if scope is not None:
        conditions.append(then_organisation.in_(sorted(scope)) if scope else literal(False))
    if filters.organisation_id is not None:
        conditions.append(then_organisation == filters.organisation_id)
    if filters.service:
        conditions.append(organisations.c.service == filters.service)
    if filters.command_role:
        conditions.append(then_role == filters.command_role)
    if filters.user_id is not None:
        conditions.append(users.c.id == filters.user_id)
    return conditions


# --- the people behind a number ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LearnerStatus:
    user_id: int
    name: str
    email: str
    organisation: str
    service: str
    command_role: str
    course_code: str
    course_title: str
    state: str
    completed_at: datetime | None
    expires_at: datetime | None
    source: str

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


def _detail_select(session: Session, scope, filters: ReportFilters, group_key: str | None):
    statuses = status_select(session, scope, filters)
    if statuses is None:
        return None
    statuses = statuses.subquery("statuses")
    users, organisations = User.__table__, Organisation.__table__
    courses, versions = Course.__table__, CourseVersion.__table__
    joined = (statuses.join(users, users.c.id == statuses.c.user_id)
              .join(organisations, organisations.c.id == statuses.c.organisation_id))
    code, title = courses.c.code, versions.c.title
    exercise_columns = [exercise_column(-line.course_id)
                        for line in exercise_lines(session, filters.course_id)]
    if exercise_columns:
        # Exercise columns have no course: their code and title are written out here.
        joined = (joined.outerjoin(courses, courses.c.id == statuses.c.course_id)
                  .outerjoin(versions, versions.c.id == courses.c.published_version_id))
        code = case(*((statuses.c.course_id == column.id, literal(column.code))
                      for column in exercise_columns), else_=courses.c.code)
        title = case(*((statuses.c.course_id == column.id, literal(column.title))
                       for column in exercise_columns), else_=versions.c.title)
    else:
        joined = (joined.join(courses, courses.c.id == statuses.c.course_id)
                  .join(versions, versions.c.id == courses.c.published_version_id))
    query = (
        select(users.c.id, users.c.name, users.c.email, organisations.c.name,
               organisations.c.service, statuses.c.command_role, code, title,
               statuses.c.state, statuses.c.completed_at, statuses.c.expires_at,
               statuses.c.source, statuses.c.course_id,
               statuses.c.exercise_held_on if exercise_columns else cast(literal(None), Date))
        .select_from(joined)
    )
    if filters.states:
        query = query.where(statuses.c.state.in_(filters.states))
    if group_key is not None:
        if filters.group_by == "organisation":
            organisation_id = whole_number(group_key)
            query = query.where(statuses.c.organisation_id == organisation_id
                                if organisation_id is not None else literal(False))
        else:
            query = query.where(statuses.c.command_role == group_key)
    return query.order_by(organisations.c.name, users.c.name, users.c.id, code)


def _learner_status(row) -> LearnerStatus:
    """A row of the detail select. An exercise column's "completed" is the day of the
    latest exercise attended (noon, London time) and "expires" that day the column's months
    later."""
    *fields, course_id, held_on = row
    status = LearnerStatus(*fields)
    if course_id < 0 and held_on is not None:
        held = datetime.combine(held_on, time(12), tzinfo=LONDON)
        status = replace(status, completed_at=held, expires_at=add_months(held, -course_id),
                         source="Multi-agency exercise")
    return status


@dataclass(frozen=True, slots=True)
class LearnerPage:
    rows: list[LearnerStatus]
    total: int
    page: int
    pages: int


def learner_statuses(session: Session, scope: set[int] | None, filters: ReportFilters, *,
                     group_key: str | None = None, page: int = 1,
                     per_page: int = 50) -> LearnerPage:
    """The people behind a number in the matrix, a page at a time."""
    query = _detail_select(session, scope, filters, group_key)
    if query is None:
        return LearnerPage([], 0, 1, 1)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page))
    return LearnerPage([_learner_status(row) for row in rows], total, page, pages)


def iter_learner_statuses(session: Session, scope: set[int] | None, filters: ReportFilters,
                          *, group_key: str | None = None,
                          batch: int = 2000) -> Iterator[LearnerStatus]:
    """Every row of the detail report, fetched in batches so memory stays flat."""
    query = _detail_select(session, scope, filters, group_key)
    if query is None:
        return
    result = session.execute(query.execution_options(yield_per=batch))
    for row in result:
        yield _learner_status(row)


def person_statuses(session: Session, person: User, filters: ReportFilters) -> list[LearnerStatus]:
    """One person's required courses and where they stood, for their record page: as of a
    date before a move, in the organisation they belonged to then. The caller has checked
    that the viewer may see the person."""
    only_them = replace(filters, service=None, organisation_id=None, command_role=None,
                        course_id=None, state=None, user_id=person.id)
    query = _detail_select(session, None, only_them, None)
    if query is None:
        return []
    return [_learner_status(row) for row in session.execute(query)]


# --- when each person's training falls due -----------------------------------------------


@dataclass(frozen=True, slots=True)
class DueDate:
    """When one person's required course runs out, or ran out: the expiry of their latest
    completion, or the publication of a version that needs renewal when that came after the
    completion and before the expiry. None for training never completed (nothing to renew)
    and for a completion that never expires."""

    user_id: int
    organisation_id: int
    course_id: int
    state: str
    completed_at: datetime | None
    due_at: datetime | None


def due_dates(session: Session, scope: set[int] | None,
              filters: ReportFilters) -> Iterator[DueDate]:
    """Every person and required course within scope and filters, with its due date, in
    batches so memory stays flat (notifications and managers' digests read them all)."""
    statuses = status_select(session, scope, filters)
    if statuses is None:
        return
    statuses = statuses.subquery("statuses")
    # Exercise columns (negative ids) run out the column's months after the latest exercise
    # attended; the column exists only when some rule requires an exercise.
    held = (statuses.c.exercise_held_on if "exercise_held_on" in statuses.c
            else cast(literal(None), Date))
    query = select(statuses.c.user_id, statuses.c.organisation_id, statuses.c.course_id,
                   statuses.c.state, statuses.c.completed_at, statuses.c.expires_at,
                   statuses.c.renewal_published_at, held).order_by(statuses.c.user_id,
                                                                   statuses.c.course_id)
    for (user_id, organisation_id, course_id, state, completed_at, expires_at,
         renewal, held_on) in session.execute(query.execution_options(yield_per=2000)):
        if course_id < 0:
            completed_at = (datetime.combine(held_on, time(12), tzinfo=LONDON)
                            if held_on is not None else None)
            yield DueDate(user_id, organisation_id, course_id, state, completed_at,
                          add_months(completed_at, -course_id) if completed_at else None)
            continue
        due_at = expires_at
        if completed_at is not None and renewal is not None and renewal > completed_at:
            due_at = renewal if expires_at is None else min(expires_at, renewal)
        yield DueDate(user_id, organisation_id, course_id, state, completed_at,
                      due_at if completed_at is not None else None)


def exercise_column_state(held_on, waiting, course_id, filters: ReportFilters, months,
                          value_of=lambda state: literal(state.value)):
    """An exercise column's state as of the filters' date, as SQL: not taken part (in
    progress while attendance waits to be confirmed), expired or expiring by the column's
    period (`course_id` names it), else in date. The detail rows and the dashboard's counts
    both use it, the counts with the states as numbers (`value_of`)."""
    as_of = filters.as_of
    expiring_from = as_of + timedelta(days=filters.expiring_days)
    return case(
        (held_on.is_(None),
         case((waiting, value_of(ComplianceState.IN_PROGRESS)),
              else_=value_of(ComplianceState.NOT_STARTED))),
        *((and_(course_id == exercise_column_id(number),
                held_on <= literal(add_months(as_of, -number), Date)),
           value_of(ComplianceState.EXPIRED)) for number in months),
        *((and_(course_id == exercise_column_id(number),
                held_on <= literal(add_months(expiring_from, -number), Date)),
           value_of(ComplianceState.EXPIRING)) for number in months),
        else_=value_of(ComplianceState.IN_DATE),
    )
