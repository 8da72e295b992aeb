"""A sign-in with the organisation's own account, from the email address typed to the
account signed in.

1. `choose_providers`: the email's domain names the organisation, and so its providers;
   a domain no organisation lists goes to Entra ID's multi-tenant sign-in, whose tenant
   then decides.
2. `start`: a sign-in under way is kept on the server (`SsoFlow`) with its state (hashed),
   nonce and PKCE verifier; the person goes to the provider's authorisation URL.
3. `check_answer` (no database): the provider's code exchanged for tokens, the ID token
   checked (protocol.py). The web layer calls it between two transactions, so that no
   database lock is held while the provider answers.
4. `complete`: the sign-in under way is claimed, once (a conditional update), and the
   answer recorded: refused (a tenant no organisation lists, an account of another
   organisation...) with the reason in the audit log, or the person's account signed in,
   or the identity held for the person to create their account (`create_account`: their
   command role, asked once) or to link the existing account with their email address
   (`link_account`: their password).

The subject (Entra ID: the tenant's issuer and the object id `oid`; otherwise `iss` and
`sub`) is what finds the account afterwards, never the email address.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from jesip_learn.accounts import passwords
from jesip_learn.accounts.models import Organisation, Permission, PermissionGrant, User
from jesip_learn.accounts.throttle import DatabaseLoginThrottle, RedisLoginThrottle
from jesip_learn.accounts.users import (
    AccountError,
    check_command_role,
    check_name,
    find_user_by_email,
    normalise_email,
)
from jesip_learn.core.columns import utcnow
from jesip_learn.core.typed_text import control_character_problem
from jesip_learn.records.audit import record_event
from jesip_learn.sso import client_secrets, protocol
from jesip_learn.sso.models import (
    ProviderKind,
    SsoFlow,
    SsoIdentity,
    SsoOrganisationLink,
    SsoProvider,
)
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


def _problem(reason: str, message: str, *, status: int = 403,
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
        raise _problem("provider-inactive", f"Signing in through {provider.name} has been "
                       "turned off. Sign in with your password, or ask your training manager.")
    try:
        secret = client_secret(provider, settings.secret_key)
    except client_secrets.SecretUnavailable as error:
        raise _problem("provider-secret", "JESIP Learn’s connection to your organisation’s "
                       "sign-in service is not set up properly, so no one can sign in through "
                       "it at the moment. Sign in with your password, or tell the JESIP Learn "
                       f"administrators ({error})", status=503) from error
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


def _hash(state: str) -> str:
    return hashlib.sha256((state or "").encode()).hexdigest()


def start(session: Session, config: ProviderConfig, metadata: protocol.Metadata, *,
          login_hint: str, next_url: str, redirect_uri: str,
          now: datetime | None = None) -> tuple[str, str]:
    """Keep a new sign-in under way; (the provider's authorisation URL, the state)."""
    now = now or utcnow()
    _forget_expired(session, now)
    state = protocol.new_secret(43)
    flow = SsoFlow(state_hash=_hash(state), provider_id=config.id,
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
    flow = session.scalar(select(SsoFlow).where(SsoFlow.state_hash == _hash(state)))
    if flow is None or flow.returned_at is not None or flow.expires_at <= now:
        raise _problem("state-used-or-expired", USED_OR_EXPIRED, status=400,
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


# --- 4. completing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Who the provider says the person is, checked; kept on the flow as a dict."""

    provider_id: int
    provider_name: str
    issuer: str
    subject: str
    tenant_id: str
    organisation_id: int
    organisation_name: str
    email: str
    email_trusted: bool
    name: str
    provider_mfa: bool


@dataclass(frozen=True)
class Outcome:
    """How the sign-in ends: `signed-in` (`second_step` when the site's code is still to
    come), `new-account` (the command role is asked next) or `link-account` (the password
    of the existing account is asked next)."""

    kind: str
    identity: Identity
    next_url: str
    user: User | None = None
    second_step: bool = False


REFUSALS = {
    "provider-error": (400, "You did not finish signing in with your organisation’s account, "
                       "so you are not signed in. Try again, or sign in with your password."),
    "provider-unavailable": (503, UNAVAILABLE),
    "token-exchange": (403, "Your organisation’s sign-in service did not accept this sign-in "
                       "(it may have taken too long, or been used already). Try again."),
    "signature": (403, "The answer from your organisation’s sign-in service was not signed "
                  "with its keys, so it cannot be trusted. Try again; if it happens again, "
                  "tell your IT service desk."),
    "issuer": (403, "The answer came from a sign-in service other than the one expected, so "
               "it cannot be trusted. Try again; if it happens again, tell your IT service "
               "desk."),
    "audience": (403, "The answer from your organisation’s sign-in service was meant for "
                 "another application, not JESIP Learn, so it cannot be used."),
    "expired": (403, "The answer from your organisation’s sign-in service had already run out "
                "when it arrived. This happens when its clock, or ours, is wrong. Try again; "
                "if it happens again, tell your IT service desk."),
    "issued-in-future": (403, "The answer from your organisation’s sign-in service is dated in "
                         "the future. This happens when its clock, or ours, is wrong. Try "
                         "again; if it happens again, tell your IT service desk."),
    "nonce": (403, "The answer from your organisation’s sign-in service belongs to another "
              "sign-in, not this one, so it cannot be used. Start again from the sign-in "
              "page."),
    "claims": (403, "The answer from your organisation’s sign-in service is missing details "
               "JESIP Learn needs. Tell your IT service desk."),
}


def _claim(session: Session, flow_id: int, now: datetime) -> None:
    """Mark the sign-in as answered: of requests sending the same state at once, one wins."""
    claimed = session.execute(
        update(SsoFlow).where(SsoFlow.id == flow_id, SsoFlow.returned_at.is_(None),
                              SsoFlow.expires_at > now)
        .values(returned_at=now).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise _problem("state-used-or-expired", USED_OR_EXPIRED, status=400,
                       title="Start signing in again")


def _refuse(session: Session, reason: str, *, provider: str, address: str,
            details: dict | None = None, organisation_id: int | None = None,
            status: int | None = None, message: str = "") -> SignInProblem:
    record_event(session, "sign_in.sso_refused", address=address, organisation_id=organisation_id,
                 summary=f"Single sign-on through {provider} refused: {reason}",
                 details={"provider": provider, "reason": reason, **(details or {})})
    default_status, default_message = REFUSALS.get(reason, (403, ""))
    return _problem(reason, message or default_message, status=status or default_status)


def complete(session: Session, returning: Returning, answer: Answer, *, settings: SsoSettings,
             address: str = "", now: datetime | None = None) -> Outcome:
    """Claim the sign-in and act on the answer; SignInProblem (recorded in the audit log)
    when the person is not to be signed in."""
    now = now or utcnow()
    _claim(session, returning.flow_id, now)
    config = returning.provider
    if answer.claims is None:
        raise _refuse(session, answer.refusal, provider=config.name, address=address,
                      details={"detail": answer.detail, "provider_error": answer.provider_error})
    identity = _identity(session, config, answer.claims, address=address)
    linked = session.scalar(select(SsoIdentity).where(SsoIdentity.issuer == identity.issuer,
                                                      SsoIdentity.subject == identity.subject))
    if linked is not None:
        user = _usable(session, linked.user, identity, address)
        linked.last_used_at = now
        _finish(session, returning.flow_id, now)
        return Outcome("signed-in", identity, returning.next_url, user=user,
                       second_step=_signed_in(session, user, identity, address, now))
    return _hold_for_account(session, returning, identity, address, now)


def _identity(session: Session, config: ProviderConfig, claims: dict, *,
              address: str) -> Identity:
    issuer = claims["iss"]
    if config.is_entra:
        tenant, subject = claims["tid"], claims.get("oid")
    else:
        tenant, subject = "", claims["sub"]
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise _refuse(session, "claims", provider=config.name, address=address,
                      details={"detail": "no usable subject (oid or sub)"})
    link = session.scalar(select(SsoOrganisationLink).where(
        SsoOrganisationLink.provider_id == config.id, SsoOrganisationLink.tenant_id == tenant))
    if link is None or not link.organisation.is_active:
        raise _refuse(session, "tenant-not-listed", provider=config.name, address=address,
                      details={"tenant_id": tenant, "issuer": issuer},
                      message="Your organisation’s account is not one that JESIP Learn "
                      "accepts: your organisation has not been connected to JESIP Learn "
                      "(or not with this account). Ask your training manager to have your "
                      "organisation connected, or sign in with your password.")
    organisation = link.organisation
    try:
        name = check_name(_name(claims))
    except AccountError as error:
        raise _refuse(session, "name", provider=config.name, address=address,
                      organisation_id=organisation.id, details={"detail": error.message},
                      message=NAME_UNUSABLE) from error
    email, trusted = _email(claims, organisation, config)
    return Identity(provider_id=config.id, provider_name=config.name, issuer=issuer,
                    subject=subject, tenant_id=tenant, organisation_id=organisation.id,
                    organisation_name=organisation.name, email=email, email_trusted=trusted,
                    name=name,
                    provider_mfa=config.enforces_mfa or _reports_mfa(claims.get("amr")))


NAME_UNUSABLE = ("Your organisation’s account gives your name in a form JESIP Learn cannot "
                 "use: it is missing, longer than 200 characters, or holds line breaks, tabs, "
                 "other control characters or characters that change the direction of text. "
                 "Ask your IT service desk to correct your name in your organisation’s "
                 "directory, or sign in with your password.")


def _name(claims: dict) -> str:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p for p in parts if isinstance(p, str))
    return name if isinstance(name, str) else ""


def _email(claims: dict, organisation: Organisation, config: ProviderConfig) -> tuple[str, bool]:
    """The email address in the token, and whether it can be trusted: the provider says it
    verified it, or it is at one of the organisation's own domains."""
    candidates = [claims.get("email")]
    if config.is_entra:
        candidates.append(claims.get("preferred_username"))  # the sign-in name, an address
    for candidate in candidates:
        if not isinstance(candidate, str) or control_character_problem(candidate, "x"):
            continue
        try:
            email = normalise_email(candidate)
        except AccountError:
            continue
        domains = {d.domain for d in organisation.domains}
        trusted = (claims.get("email_verified") is True or claims.get("xms_edov") is True
                   or email.rsplit("@", 1)[1] in domains)
        return email, trusted
    return "", False


def _reports_mfa(amr) -> bool:
    return isinstance(amr, list) and "mfa" in amr


def _usable(session: Session, user: User, identity: Identity, address: str) -> User:
    if user.organisation_id != identity.organisation_id:
        raise _refuse(session, "other-organisation", provider=identity.provider_name,
                      address=address, organisation_id=identity.organisation_id,
                      details={"user_id": user.id},
                      message=f"Your JESIP Learn account belongs to {user.organisation.name}, "
                      f"but you signed in with an account of {identity.organisation_name}. "
                      "Ask your training manager to move your account, or sign in with your "
                      "password.")
    if not user.is_active:
        raise _refuse(session, "deactivated", provider=identity.provider_name, address=address,
                      organisation_id=identity.organisation_id, details={"user_id": user.id},
                      message="Your JESIP Learn account has been deactivated. Contact your "
                      "organisation’s training manager.")
    return user


def _hold_for_account(session: Session, returning: Returning, identity: Identity,
                      address: str, now: datetime) -> Outcome:
    """A first sign-in: the identity waits on the flow for the person's next step."""
    if not identity.email or not identity.email_trusted:
        raise _refuse(session, "email", provider=identity.provider_name, address=address,
                      organisation_id=identity.organisation_id,
                      message="Your organisation’s account does not give an email address "
                      f"that JESIP Learn can trust as yours (one at {identity.organisation_name}’s "
                      "own email domains, or one it has verified). Ask your training manager "
                      "to have your organisation’s email domain listed, or sign in with your "
                      "password.")
    existing = find_user_by_email(session, identity.email)
    if existing is not None:
        _usable(session, existing, identity, address)
    flow = session.get(SsoFlow, returning.flow_id)
    flow.identity = asdict(identity)
    flow.user_id = existing.id if existing else None
    flow.expires_at = now + FLOW_LIFETIME  # ten minutes to choose the role or type a password
    kind = "link-account" if existing else "new-account"
    return Outcome(kind, identity, returning.next_url, user=existing)


def _finish(session: Session, flow_id: int, now: datetime) -> None:
    session.execute(update(SsoFlow).where(SsoFlow.id == flow_id)
                    .values(finished_at=now, identity=None)
                    .execution_options(synchronize_session=False))


def _signed_in(session: Session, user: User, identity: Identity, address: str,
               now: datetime) -> bool:
    """Record the sign-in; True when the site's own two-step code must follow: the person
    uses it, and the provider did not report (or enforce) a second factor of its own."""
    details = {"method": "single sign-on", "provider": identity.provider_name,
               "provider_mfa": identity.provider_mfa}
    if user.mfa_enabled and not identity.provider_mfa:
        record_event(session, "sign_in.provider_accepted", subject=user, address=address,
                     details=details)
        return True
    user.last_sign_in_at = now
    user.invited_at = None  # signed in with their work account: no longer waiting for them
    record_event(session, "sign_in.succeeded", actor=user, subject=user, address=address,
                 details=details)
    return False


# --- the person's next step after a first sign-in -------------------------------------------


@dataclass(frozen=True)
class Waiting:
    flow_id: int
    identity: Identity
    next_url: str
    user: User | None  # the account to link, for link-account


def waiting_identity(session: Session, state: str, *, now: datetime | None = None) -> Waiting:
    """The identity held after a first sign-in, for its next page."""
    now = now or utcnow()
    flow = session.scalar(select(SsoFlow).where(SsoFlow.state_hash == _hash(state)))
    if flow is not None and flow.finished_at is not None:
        raise _already_finished()
    if flow is None or flow.identity is None or flow.expires_at <= now:
        raise _problem("identity-used-or-expired", USED_OR_EXPIRED, status=400,
                       title="Start signing in again")
    user = session.get(User, flow.user_id) if flow.user_id else None
    return Waiting(flow_id=flow.id, identity=Identity(**flow.identity),
                   next_url=flow.next_url, user=user)


def _already_finished() -> SignInProblem:
    """The page sent twice (a double click, two tabs): the first one has done it."""
    return SignInProblem("identity-finished", "You have already finished signing in",
                         "Your account was set up a moment ago, from this page sent once "
                         "before. Go to My training; if you are not signed in, sign in with "
                         "your organisation’s account again.", status=409)


def _take(session: Session, waiting: Waiting, now: datetime) -> None:
    """Finish the flow: of two tabs sending the same page, one wins."""
    taken = session.execute(
        update(SsoFlow).where(SsoFlow.id == waiting.flow_id, SsoFlow.finished_at.is_(None),
                              SsoFlow.expires_at > now)
        .values(finished_at=now, identity=None).execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise _already_finished()


def _link(session: Session, user: User, identity: Identity, now: datetime) -> None:
    session.add(SsoIdentity(user_id=user.id, provider_id=identity.provider_id,
                            issuer=identity.issuer, subject=identity.subject, created_at=now,
                            last_used_at=now))


def create_account(session: Session, waiting: Waiting, command_role: str, *,
                   address: str = "", now: datetime | None = None) -> Outcome:
    """The account of someone signing in for the first time, in their organisation: name and
    email from their organisation's account, confirmed and approved (the tenant vouches
    for them), with no password; their command role as they chose it."""
    now = now or utcnow()
    identity = waiting.identity
    command_role = check_command_role(command_role)
    if waiting.user is not None or find_user_by_email(session, identity.email) is not None:
        raise _problem("identity-used-or-expired", USED_OR_EXPIRED, status=400,
                       title="Start signing in again")
    _take(session, waiting, now)
    organisation = session.get(Organisation, identity.organisation_id)
    user = User(name=identity.name, email=identity.email, password_hash="",
                organisation=organisation, command_role=command_role, email_confirmed_at=now,
                approved_at=now, grants=[PermissionGrant(permission=Permission.LEARNER)])
    session.add(user)
    session.flush()
    _link(session, user, identity, now)
    record_event(session, "account.registered", actor=user, subject=user, address=address,
                 summary=f"Registered with {organisation.name} through {identity.provider_name}",
                 details={"method": "single sign-on", "needs_approval": False})
    record_event(session, "sso.account_linked", actor=user, subject=user, address=address,
                 summary=f"Signs in through {identity.provider_name}",
                 details={"provider": identity.provider_name, "tenant_id": identity.tenant_id})
    return Outcome("signed-in", identity, waiting.next_url, user=user,
                   second_step=_signed_in(session, user, identity, address, now))


WRONG_PASSWORD = ("The password is not right. Enter the password of your JESIP Learn "  # noqa: S105
                  "account.")


def link_account(session: Session, waiting: Waiting, password: str, *, address: str,
                 throttle: DatabaseLoginThrottle | RedisLoginThrottle,
                 now: datetime | None = None) -> Outcome:
    """Link the existing account with the same (trusted) email address, in the same
    organisation, once its password proves it is the person's. Wrong passwords count
    towards the sign-in throttle like any other."""
    now = now or utcnow()
    user, identity = waiting.user, waiting.identity
    if user is None:
        raise _problem("identity-used-or-expired", USED_OR_EXPIRED, status=400,
                       title="Start signing in again")
    refusal = throttle.refusal(session, user.email, address, now)
    if refusal:
        record_event(session, "sign_in.refused", subject=user, address=address,
                     details={"email": user.email, "step": "single sign-on link"})
        raise AccountError("password", refusal)
    if not passwords.verify_password(user.password_hash, password or ""):
        throttle.record_failure(session, user.email, address, now)
        record_event(session, "sign_in.failed", subject=user, address=address,
                     details={"email": user.email, "step": "single sign-on link"})
        raise AccountError("password", WRONG_PASSWORD)
    _usable(session, user, identity, address)
    _take(session, waiting, now)
    throttle.clear(session, user.email)
    # The organisation's account vouches for the address and the organisation, as an
    # emailed link and a manager's approval would.
    user.email_confirmed_at = user.email_confirmed_at or now
    if user.approved_at is None:
        user.approved_at = now
    _link(session, user, identity, now)
    record_event(session, "sso.account_linked", actor=user, subject=user, address=address,
                 summary=f"Linked to their account at {identity.provider_name}",
                 details={"provider": identity.provider_name, "tenant_id": identity.tenant_id})
    return Outcome("signed-in", identity, waiting.next_url, user=user,
                   second_step=_signed_in(session, user, identity, address, now))


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
