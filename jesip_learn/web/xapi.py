"""Administrators' page of the xAPI outbox: what waits to go to the learning record store,
when it last took statements, what it refused and why, and sending again."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from jesip_learn.records import audit
from jesip_learn.web.edge import client_address, db
from jesip_learn.xapi import outbox

blueprint = Blueprint("xapi", __name__, url_prefix="/admin/xapi")


class RetryForm(FlaskForm):
    statement = HiddenField()  # one statement's id; empty for every one that failed


@blueprint.route("")
def outbox_page():
    return render_template("admin/xapi.html", settings=current_app.extensions["xapi"],
                           summary=outbox.outbox_summary(db()), form=RetryForm())


@blueprint.route("/retry", methods=["POST"])
def retry():
    form = RetryForm()
    if form.validate_on_submit():
        statement_id = (form.statement.data or "").strip()[:36] or None
        count = outbox.retry(db(), statement_id)
        audit.record_event(db(), "xapi.retried", actor=current_user, address=client_address(),
                           summary=f"{count} statement{'s' if count != 1 else ''} to send again",
                           details={"statement": statement_id or "all", "count": count})
        flash(f"{count} statement{' is' if count == 1 else 's are'} queued to be sent again "
              "at the sender’s next run." if count else "There was nothing to send again.",
              "success")
    return redirect(url_for("xapi.outbox_page"))
