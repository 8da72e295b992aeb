"""Accounts: registration, confirmation, approval, sign-in, passwords and permissions.

Functions take a Session and plain values and never commit: the caller's edge does.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from jesip_learn.accounts import passwords, transfers
from jesip_learn.accounts.models import (
    Area,
    CommandRole,
    OneTimeToken,
    Organisation,
    Permission,
    PermissionGrant,
    TokenPurpose,
    User,
    organisation_areas,
)
from jesip_learn.accounts.organisations import escape_like
from jesip_learn.accounts.permissions import (
    can_grant,
    can_manage_user,
    is_manager,
    managed_organisation_ids,
)
from jesip_learn.accounts.throttle import (
    DatabaseLoginThrottle,
    EmailRequestLimiter,
    Limited,
    RedisLoginThrottle,
    RedisOrDatabase,
)
from jesip_learn.core.columns import utcnow
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.core.typed_text import control_character_problem
from jesip_learn.records.audit import record_event
from jesip_learn.records.models import Anonymisation
from jesip_learn.sso.providers import password_refusal

EMAIL_CONFIRMATION_LIFETIME = timedelta(days=3)
FIRST_ADMINISTRATOR_LIFETIME = timedelta(hours=24)


class AccountError(ValueError):
    """A problem the person can fix, named by the form field it belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class TokenError(ValueError):
    pass


class TooManyEmails(Exception):  # noqa: N818 - a refusal, said as the page says it
    """Too many emails asked for, to this email address or from this network address."""

    def __init__(self, limited: Limited):
        super().__init__(f"too many emails asked for; try again in {limited.minutes} minutes")
        self.limited = limited


def _check_email_request(session: Session, limiter: EmailRequestLimiter | None, email: str,
                         address: str, page: str) -> None:
    """TooManyEmails when this email address, or this network address, has asked for too
    many emails lately: the same answer whether or not there is an account."""
    if limiter is None:
        return
    limited = limiter.check_request(session, email, address, utcnow())
    if limited:
        record_event(session, "email_request.refused", address=address,
                     details={"email": email, "page": page})
        raise TooManyEmails(limited)


def _account_may_be_emailed(session: Session, limiter: EmailRequestLimiter | None,
                            user: User, address: str) -> bool:
    """Whether the account has had few enough emails lately for one more. When not, nothing
    is sent and the page says what it says either way."""
    if limiter is None or limiter.check_account(session, user.id, utcnow()) is None:
        return True
    record_event(session, "email_request.not_sent", subject=user, address=address,
                 summary="Too many emails asked for this account lately: none sent")
    return False


# --- reading and checking values -------------------------------------------------------


def normalise_email(email: str) -> str:
    """Check an email address's form (no DNS look-up) and return it with a lowercase domain."""
    email = (email or "").strip()
    if not email:
        raise AccountError("email", "Enter your email address")
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise AccountError(
            "email", "Enter an email address in the correct format, like name@example.org"
        ) from error
    return checked.normalized.lower()


def check_name(name: str) -> str:
    problem = control_character_problem(name or "", "Full name")
    if problem:
        raise AccountError("name", problem)
    name = " ".join((name or "").split())
    if not name:
        raise AccountError("name", "Enter your full name")
    if len(name) > 200:
        raise AccountError("name", "Full name must be 200 characters or fewer")
    return name


def check_new_password(password: str, *, email: str = "", name: str = "",
                       field: str = "password") -> str:
    words = (email, email.split("@")[0], *name.split())
    problem = passwords.password_problem(password or "", user_words=words)
    if problem:
        raise AccountError(field, problem)
    return password


def check_command_role(role: str) -> str:
    if role not in set(CommandRole):
        raise AccountError("command_role", "Select your command role")
    return role


def active_organisation(session: Session, organisation_id: int | None) -> Organisation:
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None or not organisation.is_active:
        raise AccountError("organisation", "Select your organisation from the list")
    return organisation


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


# --- one-time tokens -------------------------------------------------------------------


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(
    session: Session, purpose: TokenPurpose, lifetime: timedelta, user: User | None = None
) -> str:
    raw = secrets.token_urlsafe(32)
    session.add(
        OneTimeToken(
            purpose=purpose,
            token_hash=_hash_token(raw),
            user_id=user.id if user else None,
            expires_at=utcnow() + lifetime,
        )
    )
    session.flush()
    return raw


def peek_token(session: Session, raw: str, purpose: TokenPurpose) -> OneTimeToken:
    """The token if it can still be used; TokenError saying why not otherwise."""
    token = session.scalar(
        select(OneTimeToken).where(
            OneTimeToken.token_hash == _hash_token(raw or ""), OneTimeToken.purpose == purpose
        )
    )
    if token is None:
        raise TokenError("This link is not valid. Check you copied the whole link from the email.")
    if token.used_at is not None:
        raise TokenError("This link has already been used. Each link works only once.")
    if token.expires_at <= utcnow():
        raise TokenError("This link has expired.")
    return token


def redeem_token(session: Session, raw: str, purpose: TokenPurpose) -> OneTimeToken:
    """Use a token up. Two requests racing with the same token: exactly one wins."""
    token = peek_token(session, raw, purpose)
    now = utcnow()
    used = session.execute(
        update(OneTimeToken)
        .where(OneTimeToken.id == token.id, OneTimeToken.used_at.is_(None),
               OneTimeToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        session.refresh(token)  # used or revoked since it was read: say which
        peek_token(session, raw, purpose)
        raise TokenError("This link has already been used. Each link works only once.")
    session.refresh(token)
    return token


def revoke_password_reset_links(session: Session, user_ids) -> None:
    """Every reset (and account set-up) link of these people that could still be used stops
    working: their password has changed, or they can no longer sign in."""
    session.execute(
        update(OneTimeToken)
        .where(OneTimeToken.user_id.in_(user_ids),
               OneTimeToken.purpose == TokenPurpose.PASSWORD_RESET,
               OneTimeToken.used_at.is_(None), OneTimeToken.expires_at > utcnow())
        .values(expires_at=utcnow())
        .execution_options(synchronize_session=False)
    )


# --- registration, confirmation and approval --------------------------------------------


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
    too unless the email's domain belongs to the chosen organisation.

    Whether the address already has an account shows nowhere in the answer: every detail
    is checked (and the password hashed) first, either way, and the person is asked to
    check their email either way; the account's owner is emailed instead of a new account
    being made."""
    name = check_name(name)
    email = normalise_email(email)
    organisation = active_organisation(session, organisation_id)
    command_role = check_command_role(command_role)
    check_new_password(password, email=email, name=name)
    domain = email.rsplit("@", 1)[1]
    trusted_domain = domain in {d.domain for d in organisation.domains}
    _check_email_request(session, limiter, email, address, "registration")
    password_hash = passwords.hash_password(password)  # either way: it takes the same time
    existing = find_user_by_email(session, email)
    if existing is not None:
        record_event(session, "account.registration_repeated", subject=existing,
                     address=address, summary="Someone tried to register with this address")
        return Registration(user=existing, confirmation_token=None,
                            needs_approval=not trusted_domain, organisation=organisation,
                            already_registered=True,
                            send_email=_account_may_be_emailed(session, limiter, existing,
                                                               address))
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


# --- signing in ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignInResult:
    user: User | None
    error: str | None = None
    # The password was right; a code from the authenticator app must follow
    # (jesip_learn.accounts.mfa).
    needs_second_step: bool = False


WRONG_DETAILS = "Enter a correct email address and password"


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    address: str,
    throttle: DatabaseLoginThrottle | RedisLoginThrottle | RedisOrDatabase,
    now: datetime | None = None,
) -> SignInResult:
    now = now or utcnow()
    email = (email or "").strip().lower()
    # Counted as a failure before the password is checked, in the same step as the count is
    # read: attempts arriving together cannot all slip under the limit.
    claim = throttle.claim(session, email, address, now)
    if claim.refusal:
        record_event(session, "sign_in.refused", address=address, details={"email": email})
        return SignInResult(None, claim.refusal)
    user = find_user_by_email(session, email)
    if user is None:
        passwords.verify_password(passwords.dummy_hash(), password or "")
        valid = False
    else:
        valid = passwords.verify_password(user.password_hash, password or "")
    if not valid:
        record_event(session, "sign_in.failed", subject=user, address=address,
                     details={"email": email})
        return SignInResult(None, WRONG_DETAILS)
    throttle.release(session, claim)  # a right password is no failure
    if user.status != "active":
        return SignInResult(None, _status_message(user))
    if refusal := password_refusal(session, user):  # their organisation requires single sign-on
        record_event(session, "sign_in.password_refused", subject=user, address=address)
        return SignInResult(None, refusal)
    if user.mfa_enabled:
        # Not signed in yet, and failures so far still count until the second step passes.
        record_event(session, "sign_in.password_accepted", subject=user, address=address)
        return SignInResult(user, needs_second_step=True)
    throttle.clear(session, email)
    user.last_sign_in_at = now
    record_event(session, "sign_in.succeeded", actor=user, subject=user, address=address)
    return SignInResult(user)


def _status_message(user: User) -> str:
    if user.status == "deactivated":
        return "This account has been deactivated. Contact your organisation’s training manager."
    if user.status == "unconfirmed":
        return (
            "Confirm your email address first: use the link in the email we sent you. "
            "You can ask for a new link on this page."
        )
    return (
        f"Your account is waiting for a manager at {user.organisation.name} to approve it. "
        "You will be able to sign in once they have."
    )


def new_confirmation_token(session: Session, email: str, address: str = "",
                           limiter: EmailRequestLimiter | None = None,
                           ) -> tuple[User, str] | None:
    """A new confirmation token for an account still waiting for its email address to be
    confirmed, or None (the caller says the same thing either way)."""
    _check_email_request(session, limiter, email or "", address, "new confirmation link")
    user = find_user_by_email(session, email)
    if user is None or user.email_confirmed_at is not None or not user.is_active:
        return None
    if not _account_may_be_emailed(session, limiter, user, address):
        return None
    return user, issue_token(
        session, TokenPurpose.EMAIL_CONFIRMATION, EMAIL_CONFIRMATION_LIFETIME, user
    )


# --- passwords -----------------------------------------------------------------------


def request_password_reset(
    session: Session, email: str, lifetime: timedelta, address: str = "",
    limiter: EmailRequestLimiter | None = None,
) -> tuple[User, str] | None:
    """A reset token for the account, or None when there is no usable account. The caller
    says the same thing either way, so the page does not reveal who has an account."""
    _check_email_request(session, limiter, email or "", address, "password reset")
    user = find_user_by_email(session, email or "")
    if user is None or not user.is_active:
        return None
    if not _account_may_be_emailed(session, limiter, user, address):
        return None
    record_event(session, "password.reset_requested", subject=user, address=address)
    return user, issue_token(session, TokenPurpose.PASSWORD_RESET, lifetime, user)


def reset_password(session: Session, raw_token: str, new_password: str, address: str = "") -> User:
    token = peek_token(session, raw_token, TokenPurpose.PASSWORD_RESET)
    user = token.user
    check_new_password(new_password, email=user.email, name=user.name)
    new_hash = passwords.hash_password(new_password)
    # One reset of a person at a time (PostgreSQL; SQLite has one writer anyway): two links
    # of theirs used at once cannot both get past the other's revoking them.
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    redeem_token(session, raw_token, TokenPurpose.PASSWORD_RESET)
    _set_password(session, user, new_password, password_hash=new_hash)
    # Following the emailed link proves the address is theirs.
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    record_event(session, "password.reset", actor=user, subject=user, address=address)
    return user


def change_password(
    session: Session, user: User, current: str, new: str, address: str = ""
) -> None:
    if not passwords.verify_password(user.password_hash, current or ""):
        raise AccountError("current_password", "Your current password is not correct")
    check_new_password(new, email=user.email, name=user.name, field="new_password")
    if new == current:
        raise AccountError("new_password", "Choose a password different from your current one")
    _set_password(session, user, new)
    record_event(session, "password.changed", actor=user, subject=user, address=address)


def _set_password(session: Session, user: User, password: str, *,
                  password_hash: str | None = None) -> None:
    user.password_hash = password_hash or passwords.hash_password(password)
    user.invited_at = None  # the invitation has been taken up
    user.session_epoch += 1  # every other session of this user ends
    revoke_password_reset_links(session, [user.id])  # and every reset link sent before


def rename_self(session: Session, user: User, name: str, address: str = "") -> bool:
    """The person corrects their own name (it is on their certificates). Whether it
    changed."""
    name = check_name(name)
    if name == user.name:
        return False
    before, user.name = user.name, name
    record_event(session, "account.renamed", actor=user, subject=user, address=address,
                 summary="Corrected their own name",
                 details={"before": {"name": before}, "after": {"name": name}})
    return True


def sign_out_everywhere(session: Session, user: User) -> None:
    user.session_epoch += 1
    record_event(session, "sign_out.everywhere", actor=user, subject=user)


# Built once: every signed-in request runs it.
_SESSION_USER = (select(User).options(joinedload(User.organisation), joinedload(User.grants))
                 .where(User.id == bindparam("user_id")))


def user_for_session(session: Session, session_id: str) -> User | None:
    """The user a session cookie names, if that session has not been revoked."""
    user_id, _, epoch = (session_id or "").partition(":")
    if not (user_id.isdigit() and epoch.isdigit()):
        return None
    user = session.execute(_SESSION_USER, {"user_id": int(user_id)}).unique().scalar_one_or_none()
    if user is None or user.session_epoch != int(epoch) or not user.can_sign_in:
        return None
    return user


# --- administration ----------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    organisation: Organisation,
    command_role: str,
    permissions: set[str],
    actor: User | None = None,
) -> User:
    """An account that is confirmed and approved at once (command line, administrators)."""
    name = check_name(name)
    email = normalise_email(email)
    command_role = check_command_role(command_role)
    if find_user_by_email(session, email) is not None:
        raise AccountError("email", f"An account with the email address {email} already exists")
    check_new_password(password, email=email, name=name)
    unknown = permissions - set(Permission)
    if unknown:
        raise AccountError("permissions", f"Unknown permission: {', '.join(sorted(unknown))}")
    now = utcnow()
    # A manager manages their own organisation until an administrator names an area.
    grants = [PermissionGrant(permission=p, organisation=organisation
                              if p == Permission.MANAGER else None)
              for p in sorted(permissions | {Permission.LEARNER})]
    user = User(name=name, email=email, password_hash=passwords.hash_password(password),
                organisation=organisation, command_role=command_role, email_confirmed_at=now,
                approved_at=now, grants=grants)
    session.add(user)
    session.flush()
    record_event(session, "account.created", actor=actor or user, subject=user,
                 details={"permissions": sorted(user.permissions)})
    return user


INVITATION_LIFETIME = timedelta(days=7)


def invite_user(
    session: Session,
    actor: User,
    *,
    email: str,
    name: str,
    organisation_id: int | None,
    command_role: str,
    permissions: set[str],
    address: str = "",
) -> tuple[User, str]:
    """An account added by an administrator (in any organisation) or a manager (in the
    organisations they manage), approved and its address taken as confirmed, since they
    vouch for the person, with no password: the person sets one through the link (the
    returned token) they are sent. Shown as "Invited" until they do. Only administrators
    give more than the learner permission (`can_grant`)."""
    name = check_name(name)
    email = normalise_email(email)
    command_role = check_command_role(command_role)
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    scope = managed_organisation_ids(session, actor)
    if (organisation is None or not organisation.is_active
            or (scope is not None and organisation.id not in scope)):
        raise AccountError("organisation", "Select an organisation from the list")
    if not is_manager(actor):
        raise AccountError("organisation", "Only administrators and managers can add people")
    unknown = permissions - set(Permission)
    if unknown:
        raise AccountError("permissions", f"Unknown permission: {', '.join(sorted(unknown))}")
    refused = sorted(p for p in permissions if not can_grant(actor, p))
    if refused:
        raise AccountError("permissions", "Only administrators can make people trainers, "
                                          "managers or administrators")
    if find_user_by_email(session, email) is not None:
        raise AccountError("email", f"An account with the email address {email} already "
                                    "exists: find it in the list of people instead")
    now = utcnow()
    grants = [PermissionGrant(permission=p, organisation=organisation
                              if p == Permission.MANAGER else None)
              for p in sorted(permissions | {Permission.LEARNER})]
    user = User(name=name, email=email, password_hash="", organisation=organisation,
                command_role=command_role, email_confirmed_at=now, approved_at=now,
                approved_by_id=actor.id, invited_at=now, grants=grants)
    session.add(user)
    session.flush()
    record_event(session, "account.invited", actor=actor, subject=user, address=address,
                 summary=f"{name} added and sent a link to set a password",
                 details={"permissions": sorted(user.permissions),
                          "organisation_id": organisation.id, "command_role": command_role})
    token = issue_token(session, TokenPurpose.PASSWORD_RESET, INVITATION_LIFETIME, user)
    return user, token


def administrator_exists(session: Session) -> bool:
    return session.scalar(
        select(func.count())
        .select_from(PermissionGrant)
        .join(User, User.id == PermissionGrant.user_id)
        .where(PermissionGrant.permission == Permission.ADMIN, User.is_active)
    ) > 0


def issue_first_administrator_token(session: Session) -> str | None:
    """A one-time setup link's token, while the site has no administrator."""
    if administrator_exists(session):
        return None
    return issue_token(session, TokenPurpose.FIRST_ADMINISTRATOR, FIRST_ADMINISTRATOR_LIFETIME)


def create_first_administrator(
    session: Session, raw_token: str, *, email: str, name: str, password: str,
    organisation_id: int | None, command_role: str,
) -> User:
    peek_token(session, raw_token, TokenPurpose.FIRST_ADMINISTRATOR)
    if administrator_exists(session):
        raise TokenError("This site already has an administrator. Sign in instead.")
    organisation = active_organisation(session, organisation_id)
    user = create_user(session, email=email, name=name, password=password,
                       organisation=organisation, command_role=command_role,
                       permissions={Permission.ADMIN})
    redeem_token(session, raw_token, TokenPurpose.FIRST_ADMINISTRATOR)
    return user


@dataclass(frozen=True, slots=True)
class UserSearch:
    text: str = ""
    organisation_id: int | None = None
    permission: str = ""
    command_role: str = ""
    status: str = ""
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True, slots=True)
class UserPage:
    users: list[User]
    total: int
    page: int
    pages: int


def search_users(session: Session, viewer: User, search: UserSearch) -> UserPage:
    query = select(User).join(User.organisation)
    scope = managed_organisation_ids(session, viewer)
    if scope is not None:
        query = query.where(User.organisation_id.in_(scope))
    if search.text:
        pattern = f"%{escape_like(search.text.strip().lower())}%"
        query = query.where(or_(func.lower(User.name).like(pattern, escape="\\"),
                                func.lower(User.email).like(pattern, escape="\\")))
    if search.organisation_id:
        query = query.where(User.organisation_id == search.organisation_id)
    if search.permission:
        query = query.where(User.grants.any(PermissionGrant.permission == search.permission))
    if search.command_role:
        query = query.where(User.command_role == search.command_role)
    query = _filter_status(query, search.status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // search.per_page))
    page = min(max(1, search.page), pages)
    users = session.scalars(
        query.options(selectinload(User.grants), selectinload(User.organisation))
        .order_by(func.lower(User.name), User.id)
        .limit(search.per_page)
        .offset((page - 1) * search.per_page)
    )
    return UserPage(users=list(users), total=total, page=page, pages=pages)


def _filter_status(query, status: str):
    if status == "deactivated":
        return query.where(User.is_active.is_(False))
    if status == "pending":
        return query.where(User.is_active, User.approved_at.is_(None))
    if status == "unconfirmed":
        return query.where(User.is_active, User.email_confirmed_at.is_(None))
    if status == "active":
        return query.where(User.is_active, User.approved_at.is_not(None),
                           User.email_confirmed_at.is_not(None), User.invited_at.is_(None))
    if status == "invited":
        return query.where(User.is_active, User.approved_at.is_not(None),
                           User.email_confirmed_at.is_not(None), User.invited_at.is_not(None))
    return query


def pending_approvals(session: Session, viewer: User) -> list[User]:
    return search_users(session, viewer, UserSearch(status="pending", per_page=500)).users


@dataclass(frozen=True, slots=True)
class AccountChanges:
    name: str
    organisation_id: int
    command_role: str
    permissions: set[str]
    manager_area_id: int | None = None
    is_active: bool = True


def update_account(session: Session, actor: User, user: User, changes: AccountChanges) -> None:
    """An administrator's or manager's edit of someone's account, checked and logged."""
    if not can_manage_user(session, actor, user):
        raise NotAllowed(reason="not in the actor's scope")
    if session.scalar(select(Anonymisation.id).where(Anonymisation.user_id == user.id)):
        # The details are gone for good; an edit would only bring a nameless person back
        # into the organisation's figures.
        raise AccountError("name", "This account was anonymised and can no longer be "
                           "changed or reactivated. Create a new account instead.")
    before = _account_snapshot(user)
    user.name = check_name(changes.name)
    organisation = active_organisation(session, changes.organisation_id)
    if not can_manage_user(session, actor, _with_organisation(user, organisation)):
        raise AccountError("organisation", "You can only move people within the organisations "
                           "you manage")
    if organisation.id != user.organisation.id:
        held = user.manager_grant()
        if held is not None and Permission.MANAGER in changes.permissions:
            # The ticked box was carried over from their old post, not chosen for the new
            # one: a move must not hand them the new organisation's people unasked.
            scope = held.area.name if held.area is not None else held.scope_label
            raise AccountError("permissions", f"Moving {user.name} to {organisation.name} "
                               f"ends their management of {scope}. Untick Manager to move "
                               f"them, then give the permission again if they are to manage "
                               f"in {organisation.name}.")
        # A change of organisation is a move: the old membership is kept for its reports.
        transfers.move_user(session, actor, user, organisation)
    user.command_role = check_command_role(changes.command_role)
    _set_grants(session, actor, user, changes.permissions | {Permission.LEARNER},
                changes.manager_area_id)
    if user.id == actor.id and not changes.is_active:
        raise AccountError("is_active", "You cannot deactivate your own account")
    if user.is_active and not changes.is_active:
        user.session_epoch += 1
        user.deactivated_at = utcnow()
        revoke_password_reset_links(session, [user.id])
    elif changes.is_active:
        user.deactivated_at = None
    user.is_active = changes.is_active
    after = _account_snapshot(user)
    if after != before:
        record_event(session, "account.updated", actor=actor, subject=user,
                     details={"before": before, "after": after})


def _with_organisation(user: User, organisation: Organisation) -> User:
    probe = User(organisation_id=organisation.id)
    probe.organisation = organisation
    return probe


def _set_grants(session: Session, actor: User, user: User, wanted: set[str],
                manager_area_id: int | None) -> None:
    unknown = wanted - set(Permission)
    if unknown:
        raise AccountError("permissions", "Select permissions from the list")
    current = {g.permission: g for g in user.grants}
    for permission in wanted ^ set(current):
        if not can_grant(actor, permission):
            raise AccountError("permissions", "Only an administrator can change trainer, "
                               "manager and administrator permissions")
    if user.id == actor.id and Permission.ADMIN in current and Permission.ADMIN not in wanted:
        raise AccountError("permissions", "You cannot remove your own administrator permission")
    for permission in set(current) - wanted:
        user.grants.remove(current[permission])
    for permission in wanted - set(current):
        user.grants.append(PermissionGrant(permission=permission, organisation=user.organisation
                                           if permission == Permission.MANAGER else None))
    manager = user.manager_grant()
    if manager is not None and actor.is_admin:
        area = session.get(Area, manager_area_id) if manager_area_id else None
        manager.area = area
        manager.organisation = None if area else user.organisation


def _account_snapshot(user: User) -> dict:
    manager = user.manager_grant()
    area = manager.area if manager else None
    return {
        "name": user.name,
        # Read through the relationships: the ids are not set until the next flush.
        "organisation_id": user.organisation.id,
        "command_role": user.command_role,
        "permissions": sorted(user.permissions),
        "manager_area_id": area.id if area else None,
        "is_active": user.is_active,
    }
