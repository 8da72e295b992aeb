"""Email notifications in the browser: a person's preferences, the unsubscribe links in
emails, managers' scheduled reports, and the administrators' page of what was sent.

The unsubscribe page needs no sign-in: the signed token in its address says who and what.
Its GET only asks for confirmation, so mail scanners that open links unsubscribe nobody;
its POST unsubscribes. That POST is also RFC 8058's one-click unsubscribe, which a mail
client sends with no CSRF token, so it is exempt from the CSRF check: the token in the
address, which only the recipient has, is what authorises it.
"""

from __future__ import annotations

from flask import (
    Blueprint,
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
from sqlalchemy import func, select

from jesip_learn.accounts.models import User
from jesip_learn.compliance.report_filters import today_in_london
from jesip_learn.notifications import notices, preferences, reports
from jesip_learn.notifications.models import Notice, ReportSubscription
from jesip_learn.notifications.settings import FREQUENCIES
from jesip_learn.records import audit
from jesip_learn.web.access import Audience, for_audience
from jesip_learn.web.edge import client_address, csrf, db
from jesip_learn.web.forms import int_or_none

blueprint = Blueprint("notifications", __name__)


# --- preferences -------------------------------------------------------------------------


@blueprint.route("/account/notifications", methods=["GET", "POST"])
def preferences_page():
    form, errors = FlaskForm(), []
    is_manager = reports.may_subscribe(current_user)
    if request.method == "POST" and form.validate_on_submit():
        frequency = request.form.get("digest_frequency", "") if is_manager else ""
        if is_manager and frequency not in preferences.DIGEST_CHOICES:
            errors.append({"text": "Select how often you want the digest",
                           "href": "#digest_frequency"})
        else:
            preferences.save_preferences(
                db(), current_user, expiry_reminders="expiry_reminders" in request.form,
                overdue_notices="overdue_notices" in request.form,
                digest_frequency=frequency or None)
            flash("Your email preferences are saved.", "success")
            return redirect(url_for("notifications.preferences_page"))
    return render_template(
        "notifications/preferences.html", form=form, errors=errors, is_manager=is_manager,
        chosen=preferences.preferences_for(db(), current_user),
        frequencies=preferences.DIGEST_CHOICES,
        default_frequency=current_app.config.get("NOTIFY_DIGEST_FREQUENCY", "weekly"),
    ), (400 if errors else 200)


# --- unsubscribe -------------------------------------------------------------------------


def _unsubscribe_request(token: str) -> preferences.UnsubscribeRequest:
    request_ = preferences.read_unsubscribe_token(current_app.config["SECRET_KEY"], token)
    if request_ is None or db().get(User, request_.user_id) is None:
        abort(404)
    return request_


@blueprint.route("/unsubscribe/<token>")
@for_audience(Audience.PUBLIC)
def unsubscribe(token: str):
    asked = _unsubscribe_request(token)
    subscription = (db().get(ReportSubscription, asked.subscription_id)
                    if asked.subscription_id else None)
    return render_template("notifications/unsubscribe.html", asked=asked, token=token,
                           subscription=subscription)


@blueprint.route("/unsubscribe/<token>", methods=["POST"])
@for_audience(Audience.PUBLIC)
@csrf.exempt
def unsubscribe_confirmed(token: str):
    asked = _unsubscribe_request(token)
    changed = preferences.unsubscribe(db(), asked)
    return render_template("notifications/unsubscribed.html", asked=asked, changed=changed)


# --- scheduled reports -------------------------------------------------------------------


@blueprint.route("/manage/subscriptions")
@for_audience(Audience.MANAGER)
def subscriptions():
    return render_template("notifications/subscriptions.html", form=FlaskForm(),
                           subscriptions=reports.subscriptions_of(db(), current_user),
                           formats=reports.FORMATS, frequencies=FREQUENCIES,
                           describe=lambda subscription: reports.describe_filters(
                               db(), current_user, subscription))


@blueprint.route("/manage/subscriptions/new", methods=["GET", "POST"])
@for_audience(Audience.MANAGER)
def new_subscription():
    form, errors = FlaskForm(), []
    values = {"filters": reports.kept_filters(request.query_string.decode("latin-1")),
              "name": "", "file_format": "xlsx", "frequency": "weekly"}
    if request.method == "POST":
        values = {key: request.form.get(key, "").strip() for key in values}
        if not form.validate_on_submit():
            errors.append({"text": "The form had expired. Try again.", "href": "#name"})
        else:
            try:
                subscription = reports.subscribe(
                    db(), current_user, name=values["name"], query=values["filters"],
                    file_format=values["file_format"], frequency=values["frequency"])
            except reports.SubscriptionError as problem:
                errors.append({"text": problem.message, "href": f"#{problem.field}"})
            else:
                flash(f"“{subscription.name}” will be emailed to you "
                      f"{subscription.frequency}.", "success")
                return redirect(url_for("notifications.subscriptions"))
    filters, _ = reports.read_filters(db(), current_user, values["filters"],
                                      today_in_london())
    return render_template(
        "notifications/subscription_new.html", form=form, errors=errors, values=values,
        described=reports.described_filters(db(), filters), formats=reports.FORMATS,
        frequencies=FREQUENCIES), (400 if errors else 200)


@blueprint.route("/manage/subscriptions/<int:subscription_id>/stop", methods=["POST"])
@for_audience(Audience.MANAGER)
def stop_subscription(subscription_id: int):
    subscription = db().get(ReportSubscription, subscription_id)
    if subscription is None or subscription.user_id != current_user.id:
        abort(404)
    if FlaskForm().validate_on_submit():
        name = subscription.name
        reports.unsubscribe_report(db(), current_user, subscription, client_address())
        flash(f"“{name}” will no longer be emailed to you.", "success")
    return redirect(url_for("notifications.subscriptions"))


# --- administrators ----------------------------------------------------------------------


@blueprint.route("/admin/notifications")
@for_audience(Audience.ADMINISTRATOR)
def admin_page():
    return render_template(
        "admin/notifications.html", summary=notices.notice_summary(db()), form=FlaskForm(),
        kinds=notices.KIND_LABELS,
        max_attempts=current_app.config.get("NOTIFY_MAX_ATTEMPTS", "8"),
        total=db().scalar(select(func.count()).select_from(Notice)))


@blueprint.route("/admin/notifications/retry", methods=["POST"])
@for_audience(Audience.ADMINISTRATOR)
def retry():
    if FlaskForm().validate_on_submit():
        raw = request.form.get("notice", "").strip()
        notice_id = int_or_none(raw)  # none given: every email that failed
        if raw and notice_id is None:
            abort(400)
        count = notices.retry(db(), notice_id)
        audit.record_event(db(), "notifications.retried", actor=current_user,
                           address=client_address(),
                           summary=f"{count} email{'s' if count != 1 else ''} to send again",
                           details={"notice": notice_id or "all", "count": count})
        flash(f"{count} email{' is' if count == 1 else 's are'} queued to be sent again at "
              "the next run." if count else "There was nothing to send again.", "success")
    return redirect(url_for("notifications.admin_page"))
