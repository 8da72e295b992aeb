"""Training compliance: which courses each person must hold, and where they stood on a date.

A course is required of a person by its own front matter (`required_for`: services and
command roles) where an administrator (site-wide) or a manager (for their organisation)
accepted it (see requirement_acceptance), or by a rule a manager or administrator adds
(service, organisation, command role → course). For each person and required course the
status "as of" a date is one of:

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
thousand people costs what the hand-written query costs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    case,
    cast,
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

from jesip_learn.accounts.models import (
    COMMAND_ROLE_LABELS,
    SERVICE_LABELS,
    CommandRole,
    Organisation,
    PreviousMembership,
    Service,
    User,
)
from jesip_learn.accounts.permissions import managed_organisation_ids
from jesip_learn.compliance import acceptance as requirement_acceptance
from jesip_learn.compliance.models import Requirement
from jesip_learn.compliance.states import (
    COMPLIANT_STATES,
    STATE_FILTER_LABELS,
    STATE_GROUPS,
    STATE_LABELS,
    STATES,
    ComplianceState,
)
from jesip_learn.core.columns import UTCDateTime
from jesip_learn.core.numbers import whole_number
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.courses.models import Course, CourseVersion
from jesip_learn.exercises.models import Exercise, ExerciseParticipant, ExerciseRequirement
from jesip_learn.learning.models import Completion, ItemProgress
from jesip_learn.learning.progress import add_months
from jesip_learn.records.audit import record_event

LONDON = ZoneInfo("Europe/London")
DEFAULT_EXPIRING_DAYS = 90

GROUPINGS = {"organisation": "Organisation", "command-role": "Command role"}


def end_of_day(day: date) -> datetime:
    """The last moment of a day in the UK, in UTC: "as of 31 March" includes all of it."""
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON)
    return (next_midnight - timedelta(microseconds=1)).astimezone(UTC)


def start_of_day(day: date) -> datetime:
    """The first moment of a day in the UK, in UTC: someone who joined on 1 April counts in
    a report as of 1 April."""
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


def today_in_london(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(LONDON).date()


@dataclass(frozen=True, slots=True)
class ReportFilters:
    """What a report covers. Empty fields mean "all"."""

    as_of: date
    service: str | None = None
    organisation_id: int | None = None
    command_role: str | None = None
    course_id: int | None = None
    # The columns a manager chose to see (empty: every required course); the totals and
    # the figures over time count these courses only.
    course_ids: tuple[int, ...] = ()
    state: str | None = None  # a state or a group in STATE_GROUPS
    group_by: str = "organisation"
    expiring_days: int = DEFAULT_EXPIRING_DAYS
    user_id: int | None = None  # one person's record

    @property
    def moment(self) -> datetime:
        return end_of_day(self.as_of)

    @property
    def states(self) -> tuple[str, ...]:
        if not self.state:
            return ()
        return STATE_GROUPS.get(self.state, (self.state,))

    def check(self) -> ReportFilters:
        """The same filters, or ValueError naming the first one that is not a choice."""
        if self.service and self.service not in set(Service):
            raise ValueError("service")
        if self.command_role and self.command_role not in set(CommandRole):
            raise ValueError("command_role")
        if self.state and self.state not in STATE_FILTER_LABELS:
            raise ValueError("state")
        if self.group_by not in GROUPINGS:
            raise ValueError("group_by")
        if not 1 <= self.expiring_days <= 366:
            raise ValueError("expiring_days")
        return self


# --- requirements ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequirementLine:
    """One way a course is required: by the course itself (rule None) or by a rule."""

    course_id: int
    service: str | None
    organisation_id: int | None
    command_role: str | None
    rule: Requirement | None = None


def requirement_lines(session: Session, course_id: int | None = None) -> list[RequirementLine]:
    """Every requirement of every published course: its own `required_for`, then rules."""
    courses = select(Course).where(Course.published_version_id.is_not(None))
    if course_id is not None:
        courses = courses.where(Course.id == course_id)
    lines = []
    # A course's own required_for counts only where it was accepted: site-wide, or in the
    # organisations whose managers accepted it (see requirement_acceptance).
    accepted = requirement_acceptance.acceptances(session)
    for course in session.scalars(courses.order_by(Course.code)):
        version = course.published_version
        where = accepted.get(course.id)
        if where is None:
            continue
        organisation_ids = [None] if where.site else sorted(where.organisation_ids)
        for organisation_id in organisation_ids:
            for service in version.required_services or []:
                for role in version.required_roles or []:
                    lines.append(RequirementLine(course.id, service, organisation_id, role))
    rules = select(Requirement).join(Course, Course.id == Requirement.course_id).where(
        Course.published_version_id.is_not(None)).order_by(Requirement.id)
    if course_id is not None:
        rules = rules.where(Requirement.course_id == course_id)
    for rule in session.scalars(rules):
        lines.append(RequirementLine(rule.course_id, rule.service, rule.organisation_id,
                                     rule.command_role, rule))
    return lines


def required_courses(session: Session) -> list[Course]:
    """The published courses that at least one requirement names, in code order."""
    ids = {line.course_id for line in requirement_lines(session)}
    if not ids:
        return []
    return list(session.scalars(select(Course).where(Course.id.in_(ids)).order_by(Course.code)))


EXERCISE_CODE = "EXERCISE"


def exercise_column_id(months: int) -> int:
    return -months


def exercise_lines(session: Session, course_id: int | None = None) -> list[RequirementLine]:
    """The rules that require an exercise, as requirement lines of their column's id."""
    if course_id is not None and course_id >= 0:
        return []
    query = select(ExerciseRequirement).order_by(ExerciseRequirement.id)
    if course_id is not None:
        query = query.where(ExerciseRequirement.months == -course_id)
    return [RequirementLine(exercise_column_id(rule.months), rule.service,
                            rule.organisation_id, rule.command_role)
            for rule in session.scalars(query)]


def required_columns(session: Session) -> list[CourseColumn]:
    """The columns of every report: the required courses in code order, then one for each
    period of exercise some rule requires, shortest first."""
    columns = [CourseColumn(course.id, course.code, course.title)
               for course in required_courses(session)]
    months = sorted({-line.course_id for line in exercise_lines(session)})
    return columns + [exercise_column(number) for number in months]


def exercise_column(months: int) -> CourseColumn:
    return CourseColumn(exercise_column_id(months), f"{EXERCISE_CODE}-{months}",
                        f"Multi-agency exercise ({months} months)")


class RuleError(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


def rules_in_scope(session: Session, viewer: User) -> list[Requirement]:
    """The rules a viewer may see: all for an administrator, their organisations' for a
    manager (service-wide rules too, since they apply to their people)."""
    scope = managed_organisation_ids(session, viewer)
    query = select(Requirement).order_by(Requirement.created_at.desc(), Requirement.id.desc())
    if scope is not None:
        query = query.where(or_(Requirement.organisation_id.is_(None),
                                Requirement.organisation_id.in_(scope)))
    return list(session.scalars(query))


def add_rule(session: Session, actor: User, *, course_id: int | None, service: str | None,
             organisation_id: int | None, command_role: str | None) -> Requirement:
    """A new rule. Managers may add rules only for an organisation they manage."""
    course = session.get(Course, course_id) if course_id else None
    if course is None or course.published_version_id is None:
        raise RuleError("course_id", "Select a published course")
    organisation = check_rule_scope(session, actor, service=service,
                                    organisation_id=organisation_id, command_role=command_role)
    duplicate = session.scalar(select(Requirement).where(
        Requirement.course_id == course.id,
        _same(Requirement.service, service or None),
        _same(Requirement.organisation_id, organisation.id if organisation else None),
        _same(Requirement.command_role, command_role or None)))
    if duplicate is not None:
        raise RuleError("course_id", "This rule already exists")
    rule = Requirement(course_id=course.id, service=service or None,
                       organisation_id=organisation.id if organisation else None,
                       command_role=command_role or None, created_by_id=actor.id)
    session.add(rule)
    session.flush()
    record_event(session, "requirement.added", actor=actor,
                 organisation_id=rule.organisation_id, summary=describe_rule(session, rule),
                 details={"after": _rule_snapshot(rule)})
    return rule


def check_rule_scope(session: Session, actor: User, *, service: str | None,
                     organisation_id: int | None,
                     command_role: str | None) -> Organisation | None:
    """Who a new rule applies to, checked: a manager names one of their organisations. The
    organisation named, if any."""
    if service and service not in set(Service):
        raise RuleError("service", "Select a service from the list")
    if command_role and command_role not in set(CommandRole):
        raise RuleError("command_role", "Select a command role from the list")
    scope = managed_organisation_ids(session, actor)
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    if organisation_id and organisation is None:
        raise RuleError("organisation_id", "Select an organisation from the list")
    if scope is not None and (organisation is None or organisation.id not in scope):
        raise RuleError("organisation_id", "Select one of the organisations you manage")
    if organisation is not None and service and organisation.service != service:
        kind = SERVICE_LABELS[Service(service)].lower()
        raise RuleError("service", f"{organisation.name} is not a {kind} organisation: leave "
                        "the service empty or choose another organisation")
    return organisation


def remove_rule(session: Session, actor: User, rule: Requirement) -> None:
    if not can_change_rule(session, actor, rule):
        raise NotAllowed(reason="not in the actor's scope")
    record_event(session, "requirement.removed", actor=actor,
                 organisation_id=rule.organisation_id, summary=describe_rule(session, rule),
                 details={"before": _rule_snapshot(rule)})
    session.delete(rule)
    session.flush()


def can_change_rule(session: Session, viewer: User, rule: Requirement) -> bool:
    scope = managed_organisation_ids(session, viewer)
    return scope is None or (rule.organisation_id is not None and rule.organisation_id in scope)


def describe_rule(session: Session, rule: Requirement) -> str:
    who = []
    if rule.organisation_id:
        who.append(session.get(Organisation, rule.organisation_id).name)
    if rule.service:
        who.append(SERVICE_LABELS[Service(rule.service)].lower())
    if rule.command_role:
        who.append(COMMAND_ROLE_LABELS[CommandRole(rule.command_role)].lower())
    course = session.get(Course, rule.course_id)
    return f"{course.code} required of {', '.join(who) if who else 'everyone'}"


def _same(column_, value):
    return column_.is_(None) if value is None else column_ == value


def _rule_snapshot(rule: Requirement) -> dict:
    return {"course_id": rule.course_id, "service": rule.service,
            "organisation_id": rule.organisation_id, "command_role": rule.command_role}


# --- status of each person and required course ------------------------------------------


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
    expiring_from = as_of + timedelta(days=filters.expiring_days)
    state = case(
        (attended.c.held_on.is_(None),
         case((waiting, literal(ComplianceState.IN_PROGRESS.value)),
              else_=literal(ComplianceState.NOT_STARTED.value))),
        *((and_(people.c.course_id == exercise_column_id(number),
                attended.c.held_on <= literal(add_months(as_of, -number), Date)),
           literal(ComplianceState.EXPIRED.value)) for number in months),
        *((and_(people.c.course_id == exercise_column_id(number),
                attended.c.held_on <= literal(add_months(expiring_from, -number), Date)),
           literal(ComplianceState.EXPIRING.value)) for number in months),
        else_=literal(ComplianceState.IN_DATE.value),
    )
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


# --- the matrix --------------------------------------------------------------------------


@dataclass(slots=True)
class Cell:
    """The people behind one organisation (or command role) and one course."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def compliant(self) -> int:
        return sum(self.counts[state] for state in COMPLIANT_STATES)

    @property
    def percent(self) -> float | None:
        return round(100 * self.compliant / self.total, 1) if self.total else None

    def count(self, states: tuple[str, ...]) -> int:
        return sum(self.counts[state] for state in states) if states else self.total

    def add(self, other: Cell) -> None:
        for state, number in other.counts.items():
            self.counts[state] += number


@dataclass(frozen=True, slots=True)
class MatrixRow:
    key: str  # organisation id as text, or command role
    label: str
    service: str | None
    cells: dict[int, Cell]  # course id → cell
    total: Cell


@dataclass(frozen=True, slots=True)
class CourseColumn:
    id: int
    code: str
    title: str


@dataclass(frozen=True, slots=True)
class Matrix:
    filters: ReportFilters
    courses: list[CourseColumn]
    rows: list[MatrixRow]
    totals: dict[int, Cell]  # course id → every row's cell added up
    total: Cell

    @property
    def is_empty(self) -> bool:
        return self.total.total == 0


def compliance_matrix(session: Session, scope: set[int] | None,
                      filters: ReportFilters) -> Matrix:
    """Counts of each status by organisation (or command role) and course."""
    return compliance_dashboard(session, scope, filters, months=1).matrix


def _course_columns(session: Session, filters: ReportFilters) -> list[CourseColumn]:
    return [column for column in required_columns(session)
            if filters.course_id in (None, column.id)
            and (not filters.course_ids or column.id in filters.course_ids)]


# The matrix's rows are sorted and paged in memory: there is one per organisation in scope
# (about 110 for the whole country) or per command role, all counted by one query anyway.
MATRIX_PAGE_SIZE = 25
SORT_BY_NAME, SORT_BY_ALL = "name", "all"


@dataclass(frozen=True, slots=True)
class MatrixPage:
    rows: list[MatrixRow]
    page: int
    pages: int
    first: int  # the position of the page's first row in the sorted list, from 1
    last: int
    total_rows: int


def sort_key_for(cell: Cell, states: tuple[str, ...]) -> float | None:
    """What a column sorts by: the number of people in the status filtered for, when there
    is one (the figure its cells show first), else the share compliant; None when nobody
    is required."""
    if not cell.total:
        return None
    return cell.count(states) if states else cell.percent


def sorted_matrix_rows(matrix: Matrix, sort: str, descending: bool) -> list[MatrixRow]:
    """The rows by name, by "all" (their total) or by a course column's id as text; rows
    with nobody required in that column come last either way, ties in name order."""
    by_name = sorted(matrix.rows, key=lambda row: (row.label.casefold(), row.key))
    if sort == SORT_BY_NAME:
        return by_name[::-1] if descending else by_name
    states = matrix.filters.states

    def cell_of(row: MatrixRow) -> Cell:
        return row.total if sort == SORT_BY_ALL else row.cells.get(int(sort), Cell())

    valued = [row for row in by_name if sort_key_for(cell_of(row), states) is not None]
    empty = [row for row in by_name if sort_key_for(cell_of(row), states) is None]
    # A stable sort: rows of equal value keep their name order, even descending.
    valued.sort(key=lambda row: sort_key_for(cell_of(row), states), reverse=descending)
    return valued + empty


def matrix_page(rows: list[MatrixRow], page: int, size: int | None = None) -> MatrixPage:
    """One page of the sorted rows; a page beyond the end shows the last."""
    size = size or MATRIX_PAGE_SIZE
    pages = max(1, -(-len(rows) // size))
    page = min(max(1, page), pages)
    start = (page - 1) * size
    shown = rows[start:start + size]
    return MatrixPage(shown, page, pages, start + 1 if shown else 0, start + len(shown),
                      len(rows))


def _row_labels(session: Session, filters: ReportFilters,
                grid) -> list[tuple[str, str, str | None]]:
    if filters.group_by == "command-role":
        return [(str(role), role.label, None) for role in CommandRole if str(role) in grid]
    ids = [int(key) for key in grid]
    if not ids:
        return []
    organisations = session.execute(select(Organisation.id, Organisation.name,
                                           Organisation.service)
                                    .where(Organisation.id.in_(ids)).order_by(Organisation.name))
    return [(str(id_), name, service) for id_, name, service in organisations]


def _matrix_row(key, label, service, cells: dict[int, Cell], courses) -> MatrixRow:
    cells = {course.id: cells.get(course.id, Cell()) for course in courses}
    total = Cell()
    for cell in cells.values():
        total.add(cell)
    return MatrixRow(key, label, service, cells, total)


# --- the matrix and the trend, counted in one statement ----------------------------------


@dataclass(frozen=True, slots=True)
class TrendPoint:
    as_of: date
    compliant: int
    total: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.compliant / self.total, 1) if self.total else None


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The matrix as of the filters' date and the share compliant at each month-end before
    it; the trend's last point is the matrix's total."""

    matrix: Matrix
    trend: list[TrendPoint]


def month_ends(last: date, count: int) -> list[date]:
    """The last day of each of `count` months up to `last`'s, ending with `last` itself."""
    points = [last]
    day = last.replace(day=1) - timedelta(days=1)
    while len(points) < count:
        points.append(day)
        day = day.replace(day=1) - timedelta(days=1)
    return sorted(points)


def compliance_dashboard(session: Session, scope: set[int] | None, filters: ReportFilters,
                         months: int = 12) -> Dashboard:
    """The matrix and the share compliant at the end of each of the last `months` months,
    all from one SQL statement that reads each table once and returns only counts: the
    headline, the matrix and the chart are worked out together on every view, never kept,
    so they cannot disagree."""
    courses = _course_columns(session, filters)
    days = month_ends(filters.as_of, months)[:-1]
    counted, earlier = _counts(session, scope, filters, days)
    grid: dict[str, dict[int, Cell]] = {}
    for key, course_id, state, people in counted:
        grid.setdefault(str(key), {}).setdefault(course_id, Cell()).counts[state] += people
    rows = [_matrix_row(key, label, service, grid.get(key, {}), courses)
            for key, label, service in _row_labels(session, filters, grid)]
    totals = {course.id: Cell() for course in courses}
    for row in rows:
        for course_id, cell in row.cells.items():
            totals[course_id].add(cell)
    total = Cell()
    for cell in totals.values():
        total.add(cell)
    matrix = Matrix(filters, courses, rows, totals, total)
    trend = [TrendPoint(day, compliant, people)
             for day, (compliant, people) in zip(days, earlier, strict=True)]
    trend.append(TrendPoint(filters.as_of, total.compliant, total.total))
    return Dashboard(matrix, trend)


def compliance_trend(session: Session, scope: set[int] | None, filters: ReportFilters,
                     months: int = 12, *, last: Cell | None = None) -> list[TrendPoint]:
    """The share compliant at the end of each of the last `months` months (see
    `compliance_dashboard`). `last`, the matrix's total for the as-of date when the caller
    has it, is the final point."""
    trend = compliance_dashboard(session, scope, filters, months).trend
    if last is not None:
        trend[-1] = TrendPoint(filters.as_of, last.compliant, last.total)
    return trend


def _counts(session: Session, scope: set[int] | None, filters: ReportFilters,
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
    """An exercise column's state as of the filters' date, as `_exercise_state` finds it."""
    as_of = filters.as_of
    expiring_from = as_of + timedelta(days=filters.expiring_days)
    return case(
        (attended.c.held_on.is_(None),
         case((attended.c.waiting == 1, literal(ComplianceState.IN_PROGRESS.value)),
              else_=literal(ComplianceState.NOT_STARTED.value))),
        *((and_(course_id == exercise_column_id(number),
                attended.c.held_on <= literal(add_months(as_of, -number), Date)),
           literal(ComplianceState.EXPIRED.value)) for number in exercise_months),
        *((and_(course_id == exercise_column_id(number),
                attended.c.held_on <= literal(add_months(expiring_from, -number), Date)),
           literal(ComplianceState.EXPIRING.value)) for number in exercise_months),
        else_=literal(ComplianceState.IN_DATE.value),
    )


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
