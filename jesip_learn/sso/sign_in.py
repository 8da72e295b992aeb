"""A sign-in with the organisation's own account, as far as the provider's answer: which
provider, the sign-in under way kept on the server, and the answer checked. What the
checked answer does to accounts is in `jesip_learn.sso.completion` and, after a first
sign-in, `jesip_learn.sso.first_sign_in`.

1. `choose_providers`: the email's domain names the organisation, and so its providers;
   a domain no organisation lists goes to Entra ID's multi-tenant sign-in, whose tenant
   then decides.
2. `start`: a sign-in under way is kept on the server (`SsoFlow`) with its state (hashed),
   nonce and PKCE verifier; the person goes to the provider's authorisation URL.
3. `returning_flow` finds the sign-in the person comes back with, and `check_answer` (no
   database) exchanges the provider's code for tokens and checks the ID token
   (protocol.py). The web layer calls it between two transactions, so that no database
   lock is held while the provider answers.

Also here: the settings of single sign-on, the problem that stops a sign-in
(`SignInProblem`), and the provider's own sign-out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jesip_learn.accounts.details import AccountError, normalise_email
from jesip_learn.accounts.models import Organisation
from jesip_learn.core.columns import utcnow
from jesip_learn.sso import client_secrets, protocol
from jesip_learn.sso.models import ProviderKind, SsoFlow, SsoOrganisationLink, SsoProvider
from jesip_learn.sso.providers import TENANT_ID, client_secret, organisations_for_domain

FLOW_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class SsoSettings:
    secret_key: str
    entra_authority: str = "https://login.microsoftonline.com"
    clock_skew_seconds: int = 60
    timeout_seconds: float = 10

    @classmethod
    def from_config(cls, config) -> SsoSettings:
        return cls(secret_key=config.get("SSO_SECRET_KEY") or config["SECRET_KEY"],
                   entra_authority=config.get("SSO_ENTRA_AUTHORITY",
                                              cls.entra_authority).rstrip("/"),
                   clock_skew_seconds=int(config.get("SSO_CLOCK_SKEW_SECONDS", 60)),
                   timeout_seconds=float(config.get("SSO_HTTP_TIMEOUT_SECONDS", 10)))


class SignInProblem(Exception):
    """Why the person is not signed in, in words for them; `reason` is for the log."""

    def __init__(self, reason: str, title: str, message: str, *, status: int = 403,
                 organisation: str = ""):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.title = title
        self.message = message
        self.status = status
        self.organisation = organisation


def sign_in_problem(reason: str, message: str, *, status: int = 403,
                    title: str = "You could not be signed in") -> SignInProblem:
    return SignInProblem(reason, title, message, status=status)


# --- 1. which provider ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderChoice:
    email: str
    organisation: Organisation | None
    providers: list[SsoProvider]


def choose_providers(session: Session, email: str) -> ProviderChoice:
    """The providers that sign in someone with this email address; AccountError (on the
    email field) when there are none, saying what to do instead."""
    email = normalise_email(email)
    domain = email.rsplit("@", 1)[1]
    organisation = organisations_for_domain(session, domain)
    active = select(SsoProvider).where(SsoProvider.is_active).order_by(SsoProvider.name)
    if organisation is not None:
        providers = list(session.scalars(active.where(SsoProvider.links.any(
            SsoOrganisationLink.organisation_id == organisation.id))))
        if not providers:
            raise AccountError("email", f"{organisation.name} has not connected its own "
                               "accounts to JESIP Learn yet. Sign in with your password.")
        return ProviderChoice(email, organisation, providers)
    providers = list(session.scalars(active.where(SsoProvider.kind == ProviderKind.ENTRA)))
    if not providers:
        raise AccountError("email", f"No organisation signs in with accounts at {domain}. "
                           "Check the address, or sign in with your password.")
    return ProviderChoice(email, None, providers)


# --- 2. starting -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderConfig:
    """A provider's settings as plain values, usable after the transaction has ended."""

    id: int
    name: str
    kind: str
    client_id: str
    client_secret: str | None
    discovery_url: str
    issuer_url: str  # "" for Entra ID: each tenant has its own
    enforces_mfa: bool

    @property
    def is_entra(self) -> bool:
        return self.kind == ProviderKind.ENTRA


def provider_config(provider: SsoProvider, settings: SsoSettings) -> ProviderConfig:
    if not provider.is_active:
        raise sign_in_problem("provider-inactive", f"Signing in through {provider.name} has "
                              "been turned off. Sign in with your password, or ask your training "
                              "manager.")
    try:
        secret = client_secret(provider, settings.secret_key)
    except client_secrets.SecretUnavailable as error:
        raise sign_in_problem("provider-secret", "JESIP Learn’s connection to your "
                              "organisation’s sign-in service is not set up properly, so no one "
                              "can sign in through it at the moment. Sign in with your password, "
                              f"or tell the JESIP Learn administrators ({error})",
                              status=503) from error
    if provider.is_entra:
        url = (f"{settings.entra_authority}/{provider.entra_directory}/v2.0"
               f"{protocol.DISCOVERY_PATH}")
    else:
        url = protocol.discovery_url(provider.issuer_url)
    return ProviderConfig(id=provider.id, name=provider.name, kind=provider.kind,
                          client_id=provider.client_id, client_secret=secret,
                          discovery_url=url,
                          issuer_url="" if provider.is_entra else provider.issuer_url,
                          enforces_mfa=provider.enforces_mfa)


UNAVAILABLE = ("Your organisation’s sign-in service did not answer properly, so you are not "
               "signed in. Wait a few minutes and try again, or sign in with your password.")


def metadata_for(config: ProviderConfig, settings: SsoSettings) -> protocol.Metadata:
    """The provider's discovery document (over the network unless kept)."""
    try:
        return protocol.provider_metadata(config.discovery_url,
                                          timeout=settings.timeout_seconds,
                                          expected_issuer=config.issuer_url or None)
    except protocol.ProviderUnavailable as error:
        raise SignInProblem("provider-unavailable", "Your organisation’s sign-in service is "
                            "not available", f"{UNAVAILABLE} ({error})", status=503) from error


def state_hash(state: str) -> str:
    return hashlib.sha256((state or "").encode()).hexdigest()


def start(session: Session, config: ProviderConfig, metadata: protocol.Metadata, *,
          login_hint: str, next_url: str, redirect_uri: str,
          now: datetime | None = None) -> tuple[str, str]:
    """Keep a new sign-in under way; (the provider's authorisation URL, the state)."""
    now = now or utcnow()
    _forget_expired(session, now)
    state = protocol.new_secret(43)
    flow = SsoFlow(state_hash=state_hash(state), provider_id=config.id,
                   nonce=protocol.new_secret(43), code_verifier=protocol.new_secret(64),
                   login_hint=login_hint[:254], next_url=(next_url or "")[:500],
                   created_at=now, expires_at=now + FLOW_LIFETIME)
    session.add(flow)
    session.flush()
    url = protocol.authorization_url(metadata, client_id=config.client_id,
                                     redirect_uri=redirect_uri, state=state, nonce=flow.nonce,
                                     code_verifier=flow.code_verifier, login_hint=login_hint)
    return url, state


def _forget_expired(session: Session, now: datetime) -> None:
    """Everyone's sign-ins that ran out; rows another transaction holds wait for next time."""
    expired = (select(SsoFlow.id).where(SsoFlow.expires_at <= now)
               .with_for_update(skip_locked=True))
    session.execute(delete(SsoFlow).where(SsoFlow.id.in_(expired.scalar_subquery()))
                    .execution_options(synchronize_session=False))


# --- 3. the provider's answer -----------------------------------------------------------------


USED_OR_EXPIRED = ("This sign-in has already been used, or it took more than 10 minutes. "
                   "Start again from the sign-in page.")


@dataclass(frozen=True)
class Returning:
    """A sign-in under way that the provider has sent the person back to."""

    flow_id: int
    state: str
    nonce: str
    code_verifier: str
    next_url: str
    provider: ProviderConfig


def returning_flow(session: Session, state: str, settings: SsoSettings, *,
                   now: datetime | None = None) -> Returning:
    now = now or utcnow()
    flow = session.scalar(select(SsoFlow).where(SsoFlow.state_hash == state_hash(state)))
    if flow is None or flow.returned_at is not None or flow.expires_at <= now:
        raise sign_in_problem("state-used-or-expired", USED_OR_EXPIRED, status=400,
                              title="Start signing in again")
    return Returning(flow_id=flow.id, state=state, nonce=flow.nonce,
                     code_verifier=flow.code_verifier, next_url=flow.next_url,
                     provider=provider_config(flow.provider, settings))


@dataclass(frozen=True)
class Answer:
    """The ID token's claims once checked, or why the answer was refused."""

    claims: dict | None = None
    refusal: str = ""  # a reason code
    detail: str = ""
    provider_error: str = ""  # the error the provider sent back instead of a code


def expected_issuer(config: ProviderConfig, settings: SsoSettings):
    """For Entra ID the issuer of the token's own tenant (`tid`), for others the one issuer."""
    if not config.is_entra:
        return lambda claims: config.issuer_url

    def tenant_issuer(claims: dict) -> str | None:
        tenant = claims.get("tid")
        if not isinstance(tenant, str) or not TENANT_ID.match(tenant):
            return None
        return f"{settings.entra_authority}/{tenant}/v2.0"

    return tenant_issuer


def check_answer(returning: Returning, *, code: str, error: str, redirect_uri: str,
                 settings: SsoSettings, now: int | None = None) -> Answer:
    """Exchange the code and check the ID token (network; no database)."""
    if error or not code:
        return Answer(refusal="provider-error", provider_error=(error or "no code")[:100])
    config = returning.provider
    try:
        metadata = protocol.provider_metadata(config.discovery_url,
                                              timeout=settings.timeout_seconds,
                                              expected_issuer=config.issuer_url or None)
        tokens = protocol.exchange_code(metadata, client_id=config.client_id,
                                        client_secret=config.client_secret, code=code,
                                        redirect_uri=redirect_uri,
                                        code_verifier=returning.code_verifier,
                                        timeout=settings.timeout_seconds)
        claims = protocol.verify_id_token(
            tokens["id_token"], metadata=metadata, client_id=config.client_id,
            expected_issuer=expected_issuer(config, settings), nonce=returning.nonce,
            access_token=tokens.get("access_token"), leeway=settings.clock_skew_seconds,
            now=now, timeout=settings.timeout_seconds)
    except protocol.ProviderUnavailable as failure:
        return Answer(refusal="provider-unavailable", detail=str(failure)[:500])
    except protocol.AnswerRefused as refusal:
        return Answer(refusal=refusal.reason, detail=refusal.detail[:500])
    return Answer(claims=claims)


# --- signing out at the provider ------------------------------------------------------------


def provider_sign_out_url(session: Session, provider_id: int, issuer: str, *,
                          post_logout_redirect_uri: str, settings: SsoSettings) -> str:
    """The provider's own sign-out for someone who signed in through it, from the discovery
    document of the issuer that signed them in (for Entra ID, their tenant's); "" when the
    provider offers none or cannot be reached."""
    provider = session.get(SsoProvider, provider_id)
    if provider is None or not protocol.is_acceptable_url(issuer):
        return ""
    try:
        metadata = protocol.provider_metadata(protocol.discovery_url(issuer),
                                              timeout=settings.timeout_seconds,
                                              expected_issuer=issuer)
    except protocol.ProviderUnavailable:
        return ""
    return protocol.end_session_url(metadata, client_id=provider.client_id,
                                    post_logout_redirect_uri=post_logout_redirect_uri)
