"""Signing in with an email address and password, throttled against guessing, and the
account a session cookie names (unless that session has been revoked). The second step,
a code from an authenticator app, is in `jesip_learn.accounts.mfa`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, defer, undefer
from sqlalchemy.orm.attributes import set_committed_value

from jesip_learn.accounts import passwords
from jesip_learn.accounts.details import find_user_by_email
from jesip_learn.accounts.models import AccountStatus, Organisation, User
from jesip_learn.accounts.throttle import (
    DatabaseLoginThrottle,
    RedisLoginThrottle,
    RedisOrDatabase,
)
from jesip_learn.core.columns import utcnow
from jesip_learn.records.audit import record_event
from jesip_learn.sso.providers import password_refusal


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
    if user.status != AccountStatus.ACTIVE:
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
    if user.status == AccountStatus.DEACTIVATED:
        return "This account has been deactivated. Contact your organisation’s training manager."
    if user.status == AccountStatus.UNCONFIRMED:
        return (
            "Confirm your email address first: use the link in the email we sent you. "
            "You can ask for a new link on this page."
        )
    return (
        f"Your account is waiting for a manager at {user.organisation.name} to approve it. "
        "You will be able to sign in once they have."
    )


# Built once: every signed-in request runs it. The permissions come as names in the person's
# row rather than as the grants joined in, and the password hash and two-step secret are
# left out: no page shown to a signed-in person needs them, and the few that check one
# (changing the password, turning two-step off) load it when they do. The organisation is
# selected beside the person and set as their `organisation` rather than eagerly loaded
# through the relationship: the same statement, with less of the ORM's work around it
# (4% of a reading page's work in the application).
_SESSION_USER = (select(User, Organisation).join(User.organisation)
                 .options(undefer(User.permission_names),
                          defer(User.password_hash), defer(User.mfa_secret))
                 .where(User.id == bindparam("user_id")))


def user_for_session(session: Session, session_id: str) -> User | None:
    """The user a session cookie names, if that session has not been revoked."""
    user_id, _, epoch = (session_id or "").partition(":")
    if not (user_id.isdigit() and epoch.isdigit()):
        return None
    row = session.execute(_SESSION_USER, {"user_id": int(user_id)}).one_or_none()
    if row is None:
        return None
    user, organisation = row
    # As loaded, not as a change: nothing to save, and changing it later saves as usual.
    set_committed_value(user, "organisation", organisation)
    if user.session_epoch != int(epoch) or not user.can_sign_in:
        return None
    return user
