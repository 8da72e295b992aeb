"""Two-step verification: the second step of signing in, setting it up, recovery codes,
turning it off, and the rule that administrators and managers may do nothing until it is on."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from jesip_learn.accounts import mfa
from jesip_learn.accounts.models import User
from jesip_learn.accounts.passwords import verify_password
from jesip_learn.web.access import Audience, for_audience
from jesip_learn.web.auth import start_session, throttle
from jesip_learn.web.edge import client_address, db, writes_on_get
from jesip_learn.web.forms import show_error
from jesip_learn.web.safety import safe_next_url

blueprint = Blueprint("two_step", __name__)

PENDING_LIMIT = timedelta(minutes=5)
# Longer than any code, recovery code included, typed with spaces: more is not a code.
CODE_MAX_LENGTH = 40
# What someone who must set up two-step verification may still reach.
OPEN_WHILE_SETTING_UP = {"two_step.set_up", "two_step.recovery_codes", "auth.sign_out",
                         "static", "main.accessibility", "main.about", "main.healthz"}
# In the session of someone whose organisation's sign-in service reported (or enforces) a
# second factor: they signed in with one, so the site's own is not asked of them.
SECOND_STEP_BY_PROVIDER = "second_step_by_provider"


def require_two_step_where_needed():
    if (current_user.is_authenticated and current_user.mfa_required
            and not current_user.mfa_enabled and not session.get(SECOND_STEP_BY_PROVIDER)
            and request.endpoint not in OPEN_WHILE_SETTING_UP):
        if request.method == "GET":
            session["after_two_step"] = request.full_path.rstrip("?")
        flash("Administrators and managers must use two-step verification. Set it up to "
              "carry on.", "info")
        return redirect(url_for("two_step.set_up"))
    return None


def _pending_user() -> User | None:
    pending = session.get("two_step")
    if not pending:
        return None
    age = datetime.now(UTC).timestamp() - pending.get("at", 0)
    user = db().get(User, pending.get("user_id"))
    if (age > PENDING_LIMIT.total_seconds() or user is None or not user.can_sign_in
            or user.session_epoch != pending.get("epoch") or not user.mfa_enabled):
        return None
    return user


class CodeForm(FlaskForm):
    code = StringField(validators=[
        DataRequired("Enter the code from your authenticator app"),
        Length(max=CODE_MAX_LENGTH, message="Enter the 6-digit code from your authenticator "
                                            "app")])


class SignInCodeForm(FlaskForm):
    code = StringField(validators=[
        DataRequired("Enter the code from your authenticator app"),
        Length(max=CODE_MAX_LENGTH, message="Enter the 6-digit code from your authenticator "
                                            "app, or one of your recovery codes")])


class SetUpForm(CodeForm):
    # Asked only when replacing a phone: an unattended session must not move the second step.
    password = PasswordField()


@blueprint.route("/sign-in/two-step", methods=["GET", "POST"])
def verify():
    user = _pending_user()
    if user is None:
        session.pop("two_step", None)
        flash("Sign in again: the time to enter your code ran out.", "info")
        return redirect(url_for("auth.sign_in"))
    form = SignInCodeForm()
    if form.validate_on_submit():
        result = mfa.complete_sign_in(db(), user, form.code.data, address=client_address(),
                                      throttle=throttle())
        if result.user is not None:
            next_url = session["two_step"]["next"]
            carried = session["two_step"].get("carry", {})  # e.g. the provider signed in with
            start_session(result.user)
            session.update(carried)
            if result.used_recovery_code:
                _warn_recovery_code_used(result.recovery_codes_left)
            return redirect(safe_next_url(next_url, url_for("main.home")))
        show_error(form, "code", result.error)
    return render_template("auth/two_step_verify.html", form=form)


def _warn_recovery_code_used(left: int) -> None:
    codes = "code" if left == 1 else "codes"
    flash(f"You signed in with a recovery code. You have {left} recovery {codes} left. If you "
          "have lost your phone, set up two-step verification again on your account page.",
          "info")


def qr_code_svg(uri: str) -> Markup:
    """The otpauth address as an inline SVG QR code: no script, no request for an image."""
    import qrcode  # loaded by the few who set up two-step verification, not at start-up
    import qrcode.image.svg

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg = image.to_string(encoding="unicode")
    svg = re.sub(r'^<svg width="[^"]*" height="[^"]*"',
                 '<svg class="app-qr-code" width="200" height="200" role="img" '
                 'aria-label="QR code to scan with your authenticator app"', svg)
    return Markup(svg)  # noqa: S704 (built here from a URI we made, never from user input)


@blueprint.route("/account/two-step/set-up", methods=["GET", "POST"])
@for_audience(Audience.LEARNER)
@writes_on_get  # the key waits on the server, not in the session cookie
def set_up():
    form = SetUpForm()
    if form.validate_on_submit():
        try:
            if current_user.mfa_enabled and not verify_password(current_user.password_hash,
                                                                form.password.data or ""):
                raise mfa.TwoStepError("Enter your current password", field="password")
            mfa.turn_on(db(), current_user, form.code.data, address=client_address())
        except mfa.TwoStepError as error:
            show_error(form, error.field, error.message)
        else:
            return redirect(url_for("two_step.recovery_codes"))
    secret = mfa.start_set_up(db(), current_user)
    uri = mfa.provisioning_uri(secret, current_user.email)
    return render_template("auth/two_step_set_up.html", form=form, qr_code=qr_code_svg(uri),
                           secret=mfa.grouped(secret))


@blueprint.route("/account/two-step/recovery-codes", methods=["GET", "POST"])
@for_audience(Audience.LEARNER)
def recovery_codes():
    """New codes are shown once, straight after they are made."""
    form = FlaskForm()
    if form.validate_on_submit():
        mfa.recovery_codes_saved(db(), current_user)
        flash("Two-step verification is on.", "success")
        return redirect(safe_next_url(session.pop("after_two_step", None),
                                      url_for("two_step.settings")))
    codes = mfa.recovery_codes_to_show(db(), current_user) or abort(404)
    return render_template("auth/two_step_recovery_codes.html", form=form, codes=codes)


@blueprint.route("/account/two-step", methods=["GET"])
@for_audience(Audience.LEARNER)
def settings():
    left = mfa.recovery_codes_left(db(), current_user) if current_user.mfa_enabled else 0
    return render_template("auth/two_step_settings.html", user=current_user, codes_left=left,
                           form=CodeForm())


@blueprint.route("/account/two-step/new-recovery-codes", methods=["POST"])
@for_audience(Audience.LEARNER)
def new_recovery_codes():
    return _after_code_check(_replace_codes)


def _replace_codes():
    mfa.replace_recovery_codes(db(), current_user, address=client_address())
    return redirect(url_for("two_step.recovery_codes"))


@blueprint.route("/account/two-step/turn-off", methods=["POST"])
@for_audience(Audience.LEARNER)
def turn_off():
    return _after_code_check(_turn_off)


def _turn_off():
    mfa.turn_off(db(), current_user, current_user, address=client_address())
    flash("Two-step verification is off. You sign in with your password only.", "success")
    return redirect(url_for("two_step.settings"))


def _after_code_check(change):
    """Changes to two-step settings need a fresh code: a session left open is not enough."""
    if not current_user.mfa_enabled:
        return redirect(url_for("two_step.settings"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            mfa.check_code(db(), current_user, form.code.data)
            return change()
        except mfa.TwoStepError as error:
            show_error(form, "code", error.message)
    left = mfa.recovery_codes_left(db(), current_user)
    return render_template("auth/two_step_settings.html", user=current_user, codes_left=left,
                           form=form), 400
