"""Administration of single sign-on: providers (Entra ID's app registration, or another
organisation's OpenID provider), the organisations and tenants linked to each, and the
organisations whose staff must use it. Administrators only; every change is audited."""

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
from wtforms import BooleanField, PasswordField, RadioField, SelectField, StringField

from jesip_learn.accounts.models import Organisation
from jesip_learn.accounts.organisations import active_organisations
from jesip_learn.sso import providers as sso_providers
from jesip_learn.sso.models import PROVIDER_KIND_LABELS, SsoOrganisationLink, SsoProvider
from jesip_learn.sso.sign_in import SsoSettings
from jesip_learn.web.auth import site_link
from jesip_learn.web.edge import abandon_changes, client_address, db
from jesip_learn.web.forms import choices, int_or_none, show_error

blueprint = Blueprint("sso_admin", __name__, url_prefix="/admin/single-sign-on")


def _secret_key() -> str:
    return SsoSettings.from_config(current_app.config).secret_key


@blueprint.route("", endpoint="index")
def providers_page():
    found = sso_providers.list_providers(db())
    problems = {p.id: sso_providers.secret_problem(p, _secret_key()) for p in found}
    required = sso_providers.required_organisation_ids(db())
    return render_template("sso/admin/index.html", providers=found, problems=problems,
                           required=required)


class ProviderForm(FlaskForm):
    name = StringField()
    kind = RadioField(choices=choices(PROVIDER_KIND_LABELS.items()), validate_choice=False)
    entra_directory = RadioField(choices=choices(sso_providers.ENTRA_DIRECTORIES.items()),
                                 validate_choice=False, default="organizations")
    issuer_url = StringField()
    client_id = StringField()
    client_secret = PasswordField()
    client_secret_env = StringField()
    enforces_mfa = BooleanField()
    is_active = BooleanField(default=True)


class LinkForm(FlaskForm):
    organisation = SelectField(validate_choice=False)
    tenant_id = StringField()


def _saved_form(provider: SsoProvider) -> ProviderForm:
    return ProviderForm(formdata=None, data={
        "name": provider.name, "kind": provider.kind, "issuer_url": provider.issuer_url,
        "entra_directory": provider.entra_directory, "client_id": provider.client_id,
        "client_secret_env": provider.client_secret_env,
        "enforces_mfa": provider.enforces_mfa, "is_active": provider.is_active})


def _provider_form(provider: SsoProvider | None) -> ProviderForm:
    if request.method == "POST" or provider is None:
        return ProviderForm()
    return _saved_form(provider)


def _link_form() -> LinkForm:
    form = LinkForm(formdata=request.form if request.endpoint == "sso_admin.link" else None)
    form.organisation.choices = choices((o.id, o.name) for o in active_organisations(db()))
    return form


def _provider_page(form: ProviderForm, provider: SsoProvider | None, link_form=None,
                   status: int = 200):
    return render_template(
        "sso/admin/provider.html", form=form, provider=provider,
        link_form=link_form or _link_form(),
        required=sso_providers.required_organisation_ids(db()),
        secret_problem=sso_providers.secret_problem(provider, _secret_key()) if provider
        else "",
        redirect_uri=site_link("sso.callback"),
        sign_out_uri=site_link("auth.sign_in")), status


@blueprint.route("/providers/new", methods=["GET", "POST"])
@blueprint.route("/providers/<int:provider_id>", methods=["GET", "POST"])
def provider_edit(provider_id: int | None = None):
    provider = (None if provider_id is None
                else db().get(SsoProvider, provider_id) or abort(404))
    form = _provider_form(provider)
    if form.validate_on_submit():
        details = sso_providers.ProviderDetails(
            name=form.name.data, kind=form.kind.data or "", client_id=form.client_id.data,
            issuer_url=form.issuer_url.data, entra_directory=form.entra_directory.data or "",
            client_secret=form.client_secret.data or "",
            client_secret_env=form.client_secret_env.data,
            enforces_mfa=form.enforces_mfa.data, is_active=form.is_active.data)
        try:
            saved = sso_providers.save_provider(db(), current_user, details,
                                                secret_key=_secret_key(), provider=provider,
                                                address=client_address())
        except sso_providers.ProviderError as error:
            abandon_changes()
            show_error(form, error.field, error.message)
        else:
            flash(f"{saved.name} has been saved.", "success")
            return redirect(url_for("sso_admin.provider_edit", provider_id=saved.id))
    return _provider_page(form, provider)


@blueprint.route("/providers/<int:provider_id>/organisations", methods=["POST"])
def link(provider_id: int):
    provider = db().get(SsoProvider, provider_id) or abort(404)
    link_form = _link_form()
    if link_form.validate_on_submit():
        organisation = db().get(Organisation, int_or_none(link_form.organisation.data) or 0)
        try:
            sso_providers.link_organisation(db(), current_user, provider, organisation,
                                            link_form.tenant_id.data, address=client_address())
        except sso_providers.ProviderError as error:
            abandon_changes()
            show_error(link_form, error.field, error.message)
        else:
            flash(f"{organisation.name} now signs in through {provider.name}.", "success")
            return redirect(url_for("sso_admin.provider_edit", provider_id=provider.id))
    return _provider_page(_saved_form(provider), provider, link_form=link_form, status=400)


@blueprint.route("/links/<int:link_id>/remove", methods=["POST"])
def unlink(link_id: int):
    found = db().get(SsoOrganisationLink, link_id) or abort(404)
    provider_id, name = found.provider_id, found.organisation.name
    if FlaskForm().validate_on_submit():
        sso_providers.unlink_organisation(db(), current_user, found, address=client_address())
        flash(f"{name} no longer signs in through this provider.", "success")
    return redirect(url_for("sso_admin.provider_edit", provider_id=provider_id))


@blueprint.route("/organisations/<int:organisation_id>/requirement", methods=["POST"])
def requirement(organisation_id: int):
    organisation = db().get(Organisation, organisation_id) or abort(404)
    provider_id = int_or_none(request.form.get("provider_id"))
    back = (url_for("sso_admin.provider_edit", provider_id=provider_id) if provider_id
            else url_for("sso_admin.index"))
    if FlaskForm().validate_on_submit():
        required = request.form.get("required") == "yes"
        try:
            sso_providers.set_requirement(db(), current_user, organisation, required,
                                          address=client_address())
        except sso_providers.ProviderError as error:
            flash(error.message, "error")
        else:
            flash(f"{organisation.name}’s staff must now sign in with their organisation’s "
                  "account. Anyone signed in has been signed out." if required else
                  f"{organisation.name}’s staff may sign in with a password again.", "success")
    return redirect(back)
