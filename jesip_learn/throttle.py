"""Sign-in throttling: failures counted per account and per address over a sliding window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .models import LoginFailure


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    failures_per_account: int = 10
    failures_per_address: int = 50
    window: timedelta = timedelta(minutes=15)


class DatabaseLoginThrottle:
    """Counts in the database, which every worker of the site shares."""

    def __init__(self, policy: ThrottlePolicy):
        self.policy = policy

    def refusal(self, session: Session, email: str, address: str, now: datetime) -> str | None:
        since = now - self.policy.window
        minutes = int(self.policy.window.total_seconds() // 60)
        per_account = session.scalar(
            select(func.count()).where(LoginFailure.email == email, LoginFailure.at > since)
        )
        if per_account >= self.policy.failures_per_account:
            return (
                f"There have been too many failed attempts to sign in to this account. "
                f"Wait {minutes} minutes and try again, or reset your password."
            )
        per_address = session.scalar(
            select(func.count()).where(LoginFailure.address == address, LoginFailure.at > since)
        )
        if per_address >= self.policy.failures_per_address:
            return (
                f"There have been too many failed attempts to sign in from your network. "
                f"Wait {minutes} minutes and try again."
            )
        return None

    def record_failure(self, session: Session, email: str, address: str, now: datetime) -> None:
        session.add(LoginFailure(email=email, address=address, at=now))
        # Old rows only cost space: clear them as we go.
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - 4 * self.policy.window))

    def clear(self, session: Session, email: str) -> None:
        session.execute(delete(LoginFailure).where(LoginFailure.email == email))
