"""Administration: users, their permissions, and organisations."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired

from jesip_learn.accounts import administration as account_administration
from jesip_learn.accounts import details as account_details
from jesip_learn.accounts import mfa, user_search
from jesip_learn.accounts import organisations as orgs
from jesip_learn.accounts.models import (
    COMMAND_ROLE_LABELS,
    PERMISSION_LABELS,
    SERVICE_LABELS,
    AccountStatus,
    Organisation,
    Permission,
    User,
)
from jesip_learn.compliance.report_filters import end_of_day
from jesip_learn.core.exports.csv_writer import csv_chunks
from jesip_learn.core.exports.heading import ReportHeading
from jesip_learn.records import audit
from jesip_learn.web.edge import abandon_changes, client_address, db, writes_on_get
from jesip_learn.web.forms import choices, int_or_none, page_number, show_error

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

COUNTRIES = ("England", "Wales", "Scotland", "Northern Ireland", "Great Britain",
             "United Kingdom")


@blueprint.route("/", endpoint="index")
def administration():
    return render_template("admin/index.html", sections=ADMIN_SECTIONS)


# The parts of running the site, in the order an administrator most often needs them.
ADMIN_SECTIONS = [
    ("admin.users", "Users", "Find people, change their organisation, role and permissions, "
     "reset two-step verification, deactivate accounts."),
    ("admin.organisations", "Organisations", "Police, fire, ambulance and partner "
     "organisations, their email domains and Local Resilience Forum areas."),
    ("sso_admin.index", "Sign-in with organisation accounts", "Microsoft Entra ID and other "
     "OpenID Connect providers, the organisations and tenants that sign in through them, "
     "and the organisations that require it."),
    ("admin.audit_log", "Audit log", "Who signed in, changed accounts, published courses, "
     "imported records and downloaded reports: search it and download it."),
    ("notifications.admin_page", "Emails", "Reminders, digests and reports sent, and any "
     "that failed."),
    ("xapi.outbox_page", "Learning record store", "xAPI statements waiting to be sent, and "
     "any the store refused."),
]


@blueprint.route("/users", endpoint="users")
def users_list():
    search = user_search.UserSearch(
        text=request.args.get("q", "")[:200],
        organisation_id=int_or_none(request.args.get("organisation")),
        permission=request.args.get("permission", "") if request.args.get("permission")
        in set(Permission) else "",
        command_role=request.args.get("command_role", "")
        if request.args.get("command_role") in COMMAND_ROLE_LABELS else "",
        status=AccountStatus(request.args["status"])
        if request.args.get("status") in set(AccountStatus) else None,
        page=page_number(request.args.get("page")),
    )
    result = user_search.search_users(db(), current_user, search)
    return render_template("admin/users.html", result=result, search=search,
                           organisations=orgs.active_organisations(db()))


class AccountForm(FlaskForm):
    name = StringField(validators=[InputRequired("Enter the person’s full name")])
    organisation = SelectField(validate_choice=False)
    command_role = RadioField(choices=choices(COMMAND_ROLE_LABELS.items()), validate_choice=False)
    permissions = SelectMultipleField(choices=choices(PERMISSION_LABELS.items()),
                                      validate_choice=False)
    manager_area = SelectField(validate_choice=False)
    is_active = BooleanField()


def _account_form(user: User) -> AccountForm:
    form = AccountForm(obj=None) if request.method == "POST" else AccountForm(
        data={
            "name": user.name,
            "organisation": str(user.organisation_id),
            "command_role": user.command_role,
            "permissions": sorted(user.permissions),
            "manager_area": str(user.manager_grant().area_id or "") if user.manager_grant()
            else "",
            "is_active": user.is_active,
        }
    )
    form.organisation.choices = choices((o.id, o.name) for o in orgs.active_organisations(db()))
    form.manager_area.choices = choices([("", "Their own organisation only")] + [
        (a.id, f"Every organisation of {a.name}") for a in orgs.list_areas(db())
    ])
    return form


@blueprint.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):
    user = db().get(User, user_id) or abort(404)
    form = _account_form(user)
    if form.validate_on_submit():
        changes = account_administration.AccountChanges(
            name=form.name.data, organisation_id=int_or_none(form.organisation.data),
            command_role=form.command_role.data or "", permissions=set(form.permissions.data),
            manager_area_id=int_or_none(form.manager_area.data), is_active=form.is_active.data)
        try:
            account_administration.update_account(db(), current_user, user, changes)
        except account_details.AccountError as error:
            abandon_changes()
            show_error(form, error.field, error.message)
        else:
            flash(f"Changes to {user.name}’s account have been saved.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_edit.html", form=form, user=user)


@blueprint.route("/users/<int:user_id>/reset-two-step", methods=["POST"])
def reset_two_step(user_id: int):
    user = db().get(User, user_id) or abort(404)
    if FlaskForm().validate_on_submit() and user.mfa_enabled:
        try:
            mfa.reset(db(), current_user, user, address=client_address())
        except mfa.TwoStepError as error:
            flash(error.message, "error")
        else:
            flash(f"{user.name}’s two-step verification has been reset. They set it up again "
                  "at their next sign-in.", "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@blueprint.route("/organisations")
def organisations():
    service = request.args.get("service", "")
    service = service if service in SERVICE_LABELS else ""
    area_id = int_or_none(request.args.get("area"))
    found = orgs.list_organisations(db(), search=request.args.get("q", "")[:200],
                                    service=service, area_id=area_id)
    return render_template("admin/organisations.html", organisations=found,
                           areas=orgs.list_areas(db()), service=service, area_id=area_id,
                           q=request.args.get("q", ""))


class OrganisationForm(FlaskForm):
    name = StringField(validators=[InputRequired("Enter the organisation’s name")])
    service = RadioField(choices=choices(SERVICE_LABELS.items()), validate_choice=False,
                         validators=[InputRequired("Select the organisation’s service")])
    country = SelectField(choices=choices((c, c) for c in COUNTRIES))
    areas = SelectMultipleField(validate_choice=False)
    domains = StringField()
    is_active = BooleanField(default=True)


def _organisation_form(organisation: Organisation | None) -> OrganisationForm:
    if request.method == "POST" or organisation is None:
        form = OrganisationForm()
    else:
        form = OrganisationForm(data={
            "name": organisation.name, "service": organisation.service,
            "country": organisation.country or "England",
            "areas": [str(a.id) for a in organisation.areas],
            "domains": "\n".join(d.domain for d in organisation.domains),
            "is_active": organisation.is_active,
        })
    form.areas.choices = choices((a.id, a.name) for a in orgs.list_areas(db()))
    return form


@blueprint.route("/organisations/new", methods=["GET", "POST"])
@blueprint.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
def organisation_edit(organisation_id: int | None = None):
    organisation = None
    if organisation_id is not None:
        organisation = db().get(Organisation, organisation_id) or abort(404)
    form = _organisation_form(organisation)
    if form.validate_on_submit():
        try:
            saved = orgs.save_organisation(
                db(), name=form.name.data, service=form.service.data, country=form.country.data,
                area_ids=[area for area in map(int_or_none, form.areas.data) if area],
                domains=orgs.parse_domains(form.domains.data), organisation=organisation)
        except orgs.OrganisationError as error:
            abandon_changes()
            show_error(form, error.field, error.message)
        else:
            saved.is_active = form.is_active.data
            flash(f"{saved.name} has been saved.", "success")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_edit.html", form=form, organisation=organisation)


# --- the audit log -----------------------------------------------------------------------


def _audit_search() -> tuple[audit.AuditSearch, list[dict], dict]:
    """The search in the query string, problems with it, and the values to show back."""
    shown = {key: request.args.get(key, "").strip()[:200] for key in ("q", "action", "from",
                                                                      "to")}
    errors, bounds = [], {}
    for key, label in (("from", "From"), ("to", "To")):
        if shown[key]:
            try:
                bounds[key] = date.fromisoformat(shown[key])
            except ValueError:
                errors.append({"text": f"{label}: enter a date as 2026-03-31",
                               "href": f"#{key}"})
    search = audit.AuditSearch(
        text=shown["q"], action=shown["action"],
        since=end_of_day(bounds["from"] - timedelta(days=1))
        if "from" in bounds else None,
        until=end_of_day(bounds["to"]) if "to" in bounds else None,
        page=page_number(request.args.get("page")))
    return search, errors, shown


@blueprint.route("/audit")
def audit_log():
    search, errors, shown = _audit_search()
    return render_template("admin/audit.html", result=audit.search_events(db(), search),
                           errors=errors, shown=shown, families=audit.action_families(db()))


@blueprint.route("/audit.csv")
@writes_on_get
def audit_download():
    search, errors, shown = _audit_search()
    if errors:
        abort(400)
    heading = ReportHeading(
        title="Audit log", generated_at=datetime.now(UTC), generated_by=current_user.name,
        filters=[(label, shown[key]) for key, label in (
            ("q", "Search"), ("action", "Action"), ("from", "From"), ("to", "To"))
            if shown[key]])
    audit.record_event(db(), "audit.downloaded", actor=current_user,
                       address=client_address(), details={"filters": dict(heading.filters)})
    rows = ([row.at, row.action, row.actor, row.subject, row.organisation, row.address,
             row.summary, json.dumps(row.details, sort_keys=True, default=str)]
            for row in audit.iter_events(db(), search))
    header = ["When (UTC)", "Action", "Who", "About", "Organisation", "From address",
              "Summary", "Details"]
    return Response(stream_with_context(csv_chunks(heading, header, rows)),
                    mimetype="text/csv", headers={
                        "Content-Disposition": 'attachment; filename="audit-log.csv"',
                        "Cache-Control": "no-store"})
