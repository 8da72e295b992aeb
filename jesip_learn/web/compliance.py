"""Managers' and administrators' compliance pages: the dashboard, the people behind each
number, one person's record, the downloads, and the requirement rules.

Every page works within the viewer's scope (permissions.managed_organisation_ids): the
domain queries take the scope, so no filter or parameter can widen it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from jesip_learn.accounts.models import (
    COMMAND_ROLE_LABELS,
    SERVICE_LABELS,
    Organisation,
    User,
)
from jesip_learn.accounts.permissions import (
    can_manage_user,
    manageable_user_ids,
    managed_organisation_ids,
    organisations_in_scope,
)
from jesip_learn.compliance import acceptance as requirement_acceptance
from jesip_learn.compliance import report_rows
from jesip_learn.compliance.dashboard import (
    SORT_BY_ALL,
    SORT_BY_NAME,
    Matrix,
    compliance_dashboard,
    compliance_matrix,
    matrix_page,
    sorted_matrix_rows,
)
from jesip_learn.compliance.models import Requirement
from jesip_learn.compliance.person_status import (
    LearnerStatus,
    iter_learner_statuses,
    learner_statuses,
    person_statuses,
)
from jesip_learn.compliance.report_filters import (
    DEFAULT_EXPIRING_DAYS,
    GROUPINGS,
    LONDON,
    ReportFilters,
    today_in_london,
)
from jesip_learn.compliance.report_rows import DETAIL_HEADER
from jesip_learn.compliance.report_rows import detail_row as _detail_row
from jesip_learn.compliance.report_rows import london_date as _london_date
from jesip_learn.compliance.report_rows import summary_header as SUMMARY_HEADER  # noqa: N812
from jesip_learn.compliance.report_rows import summary_rows as _summary_rows
from jesip_learn.compliance.requirements import (
    RuleError,
    add_rule,
    can_change_rule,
    describe_rule,
    remove_rule,
    required_columns,
    rules_in_scope,
)
from jesip_learn.compliance.states import (
    COMPLIANT_STATES,
    STATE_FILTER_LABELS,
    STATE_LABELS,
    ComplianceState,
)
from jesip_learn.core.exports.csv_writer import csv_chunks
from jesip_learn.core.exports.heading import ReportHeading
from jesip_learn.core.exports.pdf_writer import pdf_summary
from jesip_learn.core.exports.xlsx_writer import XLSX_CONTENT_TYPE, xlsx_chunks
from jesip_learn.courses.models import Course
from jesip_learn.exercises import recorded as exercises
from jesip_learn.exercises import rules as exercise_rules
from jesip_learn.exercises.models import ExerciseRequirement
from jesip_learn.learning import allowances, history, progress
from jesip_learn.records.audit import record_event
from jesip_learn.web import charts
from jesip_learn.web.edge import client_address, db, writes_on_get
from jesip_learn.web.forms import int_or_none, page_number

blueprint = Blueprint("compliance", __name__, url_prefix="/manage")

DOWNLOADS = {
    "detail.csv": "CSV: one row per person and course",
    "by-person.csv": "CSV: one row per person, a column per course",
    "report.xlsx": "Excel workbook: summary and details",
    "summary.pdf": "PDF summary",
}


# --- reading the filters -----------------------------------------------------------------


def _scope() -> set[int] | None:
    return managed_organisation_ids(db(), current_user)


def _read_filters() -> tuple[ReportFilters, list[dict], dict]:
    """The filters in the query string, the problems found, and the values to show back.
    A filter that is not one of the choices is reported and left out, never guessed."""
    args = request.args
    errors = []
    today = today_in_london()
    shown = {key: args.get(key, "").strip() for key in (
        "service", "organisation", "command_role", "course", "status", "group",
        "as_of-day", "as_of-month", "as_of-year")}
    as_of = today
    if shown["as_of-day"] or shown["as_of-month"] or shown["as_of-year"]:
        try:
            as_of = date(*(_number(shown[f"as_of-{part}"]) for part in ("year", "month", "day")))
        except ValueError:
            errors.append({"text": "Enter a real date, for example 31 3 2026",
                           "href": "#as_of-day"})
            as_of = today
        else:
            if as_of > today:
                errors.append({"text": "The date must be today or in the past",
                               "href": "#as_of-day"})
                as_of = today
            elif as_of.year < 2000:
                errors.append({"text": "Enter a date from the year 2000 on",
                               "href": "#as_of-day"})
                as_of = today
    filters = ReportFilters(as_of=as_of, expiring_days=current_app.config.get(
        "COMPLIANCE_EXPIRING_DAYS", DEFAULT_EXPIRING_DAYS))

    def choose(name, choices, message, convert=str):
        raw = shown[name]
        if not raw:
            return None
        try:
            value = convert(raw)
        except ValueError:
            value = None
        if value not in choices:
            errors.append({"text": message, "href": f"#{name}"})
            shown[name] = ""
            return None
        return value

    organisations = {org.id for org in organisations_in_scope(db(), current_user)}
    courses = {column.id for column in required_columns(db())}
    filters = replace(
        filters,
        service=choose("service", set(SERVICE_LABELS), "Select a service from the list"),
        organisation_id=choose("organisation", organisations,
                               "Select an organisation from the list", _number),
        command_role=choose("command_role", set(COMMAND_ROLE_LABELS),
                            "Select a command role from the list"),
        course_id=choose("course", courses, "Select a course from the list", _number),
        state=choose("status", set(STATE_FILTER_LABELS), "Select a status from the list"),
        group_by=choose("group", set(GROUPINGS), "Select how to group the rows")
        or "organisation",
        course_ids=_chosen_courses(args.getlist("courses"), courses, shown, errors),
    )
    if not shown["as_of-day"]:
        shown.update({"as_of-day": str(as_of.day), "as_of-month": str(as_of.month),
                      "as_of-year": str(as_of.year)})
    return filters, errors, shown


def _chosen_courses(raw: list[str], courses: set[int], shown: dict,
                    errors: list[dict]) -> tuple[int, ...]:
    """The courses a manager chose to see as columns; none chosen means all of them."""
    chosen = []
    for text in raw:
        try:
            value = _number(text.strip())
        except ValueError:
            value = None
        if value not in courses:
            errors.append({"text": "Select courses from the list", "href": "#courses"})
            return ()
        chosen.append(value)
    shown["courses"] = [str(value) for value in chosen]
    return tuple(sorted(set(chosen)))


def _number(text: str) -> int:
    """A number from the query string, negative for an exercise's column of the report
    (minus its months); ValueError, as `int` raises, when it is not one."""
    value = int_or_none(text.removeprefix("-"))
    if value is None:
        raise ValueError(f"not a number: {text[:20]!r}")
    return -value if text.startswith("-") else value


def _filter_args(shown: dict, **changes) -> dict:
    """The query string of the current filters, with changes, for links and downloads.
    The chosen courses are a list: the query string repeats `courses` for each."""
    args = {key: value for key, value in shown.items() if value}
    args.update({key: value for key, value in changes.items() if value is not None})
    return {key: value for key, value in args.items() if value != ""}


def _described_filters(filters: ReportFilters) -> list[tuple[str, str]]:
    """The filters in words, as every download states them."""
    scope = _scope()
    if scope is None:
        scope_text = "All organisations"
    else:
        names = [org.name for org in organisations_in_scope(db(), current_user)]
        scope_text = "; ".join(names) if names else "No organisations"
    described = [("As of", f"{filters.as_of.day} {filters.as_of:%B %Y}"),
                 ("Organisations you may see", scope_text)]
    if filters.service:
        described.append(("Service", SERVICE_LABELS[filters.service]))
    if filters.organisation_id:
        described.append(("Organisation", db().get(Organisation, filters.organisation_id).name))
    if filters.command_role:
        described.append(("Command role", COMMAND_ROLE_LABELS[filters.command_role]))
    if filters.course_id:
        column = next(column for column in required_columns(db())
                      if column.id == filters.course_id)
        described.append(("Course", f"{column.code}: {column.title}"))
    if filters.course_ids:
        described.append(("Courses shown", "; ".join(
            column.code for column in required_columns(db())
            if column.id in filters.course_ids)))
    if filters.state:
        described.append(("Status", STATE_FILTER_LABELS[filters.state]))
    described.append(("Rows by", GROUPINGS[filters.group_by]))
    described.append(("Expiring means", f"running out within {filters.expiring_days} days"))
    return described


def _filter_choices() -> dict:
    """The filters' options, each as (value, text) pairs or a dict of them."""
    return {
        "services": SERVICE_LABELS,
        "organisation_options": [(org.id, org.name)
                                 for org in organisations_in_scope(db(), current_user)],
        "roles": COMMAND_ROLE_LABELS,
        "course_options": [(column.id, f"{column.code}: {column.title}")
                           for column in required_columns(db())],
        "statuses": STATE_FILTER_LABELS,
        "groupings": GROUPINGS,
    }


# --- pages -------------------------------------------------------------------------------


@blueprint.route("/compliance")
def dashboard():
    filters, errors, shown = _read_filters()
    scope = _scope()
    # The matrix and the trend from one statement on every view, never kept: the chart's
    # last month is the headline's own figures.
    figures = compliance_dashboard(db(), scope, filters)
    matrix, trend = figures.matrix, figures.trend
    sort, descending = _read_sort(matrix)
    rows = sorted_matrix_rows(matrix, sort, descending)
    table = matrix_page(rows, page_number(request.args.get("page")))
    by_row = charts.bar_chart([(row.label, row.total.percent) for row in table.rows])
    over_time = charts.line_chart([(f"{point.as_of:%b %Y}", point.percent) for point in trend])
    return render_template(
        "manage/compliance.html", matrix=matrix, table=table, sort=sort,
        descending=descending, filters=filters, errors=errors, shown=shown,
        choices=_filter_choices(), trend=trend, by_row=by_row, over_time=over_time,
        band=charts.band, filter_args=_filter_args, downloads=DOWNLOADS,
        proposed=len(requirement_acceptance.proposals(db(), current_user)))


def _read_sort(matrix: Matrix) -> tuple[str, bool]:
    """The column the rows are sorted by (name, "all" or a course's id) and whether
    largest first; anything else sorts by name, as the page first shows it."""
    sort = request.args.get("sort", "")
    columns = {str(course.id) for course in matrix.courses}
    if sort not in columns | {SORT_BY_NAME, SORT_BY_ALL}:
        sort = SORT_BY_NAME
    return sort, request.args.get("order") == "desc"


@blueprint.route("/compliance/learners")
def learners():
    filters, errors, shown = _read_filters()
    group = request.args.get("group_key") or None
    page = page_number(request.args.get("page"))
    result = learner_statuses(db(), _scope(), filters, group_key=group, page=page)
    group_label = _group_label(filters, group)
    return render_template(
        "manage/compliance_learners.html", result=result, filters=filters, errors=errors,
        shown=shown, group_key=group, group_label=group_label, filter_args=_filter_args,
        downloads=DOWNLOADS, choices=_filter_choices(),
        linkable=manageable_user_ids(db(), current_user, (row.user_id for row in result.rows)))


def _group_label(filters: ReportFilters, group: str | None) -> str | None:
    if group is None:
        return None
    if filters.group_by == "command-role":
        return COMMAND_ROLE_LABELS.get(group)
    organisation_id = int_or_none(group)
    organisation = db().get(Organisation, organisation_id) if organisation_id else None
    scope = _scope()
    if organisation is None or (scope is not None and organisation.id not in scope):
        abort(404)
    return organisation.name


@blueprint.route("/learners/<int:user_id>")
def learner(user_id: int):
    person = db().get(User, user_id)
    # Someone outside the viewer's scope is "not found", so their existence is not revealed.
    if person is None or not can_manage_user(db(), current_user, person):
        abort(404)
    filters, errors, shown = _read_filters()
    return render_template(
        "manage/learner.html", person=person, filters=filters, errors=errors, shown=shown,
        statuses=person_statuses(db(), person, filters),
        completions=progress.learner_completions(db(), person),
        history=history.learning_history(db(), person),
        exercises=exercises.exercises_of(db(), person), filter_args=_filter_args,
        stuck=allowances.stuck_quizzes_of(db(), current_user, person))


# --- downloads ---------------------------------------------------------------------------


@blueprint.route("/compliance/download/<kind>")
@writes_on_get
def download(kind: str):
    if kind not in DOWNLOADS:
        abort(404)
    filters, errors, _shown = _read_filters()
    if errors:
        abort(400)
    group = request.args.get("group_key") or None
    if group is not None:
        _group_label(filters, group)  # 404 outside scope
    heading = ReportHeading(
        title="Training compliance", generated_at=datetime.now(UTC),
        filters=_described_filters(filters), generated_by=current_user.name)
    record_event(db(), "report.downloaded", actor=current_user, address=client_address(),
                 summary=f"compliance {kind}",
                 details={"kind": kind, "filters": dict(heading.filters), "group": group})
    return WRITERS[kind](_scope(), filters, group, heading, f"{filters.as_of:%Y-%m-%d}")


def _detail_csv(scope, filters, group, heading, stamp) -> Response:
    rows = (_detail_row(row) for row in iter_learner_statuses(
        db(), scope, filters, group_key=group))
    return _streamed(csv_chunks(heading, DETAIL_HEADER, rows), "text/csv",
                     f"compliance-detail-{stamp}.csv")


def _by_person_csv(scope, filters, group, heading, stamp) -> Response:
    courses = [column for column in required_columns(db())
               if filters.course_id in (None, column.id)]
    header = PERSON_HEADER + [f"{course.code}: {course.title}" for course in courses]
    rows = _pivot_rows(iter_learner_statuses(db(), scope, filters, group_key=group),
                       courses, filters.moment)
    return _streamed(csv_chunks(heading, header, rows), "text/csv",
                     f"compliance-by-person-{stamp}.csv")


def _workbook(scope, filters, group, heading, stamp) -> Response:
    matrix = compliance_matrix(db(), scope, filters)
    rows = (_detail_row(row) for row in iter_learner_statuses(
        db(), scope, filters, group_key=group))
    chunks = xlsx_chunks(heading, SUMMARY_HEADER(filters), _summary_rows(matrix),
                                 DETAIL_HEADER, rows)
    return _streamed(chunks, XLSX_CONTENT_TYPE, f"compliance-{stamp}.xlsx")


def _pdf_summary(scope, filters, group, heading, stamp) -> Response:
    matrix = compliance_matrix(db(), scope, filters)
    pdf = pdf_summary(heading, SUMMARY_HEADER(filters), list(_summary_rows(matrix)),
                              chart=[(row.label, row.total.percent) for row in matrix.rows],
                              overall=report_rows.overall_in_words(matrix.total))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="compliance-{stamp}.pdf"'})


WRITERS = {"detail.csv": _detail_csv, "by-person.csv": _by_person_csv,
           "report.xlsx": _workbook, "summary.pdf": _pdf_summary}


PERSON_HEADER = ["Name", "Email", "Organisation", "Service", "Command role"]


def _pivot_rows(statuses, courses, moment: datetime):
    """One row per person: the detail rows arrive ordered by person, so each person's
    courses are consecutive and only one person is held in memory."""
    person, cells = None, {}
    for row in statuses:
        if person is not None and row.user_id != person.user_id:
            yield _pivot_row(person, cells, courses)
            cells = {}
        person = row
        cells[row.course_code] = _status_in_words(row, moment)
    if person is not None:
        yield _pivot_row(person, cells, courses)


def _pivot_row(person, cells, courses) -> list:
    return [person.name, person.email, person.organisation,
            SERVICE_LABELS.get(person.service, person.service),
            COMMAND_ROLE_LABELS.get(person.command_role, person.command_role),
            *(cells.get(course.code, "Not required") for course in courses)]


def _status_in_words(row: LearnerStatus, moment: datetime) -> str:
    expires = _london_date(row.expires_at)
    if row.state in COMPLIANT_STATES and expires:
        return f"{row.state_label} until {expires:%Y-%m-%d}"
    if row.state == ComplianceState.EXPIRED:
        if expires and row.expires_at <= moment:
            return f"Expired on {expires:%Y-%m-%d}"
        return "Expired: a new version must be completed"
    return row.state_label


def _streamed(chunks, mimetype: str, filename: str) -> Response:
    return Response(stream_with_context(chunks), mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


# --- requirement rules -------------------------------------------------------------------


@blueprint.route("/requirements", methods=["GET", "POST"])
def requirements():
    form = FlaskForm()
    errors, values = [], {}
    if request.method == "POST" and form.validate_on_submit():
        values = {key: request.form.get(key, "").strip() for key in (
            "course_id", "months", "service", "organisation_id", "command_role")}
        try:
            description = _add_rule(values)
        except RuleError as problem:
            errors.append({"text": problem.message, "href": f"#{problem.field}"})
        else:
            flash(f"Rule added: {description}.", "success")
            return redirect(url_for("compliance.requirements"))
    elif request.method == "POST":
        errors.append({"text": "The form had expired. Try again.", "href": "#course_id"})
    courses = list(db().scalars(select(Course).where(Course.published_version_id.is_not(None))
                                .order_by(Course.code)))
    accepted = requirement_acceptance.acceptances(db())
    return render_template(
        "manage/requirements.html", form=form, errors=errors, values=values,
        rules=rules_in_scope(db(), current_user),
        course_requirements=[_required_by_course(course, accepted) for course in courses
                             if requirement_acceptance.proposes_requirement(
                                 course.published_version)],
        proposals=requirement_acceptance.proposals(db(), current_user, include_declined=True),
        course_options=[(course.id, f"{course.code}: {course.title}") for course in courses]
        + [(EXERCISE_CHOICE, "A multi-agency exercise")],
        exercise_rules=exercise_rules.exercise_rules_in_scope(db(), current_user),
        describe_exercise_rule=exercise_rules.describe_exercise_rule,
        can_change_exercise_rule=lambda rule: exercise_rules.can_change_exercise_rule(
            db(), current_user, rule),
        organisation_options=[(org.id, org.name)
                              for org in organisations_in_scope(db(), current_user)],
        services=SERVICE_LABELS, roles=COMMAND_ROLE_LABELS, is_admin=current_user.is_admin,
        describe=lambda rule: describe_rule(db(), rule),
        can_change=lambda rule: can_change_rule(db(), current_user, rule),
    ), (400 if errors else 200)


EXERCISE_CHOICE = "exercise"


def _add_rule(values: dict) -> str:
    """Add the rule the form describes, for a course or an exercise; what it says."""
    def number(key):
        return int_or_none(values[key])

    who = {"service": values["service"] or None, "organisation_id": number("organisation_id"),
           "command_role": values["command_role"] or None}
    if values["course_id"] == EXERCISE_CHOICE:
        return exercise_rules.describe_exercise_rule(exercise_rules.add_exercise_rule(
            db(), current_user, months=values["months"], **who))
    rule = add_rule(db(), current_user, course_id=number("course_id"), **who)
    return describe_rule(db(), rule)


def _required_by_course(course: Course, accepted: dict) -> tuple[Course, str, str, str]:
    version = course.published_version
    services = ", ".join(SERVICE_LABELS[s] for s in version.required_services)
    roles = ", ".join(COMMAND_ROLE_LABELS[r].lower() for r in version.required_roles)
    return course, services, roles, _where_in_effect(accepted.get(course.id))


def _where_in_effect(where) -> str:
    """Where a course's own requirement applies, as far as the viewer may see."""
    if where is None:
        return "Not in effect anywhere: proposed, not yet accepted"
    if where.site:
        return "In effect everywhere (accepted by an administrator)"
    scope = _scope()
    mine = where.organisation_ids if scope is None else where.organisation_ids & scope
    if not mine:
        return "Not in effect in your organisations"
    names = sorted(db().get(Organisation, org_id).name for org_id in mine)
    return "In effect in " + ", ".join(names)


@blueprint.route("/requirements/courses/<code>/decide", methods=["POST"])
def decide_requirement(code: str):
    """Accept or decline a course's own required_for, site-wide or for one organisation."""
    course = db().scalar(select(Course).where(func.upper(Course.code) == code.upper()))
    if course is None or course.published_version_id is None:
        abort(404)
    if FlaskForm().validate_on_submit():
        organisation_id = int_or_none(request.form.get("organisation_id"))
        accept = request.form.get("decision") == "accept"
        try:
            requirement_acceptance.decide(db(), current_user, course, organisation_id, accept,
                                          address=client_address())
        except requirement_acceptance.DecisionRefused as refused:
            flash(refused.message)
        else:
            where = (db().get(Organisation, organisation_id).name if organisation_id
                     else "every organisation")
            flash(f"{course.code} is {'now' if accept else 'not'} required for {where}, as "
                  "the course proposes.", "success")
    return redirect(url_for("compliance.requirements") + "#proposed")


@blueprint.route("/requirements/exercise/<int:rule_id>/remove", methods=["POST"])
def remove_exercise_requirement(rule_id: int):
    rule = db().get(ExerciseRequirement, rule_id)
    if rule is None or not exercise_rules.can_change_exercise_rule(db(), current_user, rule):
        abort(404)
    if FlaskForm().validate_on_submit():
        description = exercise_rules.describe_exercise_rule(rule)
        exercise_rules.remove_exercise_rule(db(), current_user, rule)
        flash(f"Rule removed: {description}.", "success")
    return redirect(url_for("compliance.requirements"))


@blueprint.route("/requirements/<int:rule_id>/remove", methods=["POST"])
def remove_requirement(rule_id: int):
    rule = db().get(Requirement, rule_id)
    if rule is None or not can_change_rule(db(), current_user, rule):
        abort(404)
    if FlaskForm().validate_on_submit():
        description = describe_rule(db(), rule)
        remove_rule(db(), current_user, rule)
        flash(f"Rule removed: {description}.", "success")
    return redirect(url_for("compliance.requirements"))


@blueprint.app_template_filter("short_date")
def short_date(moment) -> str:
    """A date for a table cell, in the UK: 3 Mar 2027."""
    return f"{moment.astimezone(LONDON):%-d %b %Y}" if moment else ""


@blueprint.context_processor
def _report_labels():
    return {"STATE_LABELS": STATE_LABELS,
            "STATE_FILTER_LABELS": STATE_FILTER_LABELS}
