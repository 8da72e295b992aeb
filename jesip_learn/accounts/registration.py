"""Registration, confirmation and approval: a learner account created from the register
page (approved at once when the email's domain belongs to the chosen organisation), its
email address confirmed through an emailed link (and a new link on request), and the
account approved or rejected by a manager of the organisation, or an administrator.

Functions take a Session and plain values and never commit: the caller's edge does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jesip_learn.accounts import passwords
from jesip_learn.accounts.details import (
    active_organisation,
    check_command_role,
    check_name,
    check_new_password,
    find_user_by_email,
    normalise_email,
)
from jesip_learn.accounts.email_requests import account_may_be_emailed, check_email_request
from jesip_learn.accounts.models import (
    Organisation,
    Permission,
    PermissionGrant,
    TokenPurpose,
    User,
    organisation_areas,
)
from jesip_learn.accounts.permissions import can_manage_user
from jesip_learn.accounts.throttle import EmailRequestLimiter
from jesip_learn.accounts.tokens import issue_token, redeem_token
from jesip_learn.core.columns import utcnow
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.records.audit import record_event
from jesip_learn.sso.providers import check_registration, organisation_signing_in

EMAIL_CONFIRMATION_LIFETIME = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class Registration:
    """What a registration did. When the address already had an account, nothing was
    created: `user` is that account, to be told by email that someone tried to register
    with its address (unless it has had too many emails lately: `send_email` is False)."""

    user: User
    confirmation_token: str | None
    # From the details given (the email's domain against the organisation chosen), so the
    # page says the same whether or not the address had an account.
    needs_approval: bool
    organisation: Organisation
    already_registered: bool = False
    send_email: bool = True
    # The existing account's organisation signs it in with its own accounts (its name): the
    # email offers that sign-in, not a password reset.
    signs_in_with: str = ""


def register_user(
    session: Session,
    *,
    name: str,
    email: str,
    password: str,
    organisation_id: int | None,
    command_role: str,
    address: str = "",
    limiter: EmailRequestLimiter | None = None,
) -> Registration:
    """Create a learner account that waits for its email to be confirmed, and for approval
    too unless the email's domain belongs to the chosen organisation. None is made for an
    organisation that requires single sign-on, by the email's domain or the choice
    (`SingleSignOnRequired`): its staff's accounts are made at their first sign-in there.

    Whether the address already has an account shows nowhere in the answer: every detail
    is checked (and the password hashed) first, either way, and the person is asked to
    check their email either way; the account's owner is emailed instead of a new account
    being made."""
    name = check_name(name)
    email = normalise_email(email)
    organisation = active_organisation(session, organisation_id)
    # Before anything else about the password: none is wanted. Decided from the details
    # given alone, so it says nothing about whether the address has an account.
    check_registration(session, email, organisation)
    command_role = check_command_role(command_role)
    check_new_password(password, email=email, name=name)
    domain = email.rsplit("@", 1)[1]
    trusted_domain = domain in {d.domain for d in organisation.domains}
    check_email_request(session, limiter, email, address, "registration")
    password_hash = passwords.hash_password(password)  # either way: it takes the same time
    existing = find_user_by_email(session, email)
    if existing is not None:
        record_event(session, "account.registration_repeated", subject=existing,
                     address=address, summary="Someone tried to register with this address")
        signs_in_with = organisation_signing_in(session, existing)
        return Registration(user=existing, confirmation_token=None,
                            needs_approval=not trusted_domain, organisation=organisation,
                            already_registered=True,
                            send_email=account_may_be_emailed(session, limiter, existing,
                                                              address),
                            signs_in_with=signs_in_with.name if signs_in_with else "")
    user = User(
        name=name,
        email=email,
        password_hash=password_hash,
        organisation=organisation,
        command_role=command_role,
        approved_at=utcnow() if trusted_domain else None,
        grants=[PermissionGrant(permission=Permission.LEARNER)],
    )
    session.add(user)
    session.flush()
    token = issue_token(session, TokenPurpose.EMAIL_CONFIRMATION, EMAIL_CONFIRMATION_LIFETIME, user)
    record_event(session, "account.registered", actor=user, subject=user, address=address,
                 summary=f"Registered with {organisation.name}",
                 details={"needs_approval": not trusted_domain})
    return Registration(user=user, confirmation_token=token, needs_approval=not trusted_domain,
                        organisation=organisation)


def confirm_email(session: Session, raw_token: str) -> User:
    token = redeem_token(session, raw_token, TokenPurpose.EMAIL_CONFIRMATION)
    user = token.user
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        record_event(session, "account.email_confirmed", actor=user, subject=user)
    return user


def approve_user(session: Session, approver: User, user: User) -> None:
    if not can_manage_user(session, approver, user):
        raise NotAllowed(reason="not in the approver's scope")
    if user.approved_at is None:
        user.approved_at = utcnow()
        user.approved_by_id = approver.id
        record_event(session, "account.approved", actor=approver, subject=user)


def approvers_for(session: Session, user: User) -> list[User]:
    """Who is told that the person's account waits for approval: the active managers of
    their organisation (named on the grant, or by its area); the administrators when it
    has none, since someone must hear of it."""
    areas = select(organisation_areas.c.area_id).where(
        organisation_areas.c.organisation_id == user.organisation_id)
    active = (User.is_active.is_(True), User.approved_at.is_not(None), User.id != user.id)
    managers = list(session.scalars(
        select(User).join(PermissionGrant, PermissionGrant.user_id == User.id)
        .where(PermissionGrant.permission == Permission.MANAGER, *active,
               or_(PermissionGrant.organisation_id == user.organisation_id,
                   PermissionGrant.area_id.in_(areas)))
        .order_by(User.id)))
    if managers:
        return managers
    return list(session.scalars(
        select(User).join(PermissionGrant, PermissionGrant.user_id == User.id)
        .where(PermissionGrant.permission == Permission.ADMIN, *active).order_by(User.id)))


def decider_in_words(session: Session, decider: User | None, organisation: Organisation) -> str:
    """Who approved, as an email to the person says it: by name when they manage the
    organisation, "an administrator" when they decided as one."""
    grant = decider.manager_grant() if decider is not None else None
    if grant is not None:
        scope = ({o.id for o in grant.area.organisations} if grant.area is not None
                 else {grant.organisation_id})
        if organisation.id in scope:
            return f"{decider.name} (a manager of {organisation.name})"
    return "an administrator"


def reject_user(session: Session, approver: User, user: User) -> None:
    """Refuse a pending registration: the account is deactivated, not deleted, for the log."""
    if not can_manage_user(session, approver, user):
        raise NotAllowed(reason="not in the approver's scope")
    if user.approved_at is None and user.is_active:
        user.is_active = False
        record_event(session, "account.rejected", actor=approver, subject=user)


def new_confirmation_token(session: Session, email: str, address: str = "",
                           limiter: EmailRequestLimiter | None = None,
                           ) -> tuple[User, str] | None:
    """A new confirmation token for an account still waiting for its email address to be
    confirmed, or None (the caller says the same thing either way)."""
    check_email_request(session, limiter, email or "", address, "new confirmation link")
    user = find_user_by_email(session, email)
    if user is None or user.email_confirmed_at is not None or not user.is_active:
        return None
    if not account_may_be_emailed(session, limiter, user, address):
        return None
    return user, issue_token(
        session, TokenPurpose.EMAIL_CONFIRMATION, EMAIL_CONFIRMATION_LIFETIME, user
    )
