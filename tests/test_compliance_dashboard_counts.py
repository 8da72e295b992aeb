"""The dashboard's figures, counted in the database in one statement, against each person's
status worked out one by one (the statement behind the detail report and the downloads):
the same matrix and the same month-ends, on invented histories with people who joined,
left and moved, completions that expired, were renewed or never expire, versions that need
renewal, rules for one organisation or role, and exercises."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import Integer, column, select, values
from sqlalchemy.dialects import postgresql, sqlite

from jesip_learn.compliance.dashboard import (
    Dashboard,
    compliance_dashboard,
    compliance_matrix,
    month_ends,
)
from jesip_learn.compliance.dashboard_counts import _Integers
from jesip_learn.compliance.person_status import status_select
from jesip_learn.compliance.report_filters import ReportFilters
from jesip_learn.compliance.requirements import exercise_column_id
from jesip_learn.compliance.states import COMPLIANT_STATES, STATES
from jesip_learn.courses import catalogue as courses
from tests.test_compliance_trend import AS_OF, VALID, _history


@pytest.fixture
def course(session):
    (outcome,) = courses.import_parsed(session, courses.parse_folders(VALID))
    return courses.find_version(session, outcome.code).course


def _person_by_person(session, scope, filters) -> Counter:
    """(row key, course id, state) → people, from one status row per person and course."""
    statuses = status_select(session, scope, filters)
    if statuses is None:
        return Counter()
    statuses = statuses.subquery()
    key = (
        statuses.c.organisation_id
        if filters.group_by == "organisation"
        else statuses.c.command_role
    )
    rows = session.execute(select(key, statuses.c.course_id, statuses.c.state)).all()
    return Counter((str(key_), course_id, state) for key_, course_id, state in rows)


def _matrix_counts(matrix) -> Counter:
    return Counter(
        {
            (row.key, course_id, state): people
            for row in matrix.rows
            for course_id, cell in row.cells.items()
            for state, people in cell.counts.items()
            if people
        }
    )


def _compliant_and_total(counts: Counter) -> tuple[int, int]:
    return (
        sum(
            people
            for (_, _, state), people in counts.items()
            if state in COMPLIANT_STATES
        ),
        sum(counts.values()),
    )


def _check(session, scope, filters, months: int) -> Dashboard:
    dashboard = compliance_dashboard(session, scope, filters, months)
    expected = _person_by_person(session, scope, filters)
    assert _matrix_counts(dashboard.matrix) == expected, (scope, filters)
    assert _matrix_counts(compliance_matrix(session, scope, filters)) == expected
    days = month_ends(filters.as_of, months)
    assert [(point.as_of, point.compliant, point.total) for point in dashboard.trend] == [
        (day, *_compliant_and_total(_person_by_person(session, scope, replace(filters, as_of=day))))
        for day in days
    ], (scope, filters)
    return dashboard


@pytest.mark.parametrize("seed", [11, 12])
def test_the_dashboard_counts_each_person_as_their_own_status_does(session, course, seed):
    _history(session, course, seed, people=60)
    dashboard = _check(session, None, ReportFilters(as_of=AS_OF), months=12)
    states = {
        state
        for row in dashboard.matrix.rows
        for cell in row.cells.values()
        for state, people in cell.counts.items()
        if people
    }
    # The history is not trivial: every state occurs, and the share changes over time.
    assert states == set(STATES)
    assert len({(point.compliant, point.total) for point in dashboard.trend}) > 3


def test_the_dashboard_counts_within_filters_and_scope(session, course):
    organisations, everyone = _history(session, course, seed=13, people=60)
    police, other_police, fire, council = organisations
    base = ReportFilters(as_of=date(2026, 2, 14), expiring_days=30)
    cases = [
        ({police.id}, base),
        ({police.id, council.id}, base),
        (set(), base),
        (None, replace(base, service="police")),
        (None, replace(base, organisation_id=fire.id)),
        ({other_police.id}, replace(base, organisation_id=other_police.id)),
        (None, replace(base, command_role="tactical")),
        (None, replace(base, course_id=everyone[1].id)),
        (None, replace(base, course_ids=(everyone[0].id,))),
        (None, replace(base, course_id=exercise_column_id(12))),
        (None, replace(base, group_by="command-role", state="expired")),
        ({fire.id}, replace(base, group_by="command-role")),
    ]
    for scope, filters in cases:
        _check(session, scope, filters, months=4)


def test_a_matrix_alone_is_the_dashboards_matrix(session, course):
    _history(session, course, seed=14, people=30)
    filters = ReportFilters(as_of=AS_OF)
    dashboard = compliance_dashboard(session, None, filters)
    matrix = compliance_matrix(session, None, filters)
    assert _matrix_counts(matrix) == _matrix_counts(dashboard.matrix)
    assert [row.key for row in matrix.rows] == [row.key for row in dashboard.matrix.rows]
    last = dashboard.trend[-1]
    assert (last.as_of, last.compliant, last.total) == (
        AS_OF,
        matrix.total.compliant,
        matrix.total.total,
    )


def test_more_months_than_one_number_holds_are_counted_too(session, course):
    # Counted and compliant at 31 earlier moments at most are side by side in one 64-bit
    # key: a longer trend is counted in parts.
    _history(session, course, seed=15, people=20)
    dashboard = _check(session, None, ReportFilters(as_of=AS_OF), months=66)
    assert len(dashboard.trend) == 66


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_the_required_table_is_written_as_any_values_would_be(dialect):
    rows = [(5, 1, 0), (6, -12, 1), (1_000_003, 7, 2)]

    def written(make, as_cte: bool) -> str:
        table = make(column("membership", Integer), column("course_id", Integer),
                     column("cell", Integer), name="required", literal_binds=True).data(rows)
        table = table.cte("required") if as_cte else table
        return str(select(table.c.membership, table.c.cell).compile(dialect=dialect))

    for as_cte in (True, False):
        assert written(_Integers, as_cte) == written(values, as_cte)
    # Written out with its values, a statement must never be cached and reused with others.
    assert _Integers(column("membership", Integer), literal_binds=True).data(
        [(1,), (2,)])._generate_cache_key() is None
    assert "(6, -12, 1), (1000003, 7, 2)" in written(_Integers, True)
