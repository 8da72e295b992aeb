"""Limits on the emails people can ask for (registration, new confirmation links, password
resets), applied with the same answer whether or not there is an account: too many from an
email or network address is refused (`TooManyEmails`); too many to one account sends
nothing more. The limiter's stores are in `jesip_learn.accounts.throttle`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.accounts.throttle import EmailRequestLimiter, Limited
from jesip_learn.core.columns import utcnow
from jesip_learn.records.audit import record_event


class TooManyEmails(Exception):  # noqa: N818 - a refusal, said as the page says it
    """Too many emails asked for, to this email address or from this network address."""

    def __init__(self, limited: Limited):
        super().__init__(f"too many emails asked for; try again in {limited.minutes} minutes")
        self.limited = limited


def check_email_request(session: Session, limiter: EmailRequestLimiter | None, email: str,
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


def account_may_be_emailed(session: Session, limiter: EmailRequestLimiter | None,
                           user: User, address: str) -> bool:
    """Whether the account has had few enough emails lately for one more. When not, nothing
    is sent and the page says what it says either way."""
    if limiter is None or limiter.check_account(session, user.id, utcnow()) is None:
        return True
    record_event(session, "email_request.not_sent", subject=user, address=address,
                 summary="Too many emails asked for this account lately: none sent")
    return False
