"""Signing in with the organisation's own account (OpenID Connect): the email page that
finds the provider, the provider's return, the first sign-in's account or link, and the
offer to sign out at the provider too. The work is in jesip_learn.sso.sign_in (as far as
the provider's answer), jesip_learn.sso.completion and jesip_learn.sso.first_sign_in.

A request that waits for the provider (its discovery document, the code exchange) first
ends its database transaction, so that no lock is held while the provider answers, and
begins again as a writer for what it records afterwards.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, RadioField, StringField
from wtforms.validators import InputRequired

from jesip_learn.accounts.details import AccountError
from jesip_learn.accounts.models import COMMAND_ROLE_LABELS
from jesip_learn.core.db import begin_writing
from jesip_learn.sso import completion as sso_completion
from jesip_learn.sso import first_sign_in
from jesip_learn.sso import providers as sso_providers
from jesip_learn.sso import sign_in as sso
from jesip_learn.sso.models import SsoProvider
from jesip_learn.web import auth
from jesip_learn.web.auth import begin_second_step, site_link, start_session
from jesip_learn.web.edge import CONTENT_SECURITY_POLICY, client_address, db, stop_writing
from jesip_learn.web.forms import choices, show_error
from jesip_learn.web.safety import safe_next_url
from jesip_learn.web.two_step import SECOND_STEP_BY_PROVIDER

blueprint = Blueprint("sso", __name__, url_prefix="/sign-in/organisation")

# In the session cookie: the states of this browser's sign-ins under way (a provider's
# answer is accepted only in the browser that asked for it), the state whose identity waits
# for a first sign-in's next page, and whom to offer the provider's sign-out after ours.
STATES = "sso_states"
WAITING = "sso_waiting"
SIGNED_IN_WITH = "sso_signed_in_with"
SIGNED_OUT_OF = "sso_signed_out_of"
STATES_KEPT = 5


def init_sso(app: Flask) -> None:
    app.context_processor(lambda: {"organisation_sign_in_available": _available})
    auth.after_sign_out.append(_offer_provider_sign_out)


def _available() -> bool:
    return sso_providers.active_provider_exists(db())


def _settings() -> sso.SsoSettings:
    return sso.SsoSettings.from_config(current_app.config)


def _redirect_uri() -> str:
    """This site's callback, as registered at the provider: under SITE_URL, never the host
    the request named."""
    return site_link("sso.callback")


def _problem_page(problem: sso.SignInProblem):
    return render_template("sso/problem.html", problem=problem), problem.status


def _after_provider(work):
    """Run `work` (a call to the provider) outside any transaction, then begin writing."""
    stop_writing()  # no transaction stays open while the provider answers
    try:
        return work()
    finally:
        begin_writing(db())


@blueprint.after_request
def _allow_forms_on_to_providers(response):
    """The email page's form leads, by a redirect, to a provider's sign-in page: its
    Content-Security-Policy lets forms go there, and nowhere else."""
    if request.endpoint == "sso.start" and response.status_code < 400:
        origins = sso_providers.sign_in_origins(db(), _settings().entra_authority)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", " ".join(["form-action 'self'", *origins]))
    return response


class EmailForm(FlaskForm):
    email = StringField(validators=[InputRequired("Enter your work email address")])
    provider = HiddenField()


@blueprint.route("", methods=["GET", "POST"])
def start():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = EmailForm()
    if form.validate_on_submit():
        try:
            choice = sso.choose_providers(db(), form.email.data)
        except AccountError as error:
            show_error(form, "email", error.message)
        else:
            chosen = [p for p in choice.providers if str(p.id) == form.provider.data]
            if len(choice.providers) > 1 and not chosen:
                return render_template("sso/choose.html", form=form, choice=choice)
            return _go_to_provider((chosen or choice.providers)[0], choice.email)
    return render_template("sso/start.html", form=form)


def _go_to_provider(provider: SsoProvider, email: str):
    try:
        config = sso.provider_config(provider, _settings())
        metadata = _after_provider(lambda: sso.metadata_for(config, _settings()))
    except sso.SignInProblem as problem:
        return _problem_page(problem)
    url, state = sso.start(db(), config, metadata, login_hint=email,
                           next_url=request.args.get("next", ""), redirect_uri=_redirect_uri())
    session[STATES] = [*session.get(STATES, [])[-(STATES_KEPT - 1):], state]
    return redirect(url)


@blueprint.route("/callback")
def callback():
    state = request.args.get("state", "")
    if not state or state not in session.get(STATES, []):
        return _problem_page(sso.SignInProblem(
            "state-not-this-browser", "Start signing in again",
            "This sign-in was not started in this browser, or it has already finished. "
            "Start again from the sign-in page.", status=400))
    try:
        returning = sso.returning_flow(db(), state, _settings())
        answer = _after_provider(lambda: sso.check_answer(
            returning, code=request.args.get("code", ""), error=request.args.get("error", ""),
            redirect_uri=_redirect_uri(), settings=_settings()))
        outcome = sso_completion.complete(db(), returning, answer, settings=_settings(),
                                          address=client_address())
    except sso.SignInProblem as problem:
        return _problem_page(problem)
    finally:
        session[STATES] = [s for s in session.get(STATES, []) if s != state]
    if outcome.kind == "signed-in":
        return _signed_in(outcome)
    session[WAITING] = state
    return redirect(url_for("sso.new_account" if outcome.kind == "new-account"
                            else "sso.link_account"))


def _signed_in(outcome: sso_completion.Outcome):
    """Into the site, or on to the site's own two-step code when it is still needed."""
    identity = outcome.identity
    provider = {"provider_id": identity.provider_id, "issuer": identity.issuer}
    if outcome.second_step:
        begin_second_step(outcome.user, outcome.next_url)
        session["two_step"]["carry"] = {SIGNED_IN_WITH: provider}
        return redirect(url_for("two_step.verify"))
    start_session(outcome.user)
    session[SIGNED_IN_WITH] = provider
    if identity.provider_mfa:
        session[SECOND_STEP_BY_PROVIDER] = True
    return redirect(safe_next_url(outcome.next_url, url_for("main.home")))


def _waiting() -> first_sign_in.Waiting:
    return first_sign_in.waiting_identity(db(), session.get(WAITING, ""))


class NewAccountForm(FlaskForm):
    command_role = RadioField(choices=choices(COMMAND_ROLE_LABELS.items()), validate_choice=False,
                              validators=[InputRequired("Select your command role")])


@blueprint.route("/new-account", methods=["GET", "POST"])
def new_account():
    form = NewAccountForm()
    try:
        waiting = _waiting()
        if form.validate_on_submit():
            outcome = first_sign_in.create_account(db(), waiting, form.command_role.data,
                                                   address=client_address())
            session.pop(WAITING, None)
            return _signed_in(outcome)
    except AccountError as error:
        show_error(form, error.field, error.message)
    except sso.SignInProblem as problem:
        return _problem_page(problem)
    return render_template("sso/new_account.html", form=form, identity=waiting.identity)


class LinkForm(FlaskForm):
    password = PasswordField(validators=[InputRequired("Enter your JESIP Learn password")])


@blueprint.route("/link-account", methods=["GET", "POST"])
def link_account():
    form = LinkForm()
    try:
        waiting = _waiting()
        if form.validate_on_submit():
            outcome = first_sign_in.link_account(db(), waiting, form.password.data,
                                                 address=client_address(), throttle=auth.throttle())
            session.pop(WAITING, None)
            return _signed_in(outcome)
    except AccountError as error:
        show_error(form, error.field, error.message)
    except sso.SignInProblem as problem:
        return _problem_page(problem)
    return render_template("sso/link_account.html", form=form, identity=waiting.identity,
                           user=waiting.user)


def _offer_provider_sign_out(ended: dict) -> str | None:
    """After our sign-out: whoever signed in through a provider is offered its sign-out."""
    signed_in_with = ended.get(SIGNED_IN_WITH)
    if not signed_in_with:
        return None
    session[SIGNED_OUT_OF] = signed_in_with
    return url_for("sso.signed_out")


@blueprint.route("/signed-out")
def signed_out():
    signed_out_of = session.get(SIGNED_OUT_OF) or {}
    provider_id = signed_out_of.get("provider_id")  # kept by this site, not typed
    provider = db().get(SsoProvider, provider_id) if isinstance(provider_id, int) else None
    url = ""
    if provider is not None:
        url = sso.provider_sign_out_url(
            db(), provider.id, str(signed_out_of.get("issuer", "")), settings=_settings(),
            post_logout_redirect_uri=site_link("auth.sign_in"))
    return render_template("sso/signed_out.html", provider=provider, sign_out_url=url)
