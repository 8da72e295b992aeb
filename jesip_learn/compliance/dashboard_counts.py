"""The counts behind the dashboard, in one SQL statement: the people of each row, course and
state as of a date, and how many were compliant at each earlier month-end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    and_,
    case,
    column,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Values
from sqlalchemy.sql.visitors import InternalTraversal

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

# A membership's organisation and command role as one number, the key the required table
# is joined on: joined on two columns, the database takes them as independent, multiplies
# their selectivities and expects about a hundred rows where there are over a hundred
# thousand, then plans sorts and hashes for that and spills them to disk.
ROLE_NUMBERS = {str(role): number for number, role in enumerate(CommandRole)}
ROLES = list(ROLE_NUMBERS)
# The moments are bits of a 64-bit integer, its sign left alone. The rows alike are grouped
# by two numbers: the cell (row key and course) with the state, and the earlier moments
# counted and compliant, side by side in one number: 31 earlier moments at most.
MOST_EARLIER = 31
# A state as a number in the cell's key; 0 for a row not counted as of the date.
STATE_CODES = {state: code for code, state in enumerate(ComplianceState, start=1)}
STATES_BY_CODE = {code: state for state, code in STATE_CODES.items()}
CODES = len(STATE_CODES) + 1
_NOT_COUNTED = literal(0, Integer)


def dashboard_counts(session: Session, scope: set[int] | None, filters: ReportFilters,
                     days: list[date]) -> tuple[list[tuple], list[tuple[int, int]]]:
    """The people of each row (organisation or command role), course and state as of the
    filters' date, as (row key, course id, state, people); and (compliant, total) at the
    end of each of `days`, counted as the matrix would count them then.

    Each completion counts as compliant over one span: from its completion until the next
    completion of the course by the same person (which then decides), its expiry or the
    first version needing renewal published after it, whichever comes first. Each person's
    memberships (previous ones, then their current one) are spans too. The moments (each
    of `days`' end, then the as-of date) are bits of one number: a span becomes the set of
    moments it holds, worked out once per row, and a moment is then a bit of a sum instead
    of a query of its own. Each person and required course is one row with their latest
    completion (or none), which gives the state as of the date; their earlier completions
    are rows that add only the months they held. The counts are summed in the database, so
    only a few thousand rows come back whatever the number of people."""
    if len(days) > MOST_EARLIER:  # more than a key holds: the rest counted apart
        counted, first = dashboard_counts(session, scope, filters, days[:MOST_EARLIER])
        return counted, first + dashboard_counts(session, scope, filters,
                                                 days[MOST_EARLIER:])[1]
    nothing = [], [(0, 0)] * len(days)
    lines = requirement_lines(session, filters.course_id) + exercise_lines(session,
                                                                          filters.course_id)
    if filters.course_ids:
        lines = [line for line in lines if line.course_id in filters.course_ids]
    required = _required_table(session, scope, filters, lines)
    if required is None:
        return nothing
    # Within a few organisations only their members' memberships and completions are
    # read, through the indexes on organisation; over all of them, every row is.
    members = (sorted(required.organisation_ids)
               if scope is not None or filters.organisation_id is not None else None)
    moments = [*(end_of_day(day) for day in days), filters.moment]
    now = len(moments) - 1
    table = required.table
    stints = _stints(filters, moments, members)
    spans = _spans(session, filters, moments, members)
    rows = stints.join(table, table.c.membership == stints.c.membership)
    rows = rows.outerjoin(spans, and_(spans.c.user_id == stints.c.user_id,
                                      spans.c.course_id == table.c.course_id))
    exercise_months = sorted({-line.course_id for line in lines if line.course_id < 0})
    held = func.coalesce(spans.c.held, 0)
    attended = None
    if exercise_months:
        attended = _attended(filters, days, moments, exercise_months)
        rows = rows.outerjoin(attended, attended.c.user_id == stints.c.user_id)
        held = case(*((table.c.course_id == exercise_column_id(number),
                       func.coalesce(attended.c[f"held_{number}"], 0))
                      for number in exercise_months), else_=held)

    # The row that stands for the person and course: their latest completion, or none.
    standing = or_(spans.c.user_id.is_(None), spans.c.latest == 1)
    # The state as of the date, for those counted then only: whether someone who never
    # completed the course had started it is looked up in the index, person by person.
    progress = ItemProgress.__table__
    started = exists().where(progress.c.user_id == stints.c.user_id,
                             progress.c.course_id == table.c.course_id,
                             progress.c.started_at <= moments[now])
    states = [(~standing, _NOT_COUNTED),
              (stints.c.inside.bitwise_and(_bit(now)) == 0, _NOT_COUNTED)]
    if attended is not None:
        states.append((table.c.course_id < 0, _exercise_state_then(
            attended, table.c.course_id, filters, exercise_months)))
    states.append((spans.c.user_id.is_(None),
                   case((started, _code(ComplianceState.IN_PROGRESS)),
                        else_=_code(ComplianceState.NOT_STARTED))))
    state = case(*states, else_=spans.c.state)
    earlier = _bits((1 << now) - 1)
    counted = case((standing, stints.c.inside), else_=_bits(0)).bitwise_and(earlier)
    compliant = stints.c.inside.bitwise_and(held).bitwise_and(earlier)
    by_cell, by_moment = _summed(session, select(
        (table.c.cell * CODES + state).label("cell_state"),
        counted.bitwise_lshift(literal(now, Integer)).bitwise_or(compliant).label("earlier"),
    ).select_from(rows), now)
    return [(*required.cells[cell], STATES_BY_CODE[code], people)
            for (cell, code), people in by_cell], by_moment


def _summed(session: Session, rows, now: int) -> tuple[list[tuple], list[tuple[int, int]]]:
    """The rows (`cell_state`, the cell times CODES plus the state's code, and `earlier`,
    the earlier moments counted as bits above those compliant) summed: the people of each
    cell and state counted as of the date, as ((cell, code), people), and (compliant,
    counted) at each moment before `now`.

    The rows alike are counted first, by those two numbers (a few tens of thousands of
    kinds at a hundred thousand learners; grouped by the cell's and state's own columns
    instead, sorting them took a fifth of SQLite's time for the statement). Those counts
    are then summed twice: by cell and state, and by the moments' bits, which are a few
    hundred kinds, whose bits are added up here."""
    alike = (rows.add_columns(func.count().label("people"))
             .group_by(rows.selected_columns.cell_state, rows.selected_columns.earlier)
             ).cte("alike")
    by_cell = (select(literal(0, Integer).label("kind"), alike.c.cell_state,
                      func.sum(alike.c.people))
               .group_by(alike.c.cell_state))
    by_moments = (select(literal(1, Integer), alike.c.earlier, func.sum(alike.c.people))
                  .group_by(alike.c.earlier))
    with _without_jit(session):
        result = session.execute(union_all(by_cell, by_moments)).all()
    people, compliant, counted = [], [0] * now, [0] * now
    for kind, key, number in result:
        number = int(number)
        if kind == 0:
            if key % CODES:
                people.append((divmod(key, CODES), number))
            continue
        for k in range(now):
            compliant[k] += number * (key >> k & 1)
            counted[k] += number * (key >> (now + k) & 1)
    return people, list(zip(compliant, counted, strict=True))


def _code(state: ComplianceState):
    return literal(STATE_CODES[state], Integer)


@contextmanager
def _without_jit(session: Session) -> Iterator[None]:
    """PostgreSQL compiles a statement it expects to be costly (JIT): for this one, with its
    many generated expressions, compiling took longer than running it without (2.4 s
    against 0.8 s at a hundred thousand learners). Off for the statement only, then
    back as it was, within the transaction (a statement that fails ends it, and the setting
    with it)."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    was = session.execute(select(func.current_setting("jit"),
                                 func.set_config("jit", "off", True))).scalar_one()
    yield
    session.execute(select(func.set_config("jit", was, True)))


def _bits(value: int):
    return literal(value, BigInteger)


def _bit(k: int):
    return _bits(1 << k)


class _AsStored(ColumnElement):
    """A time column's value as stored, for comparing with moments. SQLite gives a DATETIME
    column numeric affinity, and compared with one it first tries to read the moment (a
    text) as a number, every time: a fifth of the time of working out the completions'
    spans at a hundred thousand learners. A unary plus leaves the value as it is without
    the affinity, so the texts are compared as they are, as they were anyway."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column):
        self.column = column
        self.type = column.type


@compiles(_AsStored)
def _as_stored(element, compiler, **kw):
    return compiler.process(element.column, **kw)


@compiles(_AsStored, "sqlite")
def _as_stored_on_sqlite(element, compiler, **kw):
    return "+" + compiler.process(element.column, **kw)


def _from(moment, moments: list[datetime]):
    """The moments at or after `moment` (a column), as bits: moment k is bit k. None of
    them when the column is NULL. A search by halves, so that each row compares a few
    times rather than once per moment."""
    every = (1 << len(moments)) - 1
    moment = _AsStored(moment)

    def among(low: int, high: int):  # between `low` and `high` moments come before it
        if low == high:
            return _bits(every - ((1 << low) - 1))
        middle = (low + high) // 2
        return case((moment <= literal(moments[middle], UTCDateTime), among(low, middle)),
                    else_=among(middle + 1, high))

    return among(0, len(moments))


def _until(moment, moments: list[datetime]):
    """The moments before `moment` (a column), as bits; every moment when it is NULL."""
    every = (1 << len(moments)) - 1
    return _bits(every) - _from(moment, moments)


@dataclass(frozen=True, slots=True)
class _Required:
    """The required table (`membership`, `course_id`, `cell`), what each cell stands for,
    (row key, course id), and the organisations it names."""

    table: CTE
    cells: list[tuple[int | str, int]]
    organisation_ids: set[int]


def _required_table(session: Session, scope: set[int] | None, filters: ReportFilters,
                    lines: list[RequirementLine]) -> _Required | None:
    """Which membership (organisation and command role, as one number: `_membership`) must
    hold which course, within scope and filters, worked out here from the requirement
    lines: a table of a few thousand rows at most, which the database then knows the size
    of (from a join of the lines it would guess one row and plan for it). Each row also
    numbers its cell of the matrix (its row, by organisation or command role, and course)
    from 0. None when nobody is required to hold anything."""
    if not lines:
        return None
    organisations = select(Organisation.id, Organisation.service)
    if scope is not None:
        organisations = organisations.where(Organisation.id.in_(sorted(scope)) if scope
                                            else literal(False))
    if filters.organisation_id is not None:
        organisations = organisations.where(Organisation.id == filters.organisation_id)
    if filters.service:
        organisations = organisations.where(Organisation.service == filters.service)
    roles = [filters.command_role] if filters.command_role else [str(r) for r in CommandRole]
    rows = sorted({(organisation_id * len(ROLES) + ROLE_NUMBERS[role], line.course_id)
                   for organisation_id, service in session.execute(organisations)
                   for role in roles if role in ROLE_NUMBERS for line in lines
                   if line.service in (None, service)
                   and line.organisation_id in (None, organisation_id)
                   and line.command_role in (None, role)})
    if not rows:
        return None

    def cell_of(membership: int, course_id: int) -> tuple[int | str, int]:
        organisation_id, role = divmod(membership, len(ROLES))
        return (organisation_id if filters.group_by == "organisation" else ROLES[role],
                course_id)

    cells = list(dict.fromkeys(cell_of(*row) for row in rows))
    numbers = {cell: number for number, cell in enumerate(cells)}
    table = _Integers(column("membership", Integer), column("course_id", Integer),
                      column("cell", Integer), name="required", literal_binds=True
                      ).data([(*row, numbers[cell_of(*row)]) for row in rows]).cte("required")
    return _Required(table, cells, {membership // len(ROLES) for membership, _ in rows})


class _Integers(Values):
    """A VALUES list of integers, as the body of a CTE, written out as they are: rendered
    as SQLAlchemy renders any values, as a tuple of literals each, the required table's
    thousand rows took 25 ms, a thirtieth of the dashboard's time on SQLite."""

    inherit_cache = True


@compiles(_Integers)
def _integers(element, compiler, visiting_cte=None, **kw):
    if visiting_cte is None or visiting_cte.element is not element:
        return compiler.visit_values(element, visiting_cte=visiting_cte, **kw)
    return "VALUES " + ", ".join(f"({', '.join(str(int(value)) for value in row)})"
                                 for chunk in element._data for row in chunk)


def _membership(organisation_id, command_role):
    """A membership's organisation and role as one number, as `_required_table` keys it;
    NULL for a role it does not know."""
    return organisation_id * len(ROLES) + case(ROLE_NUMBERS, value=command_role)


def _stints(filters: ReportFilters, moments: list[datetime], members: list[int] | None):
    """Each membership of each approved person (of the organisations `members`, when
    given), with `inside`, the moments it held, as bits. A previous one holds from its
    start until its end; the current one from joining, at the moments no previous one
    holds. Either only while the account is open."""
    users, previous = User.__table__, PreviousMembership.__table__
    every = (1 << len(moments)) - 1
    moved = (
        select(previous.c.user_id,
               sum((func.max(case((and_(previous.c.started_at <= literal(then, UTCDateTime),
                                        previous.c.ended_at > literal(then, UTCDateTime)),
                                   _bit(k)), else_=_bits(0)))
                    for k, then in enumerate(moments)), start=_bits(0)).label("held"))
        .group_by(previous.c.user_id)
    ).subquery("moved")
    open_ = case((users.c.is_active.is_(True), _bits(every)),
                 (users.c.deactivated_at.is_(None), _bits(0)),
                 else_=_until(users.c.deactivated_at, moments))

    people_where = [users.c.approved_at.is_not(None)]
    if filters.user_id is not None:
        people_where.append(users.c.id == filters.user_id)
    current = (
        select(users.c.id.label("user_id"),
               _membership(users.c.organisation_id, users.c.command_role).label("membership"),
               _from(users.c.joined_at, moments).bitwise_and(open_)
               .bitwise_and(func.coalesce(moved.c.held, 0).bitwise_not()).label("inside"))
        .select_from(users.outerjoin(moved, moved.c.user_id == users.c.id))
        .where(*people_where)
    )
    role_then = func.coalesce(previous.c.command_role, users.c.command_role)
    earlier = (
        select(previous.c.user_id, _membership(previous.c.organisation_id, role_then),
               _from(previous.c.started_at, moments)
               .bitwise_and(_until(previous.c.ended_at, moments)).bitwise_and(open_))
        .select_from(previous.join(users, users.c.id == previous.c.user_id))
        .where(*people_where)
    )
    if members is not None:
        current = current.where(users.c.organisation_id.in_(members))
        earlier = earlier.where(previous.c.organisation_id.in_(members))
    return union_all(current, earlier).subquery("stints")


def _renewed_after(session: Session, filters: ReportFilters, completed_at, course_id):
    """When the first version needing renewal published after a completion (its columns
    `completed_at` and `course_id`) came out, NULL when none has: a CASE on the few such
    versions, read first. None when no version needs renewal."""
    versions = CourseVersion.__table__
    query = (select(versions.c.course_id, versions.c.published_at)
             .where(versions.c.needs_renewal.is_(True), versions.c.published_at.is_not(None))
             .order_by(versions.c.course_id, versions.c.published_at))
    if filters.course_id is not None:
        query = query.where(versions.c.course_id == filters.course_id)
    published: dict[int, list[datetime]] = {}
    for course, at in session.execute(query):
        published.setdefault(course, []).append(at)
    if not published:
        return None
    return case(*((course_id == course, case(*((completed_at < literal(at, UTCDateTime),
                                                literal(at, UTCDateTime)) for at in ats)))
                  for course, ats in published.items()))


def _spans(session: Session, filters: ReportFilters, moments: list[datetime],
           members: list[int] | None):
    """Each completion by the as-of date that was in date at some earlier moment or is the
    person's latest: `held`, the moments it was in date, as bits; `latest`, 1 for the
    person's latest completion of the course, with `state`, the code (`STATE_CODES`) of the
    state it puts them in as of the date (0 for the others)."""
    completions = Completion.__table__
    now = len(moments) - 1
    renewed = _renewed_after(session, filters, completions.c.completed_at,
                             completions.c.course_id)
    at_now = literal(moments[now], UTCDateTime)
    window_end = literal(moments[now] + timedelta(days=filters.expiring_days), UTCDateTime)
    state_if_latest = case(
        *([(renewed <= at_now, _code(ComplianceState.EXPIRED))]
          if renewed is not None else []),
        (completions.c.expires_at.is_(None), _code(ComplianceState.IN_DATE)),
        (_AsStored(completions.c.expires_at) <= at_now, _code(ComplianceState.EXPIRED)),
        (_AsStored(completions.c.expires_at) <= window_end,
         _code(ComplianceState.EXPIRING)),
        else_=_code(ComplianceState.IN_DATE))
    # A completion holds from its moment until the next completion's, its expiry or the
    # renewal after it, whichever comes first: the moments from its own on, less those
    # from the next one's on, less those from its expiry and renewal on. The next one's
    # moments are worked out once per completion, into `ordered`: each column that
    # mentioned them was worked out again per mention, and each mention after the join
    # again per person and course (a tenth of SQLite's time at a hundred thousand
    # learners). Every completion by the date holds the date's own moment, so 0 is "no
    # next one".
    since = _from(completions.c.completed_at, moments)
    in_date = _until(completions.c.expires_at, moments)
    if renewed is not None:
        in_date = in_date.bitwise_and(_until(renewed, moments))
    on_sqlite = session.get_bind().dialect.name == "sqlite"
    if on_sqlite:
        # SQLite's window functions keep each partition in a table of their own: looking
        # the next completion up in the index took 0.1 s less than lead() over a hundred
        # thousand learners' completions.
        later = completions.alias("later")
        next_since = func.coalesce(
            select(_from(later.c.completed_at, moments))
            .where(later.c.user_id == completions.c.user_id,
                   later.c.course_id == completions.c.course_id,
                   tuple_(later.c.completed_at, later.c.id)
                   > tuple_(completions.c.completed_at, completions.c.id),
                   later.c.completed_at <= at_now)
            .order_by(later.c.completed_at, later.c.id).limit(1).scalar_subquery(),
            _bits(0))
    else:
        next_since = func.lead(since, literal(1, Integer), _bits(0)).over(
            partition_by=(completions.c.user_id, completions.c.course_id),
            order_by=(completions.c.completed_at, completions.c.id))
    ordered = (
        select(completions.c.user_id, completions.c.course_id, since.label("since"),
               in_date.label("in_date"), state_if_latest.label("state_if_latest"),
               next_since.label("next_since"))
        .where(completions.c.completed_at <= at_now)
    )
    if filters.course_id is not None:
        ordered = ordered.where(completions.c.course_id == filters.course_id)
    if members is not None:
        users, previous = User.__table__, PreviousMembership.__table__
        ordered = ordered.where(completions.c.user_id.in_(
            select(users.c.id).where(users.c.organisation_id.in_(members))
            .union(select(previous.c.user_id)
                   .where(previous.c.organisation_id.in_(members)))))
    # Kept apart on SQLite, which would otherwise copy the lookup into each mention of
    # `next_since`; PostgreSQL keeps a window function's rows apart anyway.
    ordered = ordered.cte("ordered")
    if on_sqlite:
        ordered = ordered.prefix_with("MATERIALIZED")
    latest = ordered.c.next_since == 0
    held = (ordered.c.since.bitwise_and(ordered.c.in_date)
            .bitwise_and(ordered.c.next_since.bitwise_not()))
    # A completion replaced or run out before the first moment adds nothing but its row.
    # (With the rows below kept apart too, SQLite worked `held` out once per completion, a
    # tenth faster over everyone, but then joined one organisation's people to them
    # without an index: 4 s instead of 0.1 s. So only `ordered` is.)
    return (
        select(ordered.c.user_id, ordered.c.course_id,
               case((latest, 1), else_=0).label("latest"), held.label("held"),
               case((latest, ordered.c.state_if_latest),
                    else_=_NOT_COUNTED).label("state"))
        .where(or_(latest, held != 0))
    ).subquery("spans")


def _attended(filters: ReportFilters, days: list[date], moments: list,
              exercise_months: list[int]):
    """Per person who took part in an exercise: for each period of exercise a rule
    requires, `held_<months>`, the earlier moments at which their latest exercise attended
    (confirmed by the moment) was held within the period, as bits; and as of the filters'
    date, the day of the latest exercise attended (`held_on`) and whether one awaits
    confirmation (`waiting`)."""
    participants, exercises = ExerciseParticipant.__table__, Exercise.__table__
    moment, as_of = literal(moments[-1], UTCDateTime), literal(filters.as_of, Date)
    columns = []
    for number in exercise_months:
        bits = []
        for k, (day, moment_k) in enumerate(zip(days, moments[:-1], strict=True)):
            within = and_(participants.c.confirmed_at <= literal(moment_k, UTCDateTime),
                          exercises.c.held_on <= literal(day, Date),
                          exercises.c.held_on > literal(add_months(day, -number), Date))
            bits.append(func.max(case((within, _bit(k)), else_=_bits(0))))
        columns.append(sum(bits, start=_bits(0)).label(f"held_{number}"))
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
                                 exercise_months, value_of=_code)
