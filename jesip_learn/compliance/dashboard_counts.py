"""The counts behind the dashboard, in one SQL statement: the people of each row, course and
state as of a date, and how many were compliant at each earlier month-end."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    case,
    column,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
    values,
)
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import CommandRole, Organisation, PreviousMembership, User
from jesip_learn.compliance.person_status import exercise_column_state
from jesip_learn.compliance.report_filters import ReportFilters, end_of_day
from jesip_learn.compliance.requirements import (
    RequirementLine,
    exercise_column_id,
    exercise_lines,
    requirement_lines,
)
from jesip_learn.compliance.states import ComplianceState
from jesip_learn.core.columns import UTCDateTime
from jesip_learn.courses.models import CourseVersion
from jesip_learn.exercises.models import Exercise, ExerciseParticipant
from jesip_learn.learning.models import Completion, ItemProgress
from jesip_learn.learning.progress import add_months


def dashboard_counts(session: Session, scope: set[int] | None, filters: ReportFilters,
            days: list[date]) -> tuple[list[tuple], list[tuple[int, int]]]:
    """The people of each row (organisation or command role), course and state as of the
    filters' date, as (row key, course id, state, people); and (compliant, total) at the
    end of each of `days`, counted as the matrix would count them then.

    Each completion counts as compliant over one span: from its completion until the next
    completion of the course by the same person (which then decides), its expiry or the
    first version needing renewal published after it, whichever comes first. Each person's
    memberships (previous ones, then their current one) are spans too. A moment is then a
    test of which spans hold it, and every moment is a column of the same pass instead of a
    query of its own; the as-of date, last, also gets each person's state, and the counts
    are summed in the database, so only a few hundred rows come back whatever the number
    of people."""
    nothing = [], [(0, 0)] * len(days)
    lines = requirement_lines(session, filters.course_id) + exercise_lines(session,
                                                                          filters.course_id)
    if filters.course_ids:
        lines = [line for line in lines if line.course_id in filters.course_ids]
    required, organisation_ids = _required_table(session, scope, filters, lines)
    if required is None:
        return nothing
    # Within a few organisations only their members' memberships and completions are
    # read, through the indexes on organisation; over all of them, every row is.
    members = (sorted(organisation_ids)
               if scope is not None or filters.organisation_id is not None else None)
    moments = [literal(end_of_day(day), UTCDateTime) for day in days]
    moments.append(literal(filters.moment, UTCDateTime))
    now = len(moments) - 1
    stints = _stints(filters, moments, members)
    held = _held(filters, moments, members)
    rows = stints.join(required, and_(required.c.organisation_id == stints.c.organisation_id,
                                      required.c.command_role == stints.c.command_role))
    rows = rows.outerjoin(held, and_(held.c.user_id == stints.c.user_id,
                                     held.c.course_id == required.c.course_id))
    exercise_months = sorted({-line.course_id for line in lines if line.course_id < 0})
    attended = None
    if exercise_months:
        attended = _attended(filters, days, moments, exercise_months)
        rows = rows.outerjoin(attended, attended.c.user_id == stints.c.user_id)

    def compliant_at(k):
        ok = func.coalesce(getattr(held.c, f"ok_{k}"), 0)
        if attended is None:
            return ok
        return case(*((required.c.course_id == exercise_column_id(number),
                       func.coalesce(getattr(attended.c, f"ok_{k}_{number}"), 0))
                      for number in exercise_months), else_=ok)

    # The state as of the date, for those counted then only: whether someone who never
    # completed the course had started it is looked up in the index, person by person.
    progress = ItemProgress.__table__
    started = exists().where(progress.c.user_id == stints.c.user_id,
                             progress.c.course_id == required.c.course_id,
                             progress.c.started_at <= moments[now])
    states = [(getattr(stints.c, f"in_{now}") == 0, literal(None, String))]
    if attended is not None:
        states.append((required.c.course_id < 0, _exercise_state_then(
            attended, required.c.course_id, filters, exercise_months)))
    states.append((held.c.state.is_(None),
                   case((started, literal(ComplianceState.IN_PROGRESS.value)),
                        else_=literal(ComplianceState.NOT_STARTED.value))))
    state = case(*states, else_=held.c.state).label("state")
    group = (stints.c.organisation_id if filters.group_by == "organisation"
             else stints.c.command_role).label("group_key")
    columns = [group, required.c.course_id, state,
               func.sum(getattr(stints.c, f"in_{now}")).label("people")]
    for k in range(now):
        inside = getattr(stints.c, f"in_{k}")
        columns += [func.sum(case((and_(inside == 1, compliant_at(k) == 1), 1), else_=0)),
                    func.sum(inside)]
    result = session.execute(select(*columns).select_from(rows)
                             .group_by(group, required.c.course_id, state)).all()
    counted = [(key, course_id, state_, int(people)) for key, course_id, state_, people, *_
               in result if state_ is not None]
    earlier = [(sum(int(row[4 + 2 * k] or 0) for row in result),
                sum(int(row[5 + 2 * k] or 0) for row in result)) for k in range(now)]
    return counted, earlier


def _required_table(session: Session, scope: set[int] | None, filters: ReportFilters,
                    lines: list[RequirementLine]):
    """Which (organisation, command role) must hold which course, within scope and
    filters, worked out here from the requirement lines: a table of a few thousand rows at
    most, which the database then knows the size of (from a join of the lines it would
    guess one row and plan for it), and the organisations it names. None when nobody is
    required to hold anything."""
    if not lines:
        return None, set()
    organisations = select(Organisation.id, Organisation.service)
    if scope is not None:
        organisations = organisations.where(Organisation.id.in_(sorted(scope)) if scope
                                            else literal(False))
    if filters.organisation_id is not None:
        organisations = organisations.where(Organisation.id == filters.organisation_id)
    if filters.service:
        organisations = organisations.where(Organisation.service == filters.service)
    roles = [filters.command_role] if filters.command_role else [str(r) for r in CommandRole]
    rows = sorted({(organisation_id, role, line.course_id)
                   for organisation_id, service in session.execute(organisations)
                   for role in roles for line in lines
                   if line.service in (None, service)
                   and line.organisation_id in (None, organisation_id)
                   and line.command_role in (None, role)})
    if not rows:
        return None, set()
    table = values(column("organisation_id", Integer), column("command_role", String),
                   column("course_id", Integer), name="required",
                   literal_binds=True).data(rows).cte("required")
    return table, {organisation_id for organisation_id, _, _ in rows}


def _stints(filters: ReportFilters, moments: list, members: list[int] | None):
    """Each membership of each approved person (of the organisations `members`, when
    given), with in_k 1 when it held at moment k. A previous one holds from its start
    until its end; the current one from joining, at the moments no previous one holds.
    Either only while the account is open."""
    users, previous = User.__table__, PreviousMembership.__table__
    moved = (
        select(previous.c.user_id,
               *(func.max(case((and_(previous.c.started_at <= moment,
                                     previous.c.ended_at > moment), 1), else_=0))
                 .label(f"held_{k}") for k, moment in enumerate(moments)))
        .group_by(previous.c.user_id)
    ).subquery("moved")

    def open_at(moment):
        return or_(users.c.is_active.is_(True), users.c.deactivated_at > moment)

    people_where = [users.c.approved_at.is_not(None)]
    if filters.user_id is not None:
        people_where.append(users.c.id == filters.user_id)
    current = (
        select(users.c.id.label("user_id"), users.c.organisation_id, users.c.command_role,
               *(case((and_(users.c.joined_at <= moment,
                            func.coalesce(getattr(moved.c, f"held_{k}"), 0) == 0,
                            open_at(moment)), 1), else_=0).label(f"in_{k}")
                 for k, moment in enumerate(moments)))
        .select_from(users.outerjoin(moved, moved.c.user_id == users.c.id))
        .where(*people_where)
    )
    earlier = (
        select(previous.c.user_id, previous.c.organisation_id,
               func.coalesce(previous.c.command_role, users.c.command_role),
               *(case((and_(previous.c.started_at <= moment, previous.c.ended_at > moment,
                            open_at(moment)), 1), else_=0).label(f"in_{k}")
                 for k, moment in enumerate(moments)))
        .select_from(previous.join(users, users.c.id == previous.c.user_id))
        .where(*people_where)
    )
    if members is not None:
        current = current.where(users.c.organisation_id.in_(members))
        earlier = earlier.where(previous.c.organisation_id.in_(members))
    return union_all(current, earlier).subquery("stints")


def _held(filters: ReportFilters, moments: list, members: list[int] | None):
    """Per person and course they completed: ok_k 1 when their latest completion by moment
    k was in date then (every moment but the last), and `state`, the state their latest
    completion puts them in at the last moment (the as-of date)."""
    completions, versions = Completion.__table__, CourseVersion.__table__
    now = len(moments) - 1
    spans = (
        select(completions.c.user_id, completions.c.course_id, completions.c.completed_at,
               completions.c.expires_at,
               func.lead(completions.c.completed_at).over(
                   partition_by=(completions.c.user_id, completions.c.course_id),
                   order_by=(completions.c.completed_at, completions.c.id)).label("next_at"))
        .where(completions.c.completed_at <= moments[now])
    )
    if filters.course_id is not None:
        spans = spans.where(completions.c.course_id == filters.course_id)
    if members is not None:
        users, previous = User.__table__, PreviousMembership.__table__
        spans = spans.where(completions.c.user_id.in_(
            select(users.c.id).where(users.c.organisation_id.in_(members))
            .union(select(previous.c.user_id)
                   .where(previous.c.organisation_id.in_(members)))))
    spans = spans.subquery("spans")
    cutoffs = (
        select(versions.c.course_id,
               *(func.max(case((versions.c.published_at <= moment, versions.c.published_at)))
                 .label(f"cutoff_{k}") for k, moment in enumerate(moments)))
        .where(versions.c.needs_renewal.is_(True))
        .group_by(versions.c.course_id)
    ).subquery("cutoffs")

    def holds(k, moment):
        cutoff = getattr(cutoffs.c, f"cutoff_{k}")
        return and_(spans.c.completed_at <= moment,
                    or_(spans.c.next_at.is_(None), spans.c.next_at > moment),
                    or_(spans.c.expires_at.is_(None), spans.c.expires_at > moment),
                    or_(cutoff.is_(None), cutoff <= spans.c.completed_at))

    # Every span starts by the last moment, so the latest completion then is the one with
    # no next: only one per person and course, which `max` picks out.
    window_end = literal(filters.moment + timedelta(days=filters.expiring_days), UTCDateTime)
    state_then = case(
        (getattr(cutoffs.c, f"cutoff_{now}") > spans.c.completed_at,
         literal(ComplianceState.EXPIRED.value)),
        (spans.c.expires_at.is_(None), literal(ComplianceState.IN_DATE.value)),
        (spans.c.expires_at <= moments[now], literal(ComplianceState.EXPIRED.value)),
        (spans.c.expires_at <= window_end, literal(ComplianceState.EXPIRING.value)),
        else_=literal(ComplianceState.IN_DATE.value))
    return (
        select(spans.c.user_id, spans.c.course_id,
               *(func.max(case((holds(k, moment), 1), else_=0)).label(f"ok_{k}")
                 for k, moment in enumerate(moments[:now])),
               func.max(case((spans.c.next_at.is_(None), state_then))).label("state"))
        .select_from(spans.outerjoin(cutoffs, cutoffs.c.course_id == spans.c.course_id))
        .group_by(spans.c.user_id, spans.c.course_id)
    ).subquery("held")


def _attended(filters: ReportFilters, days: list[date], moments: list,
              exercise_months: list[int]):
    """Per person who took part in an exercise: for each moment but the last and each
    period of exercise a rule requires, ok_k_months 1 when their latest exercise attended
    (confirmed by the moment) was held within the period; and as of the filters' date, the
    day of the latest exercise attended (`held_on`) and whether one awaits confirmation
    (`waiting`)."""
    participants, exercises = ExerciseParticipant.__table__, Exercise.__table__
    moment, as_of = moments[-1], literal(filters.as_of, Date)
    columns = []
    for k, (day, moment_k) in enumerate(zip(days, moments[:-1], strict=True)):
        for number in exercise_months:
            within = and_(participants.c.confirmed_at <= moment_k,
                          exercises.c.held_on <= literal(day, Date),
                          exercises.c.held_on > literal(add_months(day, -number), Date))
            columns.append(func.max(case((within, 1), else_=0)).label(f"ok_{k}_{number}"))
    confirmed = and_(participants.c.confirmed_at <= moment, exercises.c.held_on <= as_of)
    waiting = and_(or_(participants.c.confirmed_at.is_(None),
                       participants.c.confirmed_at > moment), exercises.c.held_on <= as_of)
    columns += [func.max(case((confirmed, exercises.c.held_on))).label("held_on"),
                func.max(case((waiting, 1), else_=0)).label("waiting")]
    return (
        select(participants.c.user_id, *columns)
        .select_from(participants.join(exercises, exercises.c.id == participants.c.exercise_id))
        .group_by(participants.c.user_id)
    ).subquery("attended")


def _exercise_state_then(attended, course_id, filters: ReportFilters,
                         exercise_months: list[int]):
    """An exercise column's state as of the filters' date, from the attendance counted per
    person (`person_status.exercise_column_state`)."""
    return exercise_column_state(attended.c.held_on, attended.c.waiting == 1, course_id, filters,
                          exercise_months)
