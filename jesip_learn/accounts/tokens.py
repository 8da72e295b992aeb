"""One-time tokens, for the links emailed to people (confirming an address, setting or
resetting a password, the site's first administrator): issued with only their hash kept,
checked, used up once even when two requests race, and revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import OneTimeToken, TokenPurpose, User
from jesip_learn.core.columns import utcnow
from jesip_learn.core.input_errors import InputError


class TokenError(InputError, ValueError):
    pass


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
