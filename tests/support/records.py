"""What the records tests (tests/test_records_*.py) share: the dates they start from,
completions and joining dates set by hand, and each organisation's figures as the compliance
dashboard counts them. Their `course` fixture is in tests/conftest.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

from jesip_learn.compliance.dashboard import compliance_matrix
from jesip_learn.compliance.report_filters import ReportFilters
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion

START = datetime(2024, 1, 1, 9, tzinfo=UTC)
NOW = datetime(2031, 6, 1, 12, tzinfo=UTC)


def complete(session, user, course, when, months=12):
    session.add(Completion(user_id=user.id, course_id=course.id,
                           version_id=course.published_version_id, completed_at=when,
                           expires_at=progress.add_months(when, months),
                           certificate_code=progress.new_certificate_code()))
    session.flush()


def since(user, moment):
    user.created_at = user.approved_at = user.joined_at = moment


def matrix_counts(session, scope, as_of: date) -> dict[tuple[int, str], int]:
    matrix = compliance_matrix(session, scope, ReportFilters(as_of=as_of))
    return {(int(row.key), state): number for row in matrix.rows
            for cell in row.cells.values() for state, number in cell.counts.items() if number}
