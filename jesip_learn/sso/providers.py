"""Providers as administrators configure them, the organisations linked to each, and the
organisations that require single sign-on. Every change is in the audit log, never with a
secret in it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from jesip_learn.accounts.details import AccountError
from jesip_learn.accounts.models import (
    Organisation,
    OrganisationDomain,
    Permission,
    PermissionGrant,
    User,
)
from jesip_learn.core.columns import utcnow
from jesip_learn.core.input_errors import InputError
from jesip_learn.core.typed_text import control_character_problem
from jesip_learn.records.audit import record_event
from jesip_learn.sso import client_secrets, protocol
from jesip_learn.sso.models import (
    ProviderKind,
    SsoIdentity,
    SsoOrganisationLink,
    SsoProvider,
    SsoRequirement,
)

ENTRA_DIRECTORIES = {
    "organizations": "Work accounts only (organizations)",
    "common": "Work and personal accounts (common)",
}
# An Entra ID tenant (directory) id is a GUID.
TENANT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class ProviderError(InputError, ValueError):
    """A problem the administrator can fix, named by its form field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ProviderDetails:
    """What the administrator typed. A blank `client_secret` keeps the stored one."""

    name: str
    kind: str
    client_id: str
    issuer_url: str = ""
    entra_directory: str = "organizations"
    client_secret: str = ""
    client_secret_env: str = ""
    enforces_mfa: bool = False
    is_active: bool = True


def list_providers(session: Session) -> list[SsoProvider]:
    return list(session.scalars(
        select(SsoProvider).options(selectinload(SsoProvider.links)
                                    .selectinload(SsoOrganisationLink.organisation))
        .order_by(SsoProvider.name)))


def active_provider_exists(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(SsoProvider)
                               .where(SsoProvider.is_active)))


def _checked(session: Session, details: ProviderDetails, provider: SsoProvider | None,
             secret_key: str) -> dict:
    name = " ".join((details.name or "").split())
    problem = control_character_problem(details.name or "", "Name")
    if problem:
        raise ProviderError("name", problem)
    if not name:
        raise ProviderError("name", "Enter a name for the provider")
    if len(name) > 100:
        raise ProviderError("name", "Name must be 100 characters or fewer")
    clash = session.scalar(select(SsoProvider).where(func.lower(SsoProvider.name) == name.lower()))
    if clash is not None and clash is not provider:
        raise ProviderError("name", f"There is already a provider called {clash.name}")
    if details.kind not in set(ProviderKind):
        raise ProviderError("kind", "Select the kind of provider")
    client_id = (details.client_id or "").strip()
    if not client_id or len(client_id) > 255 or control_character_problem(client_id, "x"):
        raise ProviderError("client_id", "Enter the client (application) id the provider "
                            "gave this site, without spaces")
    issuer_url, directory = "", "organizations"
    if details.kind == ProviderKind.OIDC:
        issuer_url = (details.issuer_url or "").strip()
        if not protocol.is_acceptable_url(issuer_url) or len(issuer_url) > 500:
            raise ProviderError("issuer_url", "Enter the provider’s issuer URL, starting "
                                "https://, as its discovery document gives it")
    else:
        directory = details.entra_directory
        if directory not in ENTRA_DIRECTORIES:
            raise ProviderError("entra_directory", "Select which accounts Microsoft’s sign-in "
                                "page takes")
    environment = (details.client_secret_env or "").strip()
    if environment and not client_secrets.ENVIRONMENT_NAME.match(environment):
        raise ProviderError("client_secret_env", "Enter the name of an environment variable "
                            "in capitals, digits and underscores, like SSO_CLIENT_SECRET")
    values = {"name": name, "kind": details.kind, "client_id": client_id,
              "issuer_url": issuer_url, "entra_directory": directory,
              "client_secret_env": environment, "enforces_mfa": bool(details.enforces_mfa),
              "is_active": bool(details.is_active)}
    secret = details.client_secret
    if secret:
        if control_character_problem(secret, "x") or len(secret) > 500:
            raise ProviderError("client_secret", "Enter the client secret as the provider "
                                "shows it, without spaces or line breaks")
        values["client_secret_encrypted"] = client_secrets.seal(details.client_secret,
                                                                secret_key)
    if (details.kind == ProviderKind.ENTRA and not environment
            and not (details.client_secret or (provider and provider.client_secret_encrypted))):
        raise ProviderError("client_secret", "Enter the client secret of the app registration "
                            "(or the environment variable that holds it)")
    return values


def _snapshot(provider: SsoProvider) -> dict:
    return {"name": provider.name, "kind": provider.kind, "client_id": provider.client_id,
            "issuer_url": provider.issuer_url, "entra_directory": provider.entra_directory,
            "client_secret_env": provider.client_secret_env,
            "enforces_mfa": provider.enforces_mfa, "is_active": provider.is_active}


def save_provider(session: Session, actor: User, details: ProviderDetails, *,
                  secret_key: str, provider: SsoProvider | None = None,
                  address: str = "") -> SsoProvider:
    """Add a provider, or change one; audited with what changed (a new secret only as
    "secret replaced")."""
    values = _checked(session, details, provider, secret_key)
    before = _snapshot(provider) if provider else None
    now = utcnow()
    secret_replaced = "client_secret_encrypted" in values
    if provider is None:
        provider = SsoProvider(created_at=now)
        session.add(provider)
    for key, value in values.items():
        setattr(provider, key, value)
    if secret_replaced:
        provider.client_secret_set_at = now
    provider.updated_at = now
    session.flush()
    after = _snapshot(provider)
    if before is None:
        record_event(session, "sso.provider_added", actor=actor, address=address,
                     summary=f"Added the sign-in provider {provider.name}",
                     details={"provider_id": provider.id, "after": after,
                              "secret_replaced": secret_replaced})
    elif before != after or secret_replaced:
        record_event(session, "sso.provider_changed", actor=actor, address=address,
                     summary=f"Changed the sign-in provider {provider.name}",
                     details={"provider_id": provider.id, "before": before, "after": after,
                              "secret_replaced": secret_replaced})
    protocol.forget_kept_documents()
    return provider


def sign_in_origins(session: Session, entra_authority: str) -> list[str]:
    """The origins a sign-in form may send the browser on to: the Entra ID authority and
    each other provider's issuer (and its authorisation endpoint, once discovered)."""
    origins = set()
    for provider in session.scalars(select(SsoProvider).where(SsoProvider.is_active)):
        addresses = [entra_authority] if provider.is_entra else [provider.issuer_url]
        origins.update(protocol.origin(address) for address in addresses)
    origins.update(protocol.kept_authorization_origins())
    return sorted(o for o in origins if o)


def client_secret(provider: SsoProvider, secret_key: str) -> str | None:
    """The secret to authenticate with at the token endpoint (None: a public client)."""
    if provider.client_secret_env:
        return client_secrets.from_environment(provider.client_secret_env)
    if provider.client_secret_encrypted:
        return client_secrets.unseal(provider.client_secret_encrypted, secret_key)
    return None


def secret_problem(provider: SsoProvider, secret_key: str) -> str:
    """Why the client secret cannot be had ("" when it can), for the administration page."""
    try:
        client_secret(provider, secret_key)
    except client_secrets.SecretUnavailable as error:
        return str(error)
    return ""


# --- organisations linked to a provider ---------------------------------------------------


def link_organisation(session: Session, actor: User, provider: SsoProvider,
                      organisation: Organisation | None, tenant_id: str, *,
                      address: str = "") -> SsoOrganisationLink:
    if organisation is None or not organisation.is_active:
        raise ProviderError("organisation", "Select the organisation")
    tenant_id = (tenant_id or "").strip().lower()
    if provider.is_entra:
        if not TENANT_ID.match(tenant_id):
            raise ProviderError("tenant_id", "Enter the tenant id (directory id) as Entra "
                                "shows it, like 72f988bf-86f1-41af-91ab-2d7cd011db47")
    else:
        tenant_id = ""
    taken = session.scalar(select(SsoOrganisationLink).where(
        SsoOrganisationLink.provider_id == provider.id,
        SsoOrganisationLink.tenant_id == tenant_id))
    if taken is not None:
        field, message = (("tenant_id", f"That tenant is already linked to "
                           f"{taken.organisation.name}") if provider.is_entra else
                          ("organisation", f"{provider.name} already signs in "
                           f"{taken.organisation.name}: another provider is needed for "
                           "another organisation"))
        raise ProviderError(field, message)
    link = SsoOrganisationLink(provider=provider, organisation=organisation,
                               tenant_id=tenant_id)
    session.add(link)
    session.flush()
    record_event(session, "sso.organisation_linked", actor=actor, address=address,
                 organisation_id=organisation.id,
                 summary=f"{organisation.name} signs in through {provider.name}",
                 details={"provider_id": provider.id, "tenant_id": tenant_id})
    return link


def unlink_organisation(session: Session, actor: User, link: SsoOrganisationLink, *,
                        address: str = "") -> None:
    provider, organisation = link.provider, link.organisation
    session.delete(link)
    record_event(session, "sso.organisation_unlinked", actor=actor, address=address,
                 organisation_id=organisation.id,
                 summary=f"{organisation.name} no longer signs in through {provider.name}"
                 + (f" with the tenant {link.tenant_id}" if link.tenant_id else ""),
                 details={"provider_id": provider.id, "tenant_id": link.tenant_id})


def linked_organisation_ids(session: Session) -> set[int]:
    return set(session.scalars(select(SsoOrganisationLink.organisation_id)
                               .join(SsoProvider).where(SsoProvider.is_active)))


# --- organisations that require single sign-on ---------------------------------------------


def requires_single_sign_on(session: Session, organisation_id: int) -> bool:
    return session.get(SsoRequirement, organisation_id) is not None


def required_organisation_ids(session: Session) -> set[int]:
    return set(session.scalars(select(SsoRequirement.organisation_id)))


def set_requirement(session: Session, actor: User, organisation: Organisation, required: bool,
                    *, address: str = "") -> bool:
    """Require single sign-on of the organisation's staff, or stop; False when nothing
    changed. Only an organisation linked to an active provider can require it.

    Requiring it signs out every member but its administrators wherever they are signed
    in, so that no one carries on for hours in a session their password began: they sign in
    again with their organisation's account."""
    current = session.get(SsoRequirement, organisation.id)
    if required == (current is not None):
        return False
    signed_out = 0
    if required:
        if organisation.id not in linked_organisation_ids(session):
            raise ProviderError("organisation", f"{organisation.name} is not linked to an "
                                "active provider, so its staff could not sign in at all")
        session.add(SsoRequirement(organisation_id=organisation.id))
        signed_out = _sign_out_members(session, organisation)
    else:
        session.delete(current)
    record_event(session, "sso.requirement_changed", actor=actor, address=address,
                 organisation_id=organisation.id,
                 summary=(f"{organisation.name}’s staff must sign in with their organisation’s "
                          "account" if required else
                          f"{organisation.name}’s staff may sign in with a password again"),
                 details={"required": required, "members_signed_out": signed_out})
    return True


def _sign_out_members(session: Session, organisation: Organisation) -> int:
    """End the sessions of the organisation's members who are not administrators (each
    session names the epoch it began in); how many people that was."""
    administrators = select(PermissionGrant.user_id).where(
        PermissionGrant.permission == Permission.ADMIN)
    result = session.execute(
        update(User)
        .where(User.organisation_id == organisation.id, User.id.not_in(administrators))
        .values(session_epoch=User.session_epoch + 1)
        .execution_options(synchronize_session="fetch"))
    return result.rowcount


SSO_ONLY = ("{organisation} signs its staff in with their work account: use “Sign in with "
            "your organisation’s account” below.")


class SingleSignOnRequired(AccountError):
    """A password here is refused because the person's organisation signs its staff in with
    their work account: registering with one, choosing one through an emailed link, changing
    one. `organisation` names it, for the page that offers that sign-in instead."""

    def __init__(self, field: str, message: str, organisation: Organisation):
        super().__init__(field, message)
        self.organisation = organisation.name


def organisation_signing_in(session: Session, user: User) -> Organisation | None:
    """The organisation whose own accounts this person must sign in with, so that a password
    is no use to them here; None when they may use one. Administrators always may, so that a
    broken connection to a provider locks no one out."""
    if user.has_permission(Permission.ADMIN):
        return None
    if requires_single_sign_on(session, user.organisation_id):
        return user.organisation
    return None


def password_refusal(session: Session, user: User) -> str:
    """Why this person may not sign in with a password ("" when they may)."""
    organisation = organisation_signing_in(session, user)
    return SSO_ONLY.format(organisation=organisation.name) if organisation else ""


NO_REGISTRATION = ("{organisation} signs its staff in to JESIP Learn with their work account, "
                   "so there is no account to create with a password. Sign in with your "
                   "organisation’s account instead: your JESIP Learn account is made the first "
                   "time you do.")


def check_registration(session: Session, email: str, organisation: Organisation) -> None:
    """SingleSignOnRequired when a registration with a password would make an account that
    could never sign in: the email's domain is an organisation's that requires single
    sign-on (whichever organisation was chosen), or the chosen organisation requires it."""
    by_domain = organisations_for_domain(session, email.rsplit("@", 1)[1])
    for field, candidate in (("email", by_domain), ("organisation", organisation)):
        if (candidate is not None and candidate.is_active
                and requires_single_sign_on(session, candidate.id)):
            raise SingleSignOnRequired(field, NO_REGISTRATION.format(
                organisation=candidate.name), candidate)


# --- identities ------------------------------------------------------------------------------


def identities_of(session: Session, user: User) -> list[SsoIdentity]:
    return list(session.scalars(select(SsoIdentity).where(SsoIdentity.user_id == user.id)
                                .order_by(SsoIdentity.id)))


def forget_identities(session: Session, user: User) -> None:
    session.execute(delete(SsoIdentity).where(SsoIdentity.user_id == user.id))


def organisations_for_domain(session: Session, domain: str) -> Organisation | None:
    found = session.scalar(select(OrganisationDomain).where(
        OrganisationDomain.domain == (domain or "").lower()))
    return found.organisation if found else None
