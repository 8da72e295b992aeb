"""Bulk import for managers and administrators: upload a CSV file, see what it would do
row by row, then apply it."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import HiddenField, StringField

from jesip_learn.accounts.permissions import organisations_in_scope
from jesip_learn.courses.models import Course
from jesip_learn.imports import bulk as bulk_import
from jesip_learn.imports import csv_files
from jesip_learn.imports import people as people_import
from jesip_learn.imports.csv_files import ImportFileError, ImportKind
from jesip_learn.imports.models import ImportBatch
from jesip_learn.imports.plan import Outcome
from jesip_learn.web.auth import send_text, site_link
from jesip_learn.web.edge import abandon_changes, after_commit, client_address, db
from jesip_learn.web.forms import show_error

blueprint = Blueprint("imports", __name__, url_prefix="/manage/imports")

TITLES = {
    ImportKind.USERS: "Import people",
    ImportKind.COMPLETIONS: "Import completions from another system",
}


def _kind(kind: str) -> ImportKind:
    if kind not in set(ImportKind):
        abort(404)
    return ImportKind(kind)


def _own_batch(batch_id: int) -> ImportBatch:
    return bulk_import.importers_batch(db(), current_user, batch_id) or abort(404)


@blueprint.route("")
def index():
    return render_template("imports/index.html", titles=TITLES,
                           organisations=organisations_in_scope(db(), current_user))


@blueprint.route("/<kind>/template.csv")
def template(kind: str):
    kind = _kind(kind)
    return Response(csv_files.template_csv(kind), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=jesip-learn-{kind}-template.csv"})


class UploadForm(FlaskForm):
    source = StringField()  # completions only: where they were recorded
    file = FileField()


@blueprint.route("/<kind>/new", methods=["GET", "POST"])
def upload(kind: str):
    kind = _kind(kind)
    form = UploadForm()
    if form.validate_on_submit():
        batch = _start(form, kind)
        if batch is not None:
            return redirect(url_for("imports.check", batch_id=batch.id))
    courses = list(db().scalars(select(Course.code).order_by(Course.code)))
    return render_template("imports/upload.html", form=form, kind=kind, title=TITLES[kind],
                           columns=csv_files.COLUMNS[kind], max_rows=csv_files.MAX_ROWS,
                           organisations=organisations_in_scope(db(), current_user),
                           course_codes=courses)


def _start(form: UploadForm, kind: ImportKind) -> ImportBatch | None:
    """Check the upload and keep it; None, with the errors on the form, when it is refused."""
    problems = []
    if kind == ImportKind.COMPLETIONS:
        try:
            csv_files.check_source(form.source.data)
        except ImportFileError as error:
            problems.append(error)
    upload = request.files.get(form.file.name)
    parsed = None
    if upload is None or not upload.filename:
        problems.append(ImportFileError("Select a CSV file"))
    else:
        try:
            parsed = csv_files.read_upload(upload.filename, upload.stream.read(
                csv_files.MAX_BYTES + 1), kind)
        except ImportFileError as error:
            problems.append(error)
    for problem in problems:
        show_error(form, problem.field, problem.message)
    if problems:
        return None
    return bulk_import.start_import(db(), current_user, kind, upload.filename, parsed,
                                    form.source.data)


class ApplyForm(FlaskForm):
    plan = HiddenField()


@blueprint.route("/<int:batch_id>")
def check(batch_id: int):
    batch = _own_batch(batch_id)
    kind = ImportKind(batch.kind)
    if batch.applied_at is not None:
        return render_template("imports/done.html", batch=batch, kind=kind, title=TITLES[kind])
    if bulk_import.is_expired(batch):
        flash("That check has expired. Upload the file again.")
        return redirect(url_for("imports.upload", kind=kind))
    plan = bulk_import.plan_import(db(), batch, current_user)
    return render_template("imports/check.html", batch=batch, kind=kind, title=TITLES[kind],
                           plan=plan, form=ApplyForm(plan=plan.digest), Outcome=Outcome)


@blueprint.route("/<int:batch_id>/apply", methods=["POST"])
def apply(batch_id: int):
    batch = _own_batch(batch_id)
    form = ApplyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        applied = bulk_import.apply_import(db(), batch, current_user, form.plan.data or "",
                                           address=client_address())
    except bulk_import.AlreadyApplied:
        flash("This file has already been imported. Nothing was imported again.")
    except bulk_import.BatchExpired:
        flash("That check has expired. Upload the file again.")
        return redirect(url_for("imports.upload", kind=batch.kind))
    except (bulk_import.PlanChanged, IntegrityError):
        abandon_changes()
        flash("Records changed since you checked this file, so nothing was imported. Check "
              "the results below again, then apply them.")
    else:
        _send_setup_emails_after_commit(applied.new_accounts)
        flash(_applied_message(applied, 0), "success")
    return redirect(url_for("imports.check", batch_id=batch_id))


def _send_setup_emails_after_commit(accounts) -> None:
    """Each new person's link to choose a password (or, where their organisation requires
    single sign-on, the page to sign in with its account), sent once the import is saved: a
    link to an account that a failed commit never made would lead nowhere. Those that cannot be
    sent are counted in the log; the people can use "Forgot your password?"."""
    days = people_import.ACCOUNT_SETUP_LIFETIME.days
    forgot, sign_in = site_link("auth.forgot_password"), site_link("sso.start")
    mails = [(user.email, render_template(
        "mail/account_created.txt", user=user, days=days, forgot_link=forgot,
        sign_in_link=sign_in,
        link=site_link("auth.reset_password", token=token) if token else None))
        for user, token in accounts]

    def send() -> None:
        unsent = sum(1 for address, text in mails
                     if not send_text(address, "Your JESIP Learn account", text))
        if unsent:
            current_app.logger.warning("%d account set-up emails could not be sent", unsent)

    if mails:
        after_commit(send)


def _applied_message(applied: bulk_import.AppliedImport, unsent: int) -> str:
    if applied.batch.kind == ImportKind.USERS:
        text = (f"{_count(applied.created, 'account')} created and "
                f"{_count(applied.updated, 'account')} updated.")
        invited = len(applied.new_accounts)
        if invited and invited == applied.created:
            text += " Each new person has been sent an email to choose a password."
        elif invited:
            text += (f" {_count(invited, 'email')} sent to new people to choose a password; "
                     "none to those recorded as having left.")
        if unsent:
            text += (f" {_count(unsent, 'email')} could not be sent: those people can use "
                     "“Forgot your password?” on the sign-in page.")
    else:
        text = f"{_count(applied.created, 'completion')} recorded."
    if applied.skipped:
        text += f" {_count(applied.skipped, 'row')} with errors skipped."
    return text


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun if number == 1 else noun + 's'}"
