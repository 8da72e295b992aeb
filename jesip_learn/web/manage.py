"""Managers' pages: approving registrations for the organisations they manage, and adding
a person (administrators anywhere, managers in the organisations they manage)."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SelectMultipleField, StringField

from jesip_learn.accounts import administration as account_administration
from jesip_learn.accounts import details as account_details
from jesip_learn.accounts import registration as account_registration
from jesip_learn.accounts import transfers, user_search
from jesip_learn.accounts.models import COMMAND_ROLE_LABELS, PERMISSION_LABELS, Permission, User
from jesip_learn.accounts.permissions import can_grant, can_manage_user, organisations_in_scope
from jesip_learn.web.auth import send_mail, send_text, site_link
from jesip_learn.web.edge import abandon_changes, after_commit, client_address, db
from jesip_learn.web.forms import choices, int_or_none, show_error

blueprint = Blueprint("manage", __name__, url_prefix="/manage")


def _user_in_scope(user_id: int) -> User:
    user = db().get(User, user_id)
    # Someone outside the manager's scope is "not found", so their existence is not revealed.
    if user is None or not can_manage_user(db(), current_user, user):
        abort(404)
    return user


@blueprint.route("/people")
def people():
    return render_template(
        "manage/people.html",
        pending=len(user_search.pending_approvals(db(), current_user)),
        moves=len(transfers.requests_to_decide(db(), current_user)))


@blueprint.route("/approvals")
def approvals():
    return render_template("manage/approvals.html", pending=user_search.pending_approvals(db(),
                           current_user), form=FlaskForm())


@blueprint.route("/approvals/<int:user_id>/approve", methods=["POST"])
def approve(user_id: int):
    user = _user_in_scope(user_id)
    if FlaskForm().validate_on_submit():
        if user.approved_at is None and user.is_active:
            account_registration.approve_user(db(), current_user, user)
            _tell_person(user, "account_approved", "Your JESIP Learn account is approved")
        flash(f"{user.name} can now sign in. We have emailed them.", "success")
    return redirect(url_for("manage.approvals"))


@blueprint.route("/approvals/<int:user_id>/reject", methods=["POST"])
def reject(user_id: int):
    user = _user_in_scope(user_id)
    if FlaskForm().validate_on_submit():
        if user.approved_at is None and user.is_active:
            account_registration.reject_user(db(), current_user, user)
            _tell_person(user, "account_refused", "Your JESIP Learn registration")
        flash(f"The registration of {user.name} has been refused. We have emailed them.",
              "success")
    return redirect(url_for("manage.approvals"))


def _tell_person(user: User, template: str, subject: str) -> None:
    """The decision, emailed once it is saved, naming who made it."""
    text = render_template(f"mail/{template}.txt", name=user.name, email=user.email,
                           organisation=user.organisation.name,
                           decider=_capitalised(account_registration.decider_in_words(
                               db(), current_user, user.organisation)),
                           link=site_link("auth.sign_in"))
    after_commit(partial(send_text, user.email, subject, text))


def _capitalised(words: str) -> str:
    return words[:1].upper() + words[1:]


class PersonForm(FlaskForm):
    # Required fields are checked by account_administration.invite_user, so that every
    # missing one is named at once in the error summary.
    name = StringField()
    email = StringField()
    organisation = SelectField(validate_choice=False)
    command_role = RadioField(choices=choices(COMMAND_ROLE_LABELS.items()),
                              validate_choice=False)
    permissions = SelectMultipleField(validate_choice=False)


def _person_form() -> PersonForm:
    form = PersonForm()
    in_scope = [o for o in organisations_in_scope(db(), current_user) if o.is_active]
    form.organisation.choices = choices((o.id, o.name) for o in in_scope)
    if len(in_scope) == 1 and not form.organisation.data:
        form.organisation.data = str(in_scope[0].id)
    form.permissions.choices = choices(
        (p, label) for p, label in PERMISSION_LABELS.items()
        if p != Permission.LEARNER and can_grant(current_user, p))
    return form


@blueprint.route("/people/new", methods=["GET", "POST"])
def add_person():
    form = _person_form()
    if form.validate_on_submit():
        problems = _missing_fields(form)
        if not problems:
            try:
                user, token = account_administration.invite_user(
                    db(), current_user, email=form.email.data or "",
                    name=form.name.data or "",
                    organisation_id=int_or_none(form.organisation.data),
                    command_role=form.command_role.data or "",
                    permissions=set(form.permissions.data or ()), address=client_address())
            except account_details.AccountError as error:
                abandon_changes()
                show_error(form, error.field, error.message)
            else:
                _invite_after_commit(user, token)
                flash(f"{user.name} has been added. We are emailing {user.email} a link to "
                      "set a password; until they do, they are shown as invited."
                      if token else
                      f"{user.name} has been added. We are emailing {user.email} to sign in "
                      f"with {user.organisation.name}’s account, which it requires; until "
                      "they first do, they are shown as invited.", "success")
                return redirect(url_for("manage.add_person"))
        for field, message in problems:
            show_error(form, field, message)
    return render_template("manage/add_person.html", form=form,
                           permission_hints=PERMISSION_HINTS), 400 if form.errors else 200


PERMISSION_HINTS = {
    "trainer": "Writes and publishes courses",
    "manager": "Sees the training records of this organisation and approves its accounts",
    "admin": "Runs the whole site",
}


def _missing_fields(form: PersonForm) -> list[tuple[str, str]]:
    """Every required field left empty, so the error summary lists them all at once."""
    missing = []
    if not (form.name.data or "").strip():
        missing.append(("name", "Enter the person’s full name"))
    if not (form.email.data or "").strip():
        missing.append(("email", "Enter the person’s work email address"))
    if not form.organisation.data:
        missing.append(("organisation", "Select the person’s organisation"))
    if not form.command_role.data:
        missing.append(("command_role", "Select the person’s command role"))
    return missing


def _invite_after_commit(user: User, token: str | None) -> None:
    """The invitation goes once the account is saved: a link to an account that a failed
    commit never made would lead nowhere. Without a token (their organisation requires
    single sign-on) it says to sign in with the organisation's account instead."""
    email, name = user.email, user.name
    link = site_link("auth.reset_password", token=token) if token else None
    forgot = site_link("auth.forgot_password")
    sign_in = site_link("sso.start")
    organisation = user.organisation.name

    def send() -> None:
        if not send_mail(email, "Your JESIP Learn account", "account_invited", name=name,
                         email=email, organisation=organisation, link=link,
                         days=account_administration.INVITATION_LIFETIME.days, forgot_link=forgot,
                         sign_in_link=sign_in):
            current_app.logger.warning("An invitation email could not be sent")

    after_commit(send)
