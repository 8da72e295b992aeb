"""The rows of the compliance downloads, in one place: the dashboard's downloads and the
scheduled reports emailed to managers write the same columns."""

from __future__ import annotations

from datetime import date, datetime

from jesip_learn.accounts.models import COMMAND_ROLE_LABELS, SERVICE_LABELS
from jesip_learn.compliance.dashboard import Cell, Matrix
from jesip_learn.compliance.person_status import LearnerStatus
from jesip_learn.compliance.report_filters import GROUPINGS, LONDON, ReportFilters
from jesip_learn.compliance.states import STATES

DETAIL_HEADER = ["Name", "Email", "Organisation", "Service", "Command role", "Course code",
                 "Course", "Status", "Completed", "Expires", "Completion recorded from"]


def summary_header(filters: ReportFilters) -> list[str]:
    return [GROUPINGS[filters.group_by], "Course code", "Course", "People", "In date",
            "Expiring", "Expired", "In progress", "Not started", "Compliant", "% compliant"]


def london_date(moment: datetime | None) -> date | None:
    return moment.astimezone(LONDON).date() if moment else None


def detail_row(row: LearnerStatus) -> list:
    return [row.name, row.email, row.organisation, SERVICE_LABELS.get(row.service, row.service),
            COMMAND_ROLE_LABELS.get(row.command_role, row.command_role), row.course_code,
            row.course_title, row.state_label, london_date(row.completed_at),
            london_date(row.expires_at), row.source or ""]


def summary_rows(matrix: Matrix):
    for row in matrix.rows:
        for course in matrix.courses:
            yield summary_row(row.label, course, row.cells[course.id])
    for course in matrix.courses:
        yield summary_row("All", course, matrix.totals[course.id])
    if len(matrix.courses) > 1:  # one course: its "All" row is the overall total already
        yield overall_row(matrix.total)


def overall_row(cell: Cell) -> list:
    """Every row and course added up: the download's overall total."""
    return ["Overall", "", "Every required course", cell.total,
            *(cell.counts[state] for state in STATES), cell.compliant,
            cell.percent]


def overall_in_words(cell: Cell) -> str:
    if cell.percent is None:
        return "Overall: nobody is required to hold these courses"
    return (f"Overall: {cell.percent:.1f}% compliant ({cell.compliant:,} of {cell.total:,} "
            "required courses held in date)")


def summary_row(label, course, cell: Cell) -> list:
    return [label, course.code, course.title, cell.total,
            *(cell.counts[state] for state in STATES), cell.compliant,
            cell.percent]
