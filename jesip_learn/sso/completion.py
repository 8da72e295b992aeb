"""Step 4 of a sign-in with the organisation's own account: what a checked answer does.

`complete` claims the sign-in under way, once (a conditional update), and records the
answer: refused (a tenant no organisation lists, an account of another organisation...)
with the reason in the audit log, or the person's account signed in, or the identity held
on the sign-in for the person to create their account or link the existing one
(`jesip_learn.sso.first_sign_in`). An existing account in an organisation that requires
single sign-on is linked at once: its password is no use, so it is not asked for.

The subject (Entra ID: the tenant's issuer and the object id `oid`; otherwise `iss` and
`sub`) is what finds the account afterwards, never the email address.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jesip_learn.accounts.details import (
    AccountError,
    check_name,
    find_user_by_email,
    normalise_email,
)
from jesip_learn.accounts.models import Organisation, User
from jesip_learn.core.columns import utcnow
from jesip_learn.core.typed_text import control_character_problem
from jesip_learn.records.audit import record_event
from jesip_learn.sso.models import SsoFlow, SsoIdentity, SsoOrganisationLink
from jesip_learn.sso.providers import organisation_signing_in
from jesip_learn.sso.sign_in import (
    FLOW_LIFETIME,
    UNAVAILABLE,
    USED_OR_EXPIRED,
    Answer,
    ProviderConfig,
    Returning,
    SignInProblem,
    SsoSettings,
    sign_in_problem,
)


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
        raise sign_in_problem("state-used-or-expired", USED_OR_EXPIRED, status=400,
                              title="Start signing in again")


def _refuse(session: Session, reason: str, *, provider: str, address: str,
            details: dict | None = None, organisation_id: int | None = None,
            status: int | None = None, message: str = "") -> SignInProblem:
    record_event(session, "sign_in.sso_refused", address=address, organisation_id=organisation_id,
                 summary=f"Single sign-on through {provider} refused: {reason}",
                 details={"provider": provider, "reason": reason, **(details or {})})
    default_status, default_message = REFUSALS.get(reason, (403, ""))
    return sign_in_problem(reason, message or default_message, status=status or default_status)


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
        user = usable_account(session, linked.user, identity, address)
        linked.last_used_at = now
        _finish(session, returning.flow_id, now)
        return Outcome("signed-in", identity, returning.next_url, user=user,
                       second_step=record_sign_in(session, user, identity, address, now))
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


def usable_account(session: Session, user: User, identity: Identity, address: str) -> User:
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
        usable_account(session, existing, identity, address)
        if organisation_signing_in(session, existing) is not None:
            # The organisation signs its staff in only through its own accounts: their
            # password here is refused and cannot be reset, so it cannot be asked for. The
            # organisation's account (its tenant, an address it vouches for, the account in
            # the same organisation) is the proof. Administrators keep the password step.
            _finish(session, returning.flow_id, now)
            link_existing_account(session, existing, identity, address=address, now=now,
                                  summary=f"Linked to their account at "
                                  f"{identity.provider_name}, which "
                                  f"{identity.organisation_name} requires")
            return Outcome("signed-in", identity, returning.next_url, user=existing,
                           second_step=record_sign_in(session, existing, identity, address,
                                                      now))
    flow = session.get(SsoFlow, returning.flow_id)
    flow.identity = asdict(identity)
    flow.user_id = existing.id if existing else None
    flow.expires_at = now + FLOW_LIFETIME  # ten minutes to choose the role or type a password
    kind = "link-account" if existing else "new-account"
    return Outcome(kind, identity, returning.next_url, user=existing)


def add_identity(session: Session, user: User, identity: Identity, now: datetime) -> None:
    session.add(SsoIdentity(user_id=user.id, provider_id=identity.provider_id,
                            issuer=identity.issuer, subject=identity.subject, created_at=now,
                            last_used_at=now))


def link_existing_account(session: Session, user: User, identity: Identity, *, address: str,
                          now: datetime, summary: str) -> None:
    """Link the account to the organisation's: it vouches for the address and the
    organisation, as an emailed link and a manager's approval would."""
    user.email_confirmed_at = user.email_confirmed_at or now
    if user.approved_at is None:
        user.approved_at = now
    add_identity(session, user, identity, now)
    record_event(session, "sso.account_linked", actor=user, subject=user, address=address,
                 summary=summary,
                 details={"provider": identity.provider_name, "tenant_id": identity.tenant_id})


def _finish(session: Session, flow_id: int, now: datetime) -> None:
    session.execute(update(SsoFlow).where(SsoFlow.id == flow_id)
                    .values(finished_at=now, identity=None)
                    .execution_options(synchronize_session=False))


def record_sign_in(session: Session, user: User, identity: Identity, address: str,
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
