"""A forgotten password: the reset link asked for (the page says the same whether or not
there is an account) and the new password set through it, which ends every other session
and link of the person's.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.accounts import passwords
from jesip_learn.accounts.details import check_new_password, find_user_by_email
from jesip_learn.accounts.email_requests import account_may_be_emailed, check_email_request
from jesip_learn.accounts.models import TokenPurpose, User
from jesip_learn.accounts.own_account import set_password
from jesip_learn.accounts.throttle import EmailRequestLimiter
from jesip_learn.accounts.tokens import issue_token, peek_token, redeem_token
from jesip_learn.core.columns import utcnow
from jesip_learn.records.audit import record_event


def request_password_reset(
    session: Session, email: str, lifetime: timedelta, address: str = "",
    limiter: EmailRequestLimiter | None = None,
) -> tuple[User, str] | None:
    """A reset token for the account, or None when there is no usable account. The caller
    says the same thing either way, so the page does not reveal who has an account."""
    check_email_request(session, limiter, email or "", address, "password reset")
    user = find_user_by_email(session, email or "")
    if user is None or not user.is_active:
        return None
    if not account_may_be_emailed(session, limiter, user, address):
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
    set_password(session, user, new_password, password_hash=new_hash)
    # Following the emailed link proves the address is theirs.
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    record_event(session, "password.reset", actor=user, subject=user, address=address)
    return user
