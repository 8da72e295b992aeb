"""Records that travel and personal data: the privacy notice; a learner's request to move
organisation and their copy of everything held about them; managers' decisions on moves into
their organisations; administrators' subject access exports and erasure decisions."""

from __future__ import annotations

import json
from functools import partial

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField

from jesip_learn.accounts import details as account_details
from jesip_learn.accounts import organisations as orgs
from jesip_learn.accounts import own_account, transfers
from jesip_learn.accounts import registration as account_registration
from jesip_learn.accounts.models import COMMAND_ROLE_LABELS, TransferRequest, User
from jesip_learn.records import personal_data as records
from jesip_learn.records import readable as records_readable
from jesip_learn.records.audit import record_event
from jesip_learn.web.access import Audience, for_audience
from jesip_learn.web.auth import send_text, site_link
from jesip_learn.web.edge import abandon_changes, after_commit, client_address, db, writes_on_get
from jesip_learn.web.forms import choices, int_or_none, show_error

blueprint = Blueprint("records", __name__)
manage_blueprint = Blueprint("transfers", __name__, url_prefix="/manage")
admin_blueprint = Blueprint("records_admin", __name__, url_prefix="/admin")


@blueprint.route("/privacy")
@for_audience(Audience.PUBLIC)
def privacy():
    return render_template("records/privacy.html",
                           contact=current_app.config.get("PRIVACY_CONTACT", ""),
                           retention_years=current_app.config.get(
                               "RECORDS_RETENTION_YEARS", records.DEFAULT_RETENTION_YEARS))


# --- a learner's own data -----------------------------------------------------------------


def _subject_access(person: User, *, by_administrator: bool, kind: str) -> dict:
    export = records.subject_access(db(), person)
    record_event(db(), "records.subject_access", actor=current_user, subject=person,
                 address=client_address(), summary=f"Subject access export ({kind})",
                 details={"format": kind, "by_administrator": by_administrator})
    return export


def _readable_page(export: dict, person: User, json_url: str, *, own: bool) -> str:
    """The export in plain words, section by section, with its JSON download beside it."""
    return render_template("records/subject_access.html", export=export, person=person,
                           sections=records_readable.readable_sections(db(), export),
                           generated=records_readable.when(export["generated_at"]),
                           json_url=json_url, own=own)


def _json_download(export: dict, person: User) -> Response:
    return Response(json.dumps(export, indent=2, ensure_ascii=False, default=str),
                    mimetype="application/json", headers={
                        "Content-Disposition":
                            f'attachment; filename="jesip-learn-data-{person.id}.json"',
                        "Cache-Control": "no-store"})


@blueprint.route("/account/my-data")
@writes_on_get
def my_data():
    export = _subject_access(current_user, by_administrator=False, kind="html")
    return _readable_page(export, current_user, url_for("records.my_data_json"), own=True)


@blueprint.route("/account/my-data.json")
@writes_on_get
def my_data_json():
    return _json_download(_subject_access(current_user, by_administrator=False, kind="json"),
                          current_user)


# --- a learner asks to move -----------------------------------------------------------------


class TransferForm(FlaskForm):
    organisation = SelectField(validate_choice=False)
    command_role = RadioField(choices=choices(COMMAND_ROLE_LABELS.items()),
                              validate_choice=False)


@blueprint.route("/account/transfer", methods=["GET", "POST"])
def transfer():
    form = TransferForm(data={"command_role": current_user.command_role})
    form.organisation.choices = choices((o.id, o.name) for o in orgs.active_organisations(db())
                                        if o.id != current_user.organisation_id)
    if form.validate_on_submit():
        try:
            transfers.request_transfer(db(), current_user,
                                       organisation_id=int_or_none(form.organisation.data),
                                       command_role=form.command_role.data or "",
                                       address=client_address())
        except transfers.TransferError as error:
            abandon_changes()
            show_error(form, error.field, error.message)
        else:
            flash("Your request has been sent. A manager of the organisation you are moving "
                  "to will approve it, and we will email you when they have.", "success")
            return redirect(url_for("records.transfer"))
    return render_template("records/transfer.html", form=form,
                           pending=transfers.pending_request(db(), current_user),
                           history=transfers.membership_history(db(), current_user))


class NameForm(FlaskForm):
    name = StringField()


@blueprint.route("/account/name", methods=["GET", "POST"])
def change_name():
    """The person corrects their own name: it is on their certificates."""
    form = NameForm(data={"name": current_user.name})
    if form.validate_on_submit():
        try:
            changed = own_account.rename_self(db(), current_user, form.name.data or "",
                                              client_address())
        except account_details.AccountError as error:
            show_error(form, "name", error.message)
        else:
            flash("Your name has been changed." if changed else "Your name is unchanged.",
                  "success")
            return redirect(url_for("main.account"))
    return render_template("records/change_name.html", form=form)


class RoleForm(FlaskForm):
    command_role = RadioField(choices=choices(COMMAND_ROLE_LABELS.items()),
                              validate_choice=False)


@blueprint.route("/account/command-role", methods=["GET", "POST"])
def change_role():
    """The person asks to change their command role: it changes the training required of
    them, so a manager of their organisation approves it."""
    form = RoleForm(data={"command_role": current_user.command_role})
    if form.validate_on_submit():
        try:
            transfers.request_role_change(db(), current_user,
                                          command_role=form.command_role.data or "",
                                          address=client_address())
        except transfers.TransferError as error:
            abandon_changes()
            show_error(form, "command_role", error.message)
        else:
            flash("Your request has been sent. A manager of "
                  f"{current_user.organisation.name} will approve it, and we will email you "
                  "when they have.", "success")
            return redirect(url_for("records.change_role"))
    return render_template("records/change_role.html", form=form,
                           pending=transfers.pending_request(db(), current_user))


@blueprint.route("/account/transfer/cancel", methods=["POST"])
def cancel_transfer():
    if FlaskForm().validate_on_submit() and transfers.cancel_request(
            db(), current_user, client_address()):
        flash("Your request to move has been cancelled.", "success")
    return redirect(url_for("records.transfer"))


# --- managers decide on moves into their organisations ---------------------------------------


@manage_blueprint.route("/transfers")
def requests():
    return render_template("records/transfer_requests.html", form=FlaskForm(),
                           requests=transfers.requests_to_decide(db(), current_user))


def _request_in_scope(request_id: int) -> TransferRequest:
    found = db().get(TransferRequest, request_id)
    if found is None or not transfers.can_decide(db(), current_user, found):
        abort(404)
    return found


@manage_blueprint.route("/transfers/<int:request_id>/approve", methods=["POST"],
                        defaults={"decision": "approve"})
@manage_blueprint.route("/transfers/<int:request_id>/decline", methods=["POST"],
                        defaults={"decision": "decline"}, endpoint="decline")
def decide(request_id: int, decision: str):
    found = _request_in_scope(request_id)
    if not FlaskForm().validate_on_submit():
        return redirect(url_for("transfers.requests"))
    decide_now = transfers.approve_transfer if decision == "approve" else \
        transfers.decline_transfer
    try:
        decide_now(db(), current_user, found, client_address())
    except transfers.TransferError as error:
        abandon_changes()
        flash(error.message, "error")
        return redirect(url_for("transfers.requests"))
    person = found.user
    # Sent once the decision is saved, saying who made it.
    decider = account_registration.decider_in_words(db(), current_user, found.to_organisation)
    kind = "role_change" if found.is_role_change else "transfer"
    text = render_template(f"mail/{kind}_{decision}d.txt", user=person, request=found,
                           decider=decider, link=site_link("learn.my_training"))
    subject = ("Your change of command role" if found.is_role_change
               else f"Your move to {found.to_organisation.name}")
    after_commit(partial(send_text, person.email, subject, text))
    if found.is_role_change:
        role = COMMAND_ROLE_LABELS[found.command_role]
        flash(f"{person.name} is now {role.lower()}. We have emailed them."
              if decision == "approve" else f"{person.name}’s request to change command "
              f"role to {role.lower()} has been declined. We have emailed them.", "success")
        return redirect(url_for("transfers.requests"))
    flash(f"{person.name} now belongs to {found.to_organisation.name}. We have emailed them."
          if decision == "approve" else f"{person.name}’s request to move to "
          f"{found.to_organisation.name} has been declined. We have emailed them.", "success")
    return redirect(url_for("transfers.requests"))


# --- administrators: subject access and erasure ----------------------------------------------


@admin_blueprint.route("/users/<int:user_id>/subject-access")
@writes_on_get
def subject_access(user_id: int):
    person = db().get(User, user_id) or abort(404)
    export = _subject_access(person, by_administrator=True, kind="html")
    return _readable_page(export, person, url_for("records_admin.subject_access_json",
                                                  user_id=person.id), own=False)


@admin_blueprint.route("/users/<int:user_id>/subject-access.json")
@writes_on_get
def subject_access_json(user_id: int):
    person = db().get(User, user_id) or abort(404)
    return _json_download(_subject_access(person, by_administrator=True, kind="json"), person)


class ErasureForm(FlaskForm):
    decision = RadioField(choices=choices([("erase", "Erase: anonymise their details now"),
                                           ("refuse", "Refuse: the records must be kept")]),
                          validate_choice=False)
    reason = TextAreaField()
    confirmed = HiddenField()


@admin_blueprint.route("/users/<int:user_id>/erasure", methods=["GET", "POST"])
def erasure(user_id: int):
    person = db().get(User, user_id) or abort(404)
    form = ErasureForm()
    if form.validate_on_submit():
        try:
            confirmed = _decide_erasure(person, form)
        except records.ErasureError as error:
            abandon_changes()
            show_error(form, error.field, error.message)
        else:
            if confirmed:
                return redirect(url_for("admin.user_edit", user_id=person.id))
            return render_template("records/erasure_confirm.html", form=form, person=person,
                                   counts=records.record_counts(db(), person))
    return render_template("records/erasure.html", form=form, person=person,
                           anonymisation=records.anonymisation_of(db(), person))


def _decide_erasure(person: User, form: ErasureForm) -> bool:
    """Refuse at once; erase only once the confirmation page has been submitted. True when
    the decision has been carried out."""
    if form.decision.data not in ("erase", "refuse"):
        raise records.ErasureError("decision", "Select whether to erase or refuse")
    if form.decision.data == "refuse":
        records.refuse_erasure(db(), current_user, person, reason=form.reason.data,
                               address=client_address())
        flash("The refusal and its reason have been recorded in the audit log.", "success")
        return True
    if form.confirmed.data != "yes":
        form.reason.data = records.check_erasure(db(), current_user, person, form.reason.data)
        return False
    records.erase_on_request(db(), current_user, person, reason=form.reason.data,
                             address=client_address())
    flash(f"The details of account {person.id} have been anonymised.", "success")
    return True


# --- template filters ------------------------------------------------------------------------


@blueprint.app_template_filter("command_role_label")
def command_role_label(value: str) -> str:
    return COMMAND_ROLE_LABELS.get(value, value)


