"""A forgotten password: the reset link asked for (the page says the same whether or not
there is an account) and the new password set through it, which ends every other session
and link of the person's. Someone whose organisation requires single sign-on is told to
sign in with its account instead of being sent a link, and a link sent before it required
it no longer works.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.accounts import passwords
from jesip_learn.accounts.details import check_new_password, find_user_by_email
from jesip_learn.accounts.email_requests import account_may_be_emailed, check_email_request
from jesip_learn.accounts.models import OneTimeToken, TokenPurpose, User
from jesip_learn.accounts.own_account import set_password
from jesip_learn.accounts.throttle import EmailRequestLimiter
from jesip_learn.accounts.tokens import issue_token, peek_token, redeem_token
from jesip_learn.core.columns import utcnow
from jesip_learn.records.audit import record_event
from jesip_learn.sso.providers import SingleSignOnRequired, organisation_signing_in


class ResetRequest(NamedTuple):
    """Whom to email after a reset was asked for: the link's token, or None when their
    organisation signs them in with its own accounts, so that the email says that instead."""

    user: User
    token: str | None


def request_password_reset(
    session: Session, email: str, lifetime: timedelta, address: str = "",
    limiter: EmailRequestLimiter | None = None,
) -> ResetRequest | None:
    """What to email the account, or None when there is no usable account. The caller says
    the same thing either way, so the page does not reveal who has an account, nor whose
    organisation requires single sign-on."""
    check_email_request(session, limiter, email or "", address, "password reset")
    user = find_user_by_email(session, email or "")
    if user is None or not user.is_active:
        return None
    if not account_may_be_emailed(session, limiter, user, address):
        return None
    organisation = organisation_signing_in(session, user)
    if organisation is not None:
        record_event(session, "password.reset_refused", subject=user, address=address,
                     summary=f"Told to sign in with {organisation.name}’s account instead, "
                     "which it requires")
        return ResetRequest(user, None)
    record_event(session, "password.reset_requested", subject=user, address=address)
    return ResetRequest(user, issue_token(session, TokenPurpose.PASSWORD_RESET, lifetime, user))


LINK_REFUSED = ("{organisation} now signs its staff in to JESIP Learn with their work account, "
                "so this link to choose a password no longer works: you do not need a password "
                "for JESIP Learn. Sign in with your organisation’s account instead.")


def usable_reset_link(session: Session, raw_token: str) -> OneTimeToken:
    """The reset (or account set-up) link's token if it can be used: TokenError when it is
    not valid, used or expired; SingleSignOnRequired when the person's organisation has come
    to require single sign-on since it was sent."""
    token = peek_token(session, raw_token, TokenPurpose.PASSWORD_RESET)
    organisation = organisation_signing_in(session, token.user)
    if organisation is not None:
        raise SingleSignOnRequired("password", LINK_REFUSED.format(
            organisation=organisation.name), organisation)
    return token


def reset_password(session: Session, raw_token: str, new_password: str, address: str = "") -> User:
    token = usable_reset_link(session, raw_token)
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
