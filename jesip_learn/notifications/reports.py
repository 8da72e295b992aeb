"""Scheduled reports: a manager's saved dashboard filter, emailed weekly or monthly as a
CSV or XLSX attachment with the same columns as the dashboard's downloads.

The filter is kept as the dashboard's query string, so "Email me this report" saves what
is on the screen and the email links back to it. The report's date is always the day it
is sent, and it covers only the people the subscriber may see on the day it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import (
    COMMAND_ROLE_LABELS,
    SERVICE_LABELS,
    Organisation,
    User,
)
from jesip_learn.accounts.permissions import managed_organisation_ids, may_subscribe_to_reports
from jesip_learn.compliance import report_rows
from jesip_learn.compliance.dashboard import compliance_matrix
from jesip_learn.compliance.person_status import iter_learner_statuses
from jesip_learn.compliance.report_filters import (
    DEFAULT_EXPIRING_DAYS,
    GROUPINGS,
    ReportFilters,
    today_in_london,
)
from jesip_learn.compliance.requirements import required_columns
from jesip_learn.compliance.states import STATE_FILTER_LABELS
from jesip_learn.core.exports.csv_writer import csv_chunks
from jesip_learn.core.exports.heading import ReportHeading
from jesip_learn.core.exports.xlsx_writer import XLSX_CONTENT_TYPE, xlsx_file
from jesip_learn.core.input_errors import InputError
from jesip_learn.core.mail import Attachment
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.core.typed_text import control_character_problem
from jesip_learn.notifications.models import ReportSubscription
from jesip_learn.notifications.settings import FREQUENCIES
from jesip_learn.records.audit import record_event

FORMATS = {"csv": "CSV (one row per person and course)",
           "xlsx": "Excel workbook (summary and details)"}
# The dashboard's filters a report keeps: (query-string name, label). The date is left out.
FILTER_NAMES = {"service": "Service", "organisation": "Organisation",
                "command_role": "Command role", "course": "Course",
                "courses": "Courses shown", "status": "Status", "group": "Rows by"}
# Filters the query string may repeat: the dashboard's chosen courses.
REPEATED = {"courses"}
NAME_LENGTH = 120


class SubscriptionError(InputError, ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


may_subscribe = may_subscribe_to_reports


def subscriptions_of(session: Session, user: User) -> list[ReportSubscription]:
    return list(session.scalars(select(ReportSubscription).where(
        ReportSubscription.user_id == user.id).order_by(ReportSubscription.created_at,
                                                        ReportSubscription.id)))


# --- the filters ------------------------------------------------------------------------


def kept_filters(query: str) -> str:
    """The dashboard's query string with only the filters a report keeps, in a fixed order
    (the date, the page and anything else are dropped)."""
    pairs = [(name, value.strip()) for name, value in parse_qsl(query or "")
             if value.strip()]
    values = dict(pairs)
    kept = []
    for name in FILTER_NAMES:
        if name in REPEATED:
            kept += [(name, value) for value in sorted({v for n, v in pairs if n == name})]
        elif values.get(name):
            kept.append((name, values[name]))
    return urlencode(kept)


def read_filters(session: Session, user: User, query: str, as_of: date,
                 expiring_days: int = DEFAULT_EXPIRING_DAYS
                 ) -> tuple[ReportFilters, list[str]]:
    """The filters of a saved query string as of a day, and the names of any that are no
    longer a choice for this user (an organisation they no longer manage, a course no
    longer required): those are left out, and the scope still limits the people."""
    pairs = parse_qsl(query or "")
    values = dict(pairs)
    problems = []
    scope = managed_organisation_ids(session, user)
    courses = {column.id for column in required_columns(session)}

    def choose(name, choices, convert=str):
        raw = values.get(name, "").strip()
        if not raw:
            return None
        try:
            value = convert(raw)
        except ValueError:
            value = None
        if value not in choices:
            problems.append(name)
            return None
        return value

    organisations = set(session.scalars(select(Organisation.id))) if scope is None else scope
    filters = ReportFilters(
        as_of=as_of, expiring_days=expiring_days,
        service=choose("service", set(SERVICE_LABELS)),
        organisation_id=choose("organisation", organisations, int),
        command_role=choose("command_role", set(COMMAND_ROLE_LABELS)),
        course_id=choose("course", courses, int),
        state=choose("status", set(STATE_FILTER_LABELS)))
    group = choose("group", set(GROUPINGS))
    chosen = set()
    for name, raw in pairs:
        if name == "courses":
            values["courses"] = raw
            chosen.add(choose("courses", courses, int))
    return (replace(filters, group_by=group or "organisation",
                    course_ids=tuple(sorted(chosen - {None}))),
            list(dict.fromkeys(problems)))


def described_filters(session: Session, filters: ReportFilters) -> list[tuple[str, str]]:
    """The filters in words, as the email and the attachment's heading state them."""
    described = []
    if filters.service:
        described.append(("Service", SERVICE_LABELS[filters.service]))
    if filters.organisation_id:
        described.append(("Organisation", session.get(Organisation, filters.organisation_id).name))
    if filters.command_role:
        described.append(("Command role", COMMAND_ROLE_LABELS[filters.command_role]))
    if filters.course_id:
        course = next(column for column in required_columns(session)
                      if column.id == filters.course_id)
        described.append(("Course", f"{course.code}: {course.title}"))
    if filters.course_ids:
        described.append(("Courses shown", "; ".join(
            column.code for column in required_columns(session)
            if column.id in filters.course_ids)))
    if filters.state:
        described.append(("Status", STATE_FILTER_LABELS[filters.state]))
    described.append(("Rows by", GROUPINGS[filters.group_by]))
    return described


def describe_filters(session: Session, user: User, subscription: ReportSubscription
                     ) -> list[tuple[str, str]]:
    filters, _ = read_filters(session, user, subscription.filters,
                              today_in_london())
    return described_filters(session, filters)


# --- subscribing ------------------------------------------------------------------------


def subscribe(session: Session, user: User, *, name: str, query: str, file_format: str,
              frequency: str) -> ReportSubscription:
    """A new scheduled report of the dashboard as `query` filters it."""
    if not may_subscribe(user):
        raise NotAllowed(reason="only managers and administrators see the dashboard")
    # The name is the subject of every email of the report: no line breaks or controls.
    problem = control_character_problem(name or "", "The name")
    if problem:
        raise SubscriptionError("name", problem)
    name = " ".join((name or "").split())
    if not name:
        raise SubscriptionError("name", "Enter a name for the report")
    if len(name) > NAME_LENGTH:
        raise SubscriptionError("name", f"The name must be {NAME_LENGTH} characters or fewer")
    if file_format not in FORMATS:
        raise SubscriptionError("file_format", "Select CSV or Excel workbook")
    if frequency not in FREQUENCIES:
        raise SubscriptionError("frequency", "Select weekly or monthly")
    kept = kept_filters(query)
    _, problems = read_filters(session, user, kept, today_in_london())
    if problems:
        raise SubscriptionError("name", "The report’s filters are not ones you can choose "
                                f"({', '.join(FILTER_NAMES[name] for name in problems)}): "
                                "go back to the dashboard and choose them again")
    subscription = ReportSubscription(user_id=user.id, name=name, filters=kept,
                                      file_format=file_format, frequency=frequency)
    session.add(subscription)
    session.flush()
    record_event(session, "notifications.report_subscribed", actor=user, subject=user,
                 summary=f"scheduled report “{name}”, {frequency}, {file_format.upper()}",
                 details={"subscription": subscription.id, "filters": kept,
                          "format": file_format, "frequency": frequency})
    return subscription


def unsubscribe_report(session: Session, user: User, subscription: ReportSubscription,
                       address: str = "") -> None:
    if subscription.user_id != user.id:
        raise NotAllowed(reason="not this person's report")
    record_event(session, "notifications.report_unsubscribed", actor=user, subject=user,
                 address=address, summary=f"scheduled report “{subscription.name}” stopped",
                 details={"subscription": subscription.id, "name": subscription.name})
    session.delete(subscription)
    session.flush()


# --- the attachment ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportFile:
    attachment: Attachment
    rows: int


def report_attachment(session: Session, subscription: ReportSubscription, as_of: date,
                      expiring_days: int, now: datetime | None = None) -> ReportFile:
    """The report as the subscriber may see it on `as_of`, as CSV or XLSX."""
    user = subscription.user
    scope = managed_organisation_ids(session, user)
    filters, _ = read_filters(session, user, subscription.filters, as_of, expiring_days)
    heading = ReportHeading(
        title=f"Training compliance: {subscription.name}",
        generated_at=now or datetime.now(UTC), generated_by=user.name,
        filters=[("As of", f"{as_of.day} {as_of:%B %Y}"),
                 *described_filters(session, filters),
                 ("Expiring means", f"running out within {expiring_days} days")])
    counted = []

    def rows():
        for status in iter_learner_statuses(session, scope, filters):
            counted.append(1)
            yield report_rows.detail_row(status)

    stamp = f"{as_of:%Y-%m-%d}"
    if subscription.file_format == "xlsx":
        matrix = compliance_matrix(session, scope, filters)
        with xlsx_file(heading, report_rows.summary_header(filters),
                               report_rows.summary_rows(matrix), report_rows.DETAIL_HEADER,
                               rows()) as handle:
            data = handle.read()
        attachment = Attachment(f"compliance-{stamp}.xlsx", XLSX_CONTENT_TYPE, data)
    else:
        text = "".join(csv_chunks(heading, report_rows.DETAIL_HEADER, rows()))
        attachment = Attachment(f"compliance-{stamp}.csv", "text/csv", text.encode("utf-8"))
    return ReportFile(attachment, len(counted))
