"""Signing in and out, registration, email confirmation, passwords, first administrator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import redis
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from wtforms import PasswordField, RadioField, SelectField, StringField
from wtforms.validators import InputRequired

from jesip_learn.accounts import administration as account_administration
from jesip_learn.accounts import own_account, password_reset
from jesip_learn.accounts import registration as account_registration
from jesip_learn.accounts import sign_in as password_sign_in
from jesip_learn.accounts import tokens as account_tokens
from jesip_learn.accounts.details import AccountError
from jesip_learn.accounts.email_requests import TooManyEmails
from jesip_learn.accounts.models import COMMAND_ROLE_LABELS, AccountStatus, TokenPurpose
from jesip_learn.accounts.organisations import active_organisations
from jesip_learn.accounts.registration import Registration
from jesip_learn.accounts.throttle import (
    DatabaseLoginThrottle,
    DatabaseRequestCounter,
    EmailRequestLimiter,
    EmailRequestPolicy,
    GuessLimiter,
    GuessPolicy,
    Limited,
    RedisHealth,
    RedisLoginThrottle,
    RedisOrDatabase,
    RedisRequestCounter,
    ThrottlePolicy,
)
from jesip_learn.accounts.tokens import TokenError
from jesip_learn.core.mail import MailDeliveryError, OutgoingMail
from jesip_learn.sso.providers import SingleSignOnRequired
from jesip_learn.web.access import Audience, for_audience
from jesip_learn.web.edge import ERROR_TITLES, after_commit, client_address, db
from jesip_learn.web.forms import choices, int_or_none, show_error
from jesip_learn.web.safety import safe_next_url

blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()

# Called after signing out with the session as it was; the first to return an address is
# where the person goes next (single sign-on offers the provider's own sign-out).
after_sign_out: list[Callable[[dict], str | None]] = []

IDLE_LIMIT = timedelta(minutes=30)
SESSION_LIMIT = timedelta(hours=12)
SEEN_RESOLUTION = timedelta(minutes=1)


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(
        lambda session_id: password_sign_in.user_for_session(db(), session_id))


def end_stale_sessions():
    """Sign out after 30 minutes idle or 12 hours in all (NCSC and ASVS session limits)."""
    if "_user_id" not in session:
        return
    now = datetime.now(UTC).timestamp()
    started, seen = session.get("signed_in_at", 0), session.get("seen_at", 0)
    if now - seen > IDLE_LIMIT.total_seconds() or now - started > SESSION_LIMIT.total_seconds():
        logout_user()
        session.clear()
        flash("You were signed out because you had not used the site for a while. "
              "Sign in again to carry on.")
        return
    if now - seen > SEEN_RESOLUTION.total_seconds():
        session["seen_at"] = now  # not every request: each change re-signs the cookie


def start_session(user) -> None:
    session.clear()  # a fresh session at sign-in: nothing from before carries over
    login_user(user)
    now = datetime.now(UTC).timestamp()
    session["signed_in_at"] = session["seen_at"] = now
    # A new CSRF secret, in the cookie set now, so that pages that follow need not set it
    # again. The token signed earlier in this request was for the secret just cleared.
    g.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)
    generate_csrf()


def begin_second_step(user, next_url: str | None) -> None:
    """After a right password from someone who uses two-step verification: remember who is
    half signed in, for a few minutes only (jesip_learn.web.two_step finishes it)."""
    session.clear()
    session["two_step"] = {"user_id": user.id, "epoch": user.session_epoch,
                           "at": datetime.now(UTC).timestamp(), "next": next_url or ""}


def _redis() -> tuple[redis.Redis, RedisHealth]:
    """This process's Redis client, made on first use, and what it knows of Redis's health."""
    extensions = current_app.extensions
    if "redis" not in extensions:
        # Quick to give up: while Redis is down the database counts instead.
        extensions["redis"] = redis.Redis.from_url(
            current_app.config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2,
            retry=redis.retry.Retry(redis.backoff.NoBackoff(), 1))
        extensions["redis_health"] = RedisHealth()
    return extensions["redis"], extensions["redis_health"]


def throttle() -> DatabaseLoginThrottle | RedisOrDatabase:
    """The sign-in throttle: in Redis when REDIS_URL is set (in the database while Redis
    cannot be reached), otherwise in the database."""
    config = current_app.config
    policy = ThrottlePolicy(
        failures_per_account=config["LOGIN_FAILURES_PER_ACCOUNT"],
        failures_per_address=config["LOGIN_FAILURES_PER_ADDRESS"],
        window=timedelta(minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"]),
    )
    in_database = DatabaseLoginThrottle(policy, current_app.extensions["database"].side_session)
    if not config.get("REDIS_URL"):
        return in_database
    client, health = _redis()
    in_redis = RedisLoginThrottle(policy, client,
                                  prefix=config.get("REDIS_PREFIX", "jesip-learn:sign-in"))
    return RedisOrDatabase(in_redis, in_database, health)


def email_requests() -> EmailRequestLimiter:
    """The limits on emails sent on request, counted where sign-in failures are."""
    config = current_app.config
    policy = EmailRequestPolicy(
        per_account=config["EMAIL_REQUESTS_PER_ACCOUNT"],
        per_address=config["EMAIL_REQUESTS_PER_ADDRESS"],
        window=timedelta(minutes=config["EMAIL_REQUEST_WINDOW_MINUTES"]),
    )
    in_database = DatabaseRequestCounter(current_app.extensions["database"].side_session)
    if not config.get("REDIS_URL"):
        return EmailRequestLimiter(policy, in_database)
    client, health = _redis()
    prefix = config.get("REDIS_PREFIX", "jesip-learn")
    return EmailRequestLimiter(policy, RedisOrDatabase(
        RedisRequestCounter(client, prefix=f"{prefix}:email-requests"), in_database, health))


def join_code_guesses() -> GuessLimiter:
    """The limits on wrong live exercise join codes, counted where sign-in failures are."""
    config = current_app.config
    policy = GuessPolicy(
        per_person=config["LIVE_JOIN_FAILURES_PER_PERSON"],
        per_address=config["LIVE_JOIN_FAILURES_PER_ADDRESS"],
        window=timedelta(minutes=config["LIVE_JOIN_FAILURE_WINDOW_MINUTES"]),
    )
    in_database = DatabaseRequestCounter(current_app.extensions["database"].side_session)
    if not config.get("REDIS_URL"):
        return GuessLimiter(policy, in_database, "join-code")
    client, health = _redis()
    prefix = config.get("REDIS_PREFIX", "jesip-learn")
    return GuessLimiter(policy, RedisOrDatabase(
        RedisRequestCounter(client, prefix=f"{prefix}:guesses"), in_database, health),
        "join-code")


def too_many_requests(message: str, limited: Limited):
    """The 429 page, saying how long to wait, with the same in Retry-After. The transaction
    still commits, for the refusal's line in the audit log: nothing else was written."""
    minutes = f"{limited.minutes} minute{'' if limited.minutes == 1 else 's'}"
    page = render_template("errors/error.html", status=429, title=ERROR_TITLES[429],
                           message=f"{message} Wait {minutes}, then try again.")
    return page, 429, {"Retry-After": str(limited.minutes * 60)}


def too_many_emails(limited: Limited):
    """The 429 page: the same whether or not the address has an account."""
    return too_many_requests(
        "You have asked for too many emails. To protect people’s inboxes, we limit how many "
        "we send to each email address and for each network.", limited)


def site_link(endpoint: str, **values) -> str:
    """A page's full address for an email: SITE_URL and the page's path. Never the host the
    request named: a Host or X-Forwarded-Host header is the sender's to choose."""
    path = current_app.url_map.bind("site.invalid").build(endpoint, values)
    return current_app.config["SITE_URL"] + path


def send_mail(to: str, subject: str, template: str, **context) -> bool:
    return send_text(to, subject, render_template(f"mail/{template}.txt", **context))


def send_text(to: str, subject: str, text: str) -> bool:
    try:
        current_app.extensions["mailer"].send(OutgoingMail(to=to, subject=subject, text=text))
    except MailDeliveryError:
        return False
    return True


class SignInForm(FlaskForm):
    email = StringField(validators=[InputRequired("Enter your email address")])
    password = PasswordField(validators=[InputRequired("Enter your password")])


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignInForm()
    if form.validate_on_submit():
        result = password_sign_in.authenticate(db(), form.email.data, form.password.data,
                                               address=client_address(), throttle=throttle())
        if result.needs_second_step:
            begin_second_step(result.user, request.args.get("next"))
            return redirect(url_for("two_step.verify"))
        if result.user is not None:
            start_session(result.user)
            return redirect(safe_next_url(request.args.get("next"), url_for("main.home")))
        show_error(form, "email", result.error)
    return render_template("auth/sign_in.html", form=form)


@blueprint.route("/sign-out", methods=["POST"])
def sign_out():
    if current_user.is_authenticated:
        own_account.sign_out_everywhere(db(), current_user)
    ended = dict(session)
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    after = next(filter(None, (hook(ended) for hook in after_sign_out)), None)
    return redirect(after or url_for("auth.sign_in"))


class RegisterForm(FlaskForm):
    name = StringField(validators=[InputRequired("Enter your full name")])
    email = StringField(validators=[InputRequired("Enter your email address")])
    organisation = SelectField(validate_choice=False)
    command_role = RadioField(choices=choices(COMMAND_ROLE_LABELS.items()), validate_choice=False,
                              validators=[InputRequired("Select your command role")])
    password = PasswordField(validators=[InputRequired("Create a password")])


def organisation_choices():
    return choices((o.id, o.name) for o in active_organisations(db()))


@blueprint.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    form.organisation.choices = organisation_choices()
    if form.validate_on_submit():
        try:
            registration = account_registration.register_user(
                db(), name=form.name.data, email=form.email.data, password=form.password.data,
                organisation_id=int_or_none(form.organisation.data),
                command_role=form.command_role.data, address=client_address(),
                limiter=email_requests())
        except SingleSignOnRequired as refused:
            return use_organisation_account("Sign in with your organisation’s account", refused,
                                            back_to=url_for("auth.register"))
        except AccountError as error:
            show_error(form, error.field, error.message)
        except TooManyEmails as refused:
            return too_many_emails(refused.limited)
        else:
            _send_registration_email(registration)
            session["check_email"] = {
                "email": registration.user.email, "registered": True,
                "approval_by": registration.organisation.name
                if registration.needs_approval else ""}
            return redirect(url_for("auth.check_email"))
    elif request.method == "POST" and not form.organisation.data:
        show_error(form, "organisation", "Select your organisation from the list")
    return render_template("auth/register.html", form=form)


def use_organisation_account(heading: str, refused: SingleSignOnRequired, *, status: int = 200,
                             back_to: str = "", offer_sign_in: bool = True):
    """The page that says a password is no use here: the person's organisation signs them in
    with their work account, and (signed out) the button that starts that sign-in."""
    return render_template("auth/use_organisation_account.html", heading=heading,
                           message=refused.message, organisation=refused.organisation,
                           back_to=back_to, offer_sign_in=offer_sign_in), status


def mail_after_commit(to: str, subject: str, template: str, **context) -> None:
    """An email written now, while the request's objects can be read, and sent once its
    changes are saved: never a link whose token a failed commit did not keep."""
    text = render_template(f"mail/{template}.txt", **context)
    after_commit(partial(send_text, to, subject, text))


def _send_confirmation(user, token: str) -> None:
    link = site_link("auth.confirm_email", token=token)
    mail_after_commit(user.email, "Confirm your email address for JESIP Learn",
                      "confirm_email", user=user, link=link)


def _send_registration_email(registration: Registration) -> None:
    if not registration.already_registered:
        _send_confirmation(registration.user, registration.confirmation_token)
    elif registration.send_email:
        mail_after_commit(registration.user.email, "Someone tried to register for JESIP Learn "
                          "with your email address", "already_registered",
                          user=registration.user, sign_in_link=site_link("auth.sign_in"),
                          reset_link=site_link("auth.forgot_password"),
                          confirm_link=site_link("auth.resend_confirmation"),
                          signs_in_with=registration.signs_in_with,
                          organisation_sign_in_link=site_link("sso.start"))


@blueprint.route("/register/check-your-email")
def check_email():
    # Only what the person typed: nothing read from an account, which may not be theirs.
    sent = session.get("check_email")
    if not sent:
        return redirect(url_for("auth.register"))
    return render_template("auth/check_email.html", **sent)


class ConfirmForm(FlaskForm):
    pass


@blueprint.route("/confirm-email/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    # The link opens a page with a button: mail scanners that fetch links must not use it up.
    form = ConfirmForm()
    try:
        pending = account_tokens.peek_token(db(), token, TokenPurpose.EMAIL_CONFIRMATION)
        if form.validate_on_submit():
            user = account_registration.confirm_email(db(), token)
            if user.status == AccountStatus.PENDING:
                _tell_approvers(user)
            if user.can_sign_in:
                flash("Your email address is confirmed. You can now sign in.", "success")
            else:
                flash("Your email address is confirmed. A manager at "
                      f"{user.organisation.name} now needs to approve your account.", "success")
            return redirect(url_for("auth.sign_in"))
    except TokenError as error:
        return render_template("auth/link_problem.html", problem=str(error),
                               resend=True), 410
    return render_template("auth/confirm_email.html", form=form, user=pending.user)


def _tell_approvers(user) -> None:
    """The account waits for approval: its organisation's managers hear of it once the
    confirmation is saved."""
    link = site_link("manage.approvals")
    mails = [(approver.email, render_template(
        "mail/account_waiting.txt", name=approver.name, person=user.name, email=user.email,
        organisation=user.organisation.name, link=link))
        for approver in account_registration.approvers_for(db(), user)]
    for address, text in mails:
        after_commit(partial(send_text, address,
                             f"An account waits for your approval: {user.name}", text))


class EmailForm(FlaskForm):
    email = StringField(validators=[InputRequired("Enter your email address")])


@blueprint.route("/confirm-email", methods=["GET", "POST"])
def resend_confirmation():
    form = EmailForm()
    if form.validate_on_submit():
        try:
            found = account_registration.new_confirmation_token(
                db(), form.email.data, client_address(), limiter=email_requests())
        except TooManyEmails as refused:
            return too_many_emails(refused.limited)
        if found:
            _send_confirmation(*found)
        session["check_email"] = {"email": form.email.data.strip().lower(),
                                  "registered": False, "approval_by": ""}
        return redirect(url_for("auth.check_email"))
    return render_template("auth/resend_confirmation.html", form=form)


@blueprint.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    form = EmailForm()
    if form.validate_on_submit():
        hours = current_app.config["PASSWORD_RESET_HOURS"]
        try:
            found = password_reset.request_password_reset(
                db(), form.email.data, timedelta(hours=hours), client_address(),
                limiter=email_requests())
        except TooManyEmails as refused:
            return too_many_emails(refused.limited)
        if found and found.token is None:  # their organisation signs them in
            mail_after_commit(found.user.email, "Signing in to JESIP Learn",
                              "sign_in_with_organisation", user=found.user,
                              sign_in_link=site_link("sso.start"))
        elif found:
            link = site_link("auth.reset_password", token=found.token)
            mail_after_commit(found.user.email, "Reset your JESIP Learn password",
                              "reset_password", user=found.user, link=link, hours=hours)
        # The same answer whether or not there is an account: addresses are not disclosed.
        return render_template("auth/reset_sent.html", email=form.email.data.strip(),
                               hours=hours)
    return render_template("auth/forgot_password.html", form=form)


class NewPasswordForm(FlaskForm):
    password = PasswordField(validators=[InputRequired("Create a new password")])


@blueprint.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = NewPasswordForm()
    try:
        password_reset.usable_reset_link(db(), token)
        if form.validate_on_submit():
            password_reset.reset_password(db(), token, form.password.data, client_address())
            flash("Your password has been changed. Sign in with your new password.", "success")
            return redirect(url_for("auth.sign_in"))
    except SingleSignOnRequired as refused:  # sent before the organisation required it
        return use_organisation_account("This link no longer works", refused, status=410)
    except AccountError as error:
        show_error(form, "password", error.message)
    except TokenError as error:
        return render_template("auth/link_problem.html", problem=str(error),
                               reset=True), 410
    return render_template("auth/reset_password.html", form=form)


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(validators=[InputRequired("Enter your current password")])
    new_password = PasswordField(validators=[InputRequired("Create a new password")])


@blueprint.route("/account/password", methods=["GET", "POST"])
@for_audience(Audience.LEARNER)
def change_password():
    form = ChangePasswordForm()
    try:
        own_account.check_may_change_password(db(), current_user)
    except SingleSignOnRequired as refused:
        return use_organisation_account(
            "You do not need a password", refused, back_to=url_for("main.account"),
            offer_sign_in=False, status=200 if request.method == "GET" else 403)
    if form.validate_on_submit():
        try:
            own_account.change_password(db(), current_user, form.current_password.data,
                                        form.new_password.data, client_address())
        except AccountError as error:
            show_error(form, error.field, error.message)
        else:
            start_session(current_user)  # this session carries on; all others have ended
            flash("Your password has been changed. You have been signed out everywhere else.",
                  "success")
            return redirect(url_for("main.account"))
    return render_template("auth/change_password.html", form=form)


class FirstAdministratorForm(RegisterForm):
    pass


@blueprint.route("/setup/<token>", methods=["GET", "POST"])
def first_administrator(token: str):
    try:
        account_tokens.peek_token(db(), token, TokenPurpose.FIRST_ADMINISTRATOR)
    except TokenError as error:
        return render_template("auth/link_problem.html", problem=str(error)), 410
    if account_administration.administrator_exists(db()):
        abort(404)
    form = FirstAdministratorForm()
    form.organisation.choices = organisation_choices()
    if form.validate_on_submit():
        try:
            user = account_administration.create_first_administrator(
                db(), token, email=form.email.data, name=form.name.data,
                password=form.password.data, organisation_id=int_or_none(form.organisation.data),
                command_role=form.command_role.data)
        except AccountError as error:
            show_error(form, error.field, error.message)
        except TokenError as error:
            return render_template("auth/link_problem.html", problem=str(error)), 410
        else:
            start_session(user)
            flash("Your administrator account is ready.", "success")
            return redirect(url_for("admin.users"))
    elif request.method == "POST" and not form.organisation.data:
        # Listed with the other missing fields, not only once they are filled in.
        show_error(form, "organisation", "Select your organisation from the list")
    return render_template("auth/first_administrator.html", form=form)
