"""The compliance dashboard: the matrix of counts by organisation (or command role) and
course as of a date, its sorting and paging, and the share compliant at each month-end
before it, all counted together (see dashboard_counts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import CommandRole, Organisation
from jesip_learn.compliance.dashboard_counts import dashboard_counts
from jesip_learn.compliance.report_filters import ReportFilters
from jesip_learn.compliance.requirements import CourseColumn, required_columns
from jesip_learn.compliance.states import COMPLIANT_STATES, STATES


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


# --- the matrix and the trend, from one count ---------------------------------------------


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
    counted, earlier = dashboard_counts(session, scope, filters, days)
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
