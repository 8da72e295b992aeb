"""Sign-in throttling: failures counted per account and per address over a sliding window.

Two stores, one behaviour: the database (the default, which every worker already shares) and
Redis when REDIS_URL is set, so that counting a failure costs no database write.
"""

from __future__ import annotations

import uuid
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


def _refusal(policy: ThrottlePolicy, per_account: int, per_address: int) -> str | None:
    minutes = int(policy.window.total_seconds() // 60)
    if per_account >= policy.failures_per_account:
        return (
            f"There have been too many failed attempts to sign in to this account. "
            f"Wait {minutes} minutes and try again, or reset your password."
        )
    if per_address >= policy.failures_per_address:
        return (
            f"There have been too many failed attempts to sign in from your network. "
            f"Wait {minutes} minutes and try again."
        )
    return None


class DatabaseLoginThrottle:
    """Counts in the database, which every worker of the site shares."""

    def __init__(self, policy: ThrottlePolicy):
        self.policy = policy

    def refusal(self, session: Session, email: str, address: str, now: datetime) -> str | None:
        since = now - self.policy.window
        per_account = session.scalar(
            select(func.count()).where(LoginFailure.email == email, LoginFailure.at > since)
        )
        per_address = session.scalar(
            select(func.count()).where(LoginFailure.address == address, LoginFailure.at > since)
        )
        return _refusal(self.policy, per_account, per_address)

    def record_failure(self, session: Session, email: str, address: str, now: datetime) -> None:
        session.add(LoginFailure(email=email, address=address, at=now))
        # Old rows only cost space: clear them as we go.
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - 4 * self.policy.window))

    def clear(self, session: Session, email: str) -> None:
        session.execute(delete(LoginFailure).where(LoginFailure.email == email))


class RedisLoginThrottle:
    """Counts in Redis, shared by every worker and host that uses the same server: a sorted
    set of failure times per account and per address, trimmed to the window as it goes."""

    def __init__(self, policy: ThrottlePolicy, client, prefix: str = "jesip-learn:sign-in"):
        self.policy = policy
        self.client = client  # a redis.Redis
        self.prefix = prefix

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        return f"{self.prefix}:account:{email}", f"{self.prefix}:address:{address}"

    def refusal(self, session: Session, email: str, address: str, now: datetime) -> str | None:
        since = (now - self.policy.window).timestamp()
        pipe = self.client.pipeline()
        for key in self._keys(email, address):
            pipe.zcount(key, f"({since}", "+inf")
        per_account, per_address = pipe.execute()
        return _refusal(self.policy, per_account, per_address)

    def record_failure(self, session: Session, email: str, address: str, now: datetime) -> None:
        moment = now.timestamp()
        seconds = int(self.policy.window.total_seconds()) + 1
        pipe = self.client.pipeline()
        for key in self._keys(email, address):
            # A unique member per failure: two failures in the same microsecond both count.
            pipe.zadd(key, {f"{moment}:{uuid.uuid4().hex}": moment})
            pipe.zremrangebyscore(key, "-inf", moment - seconds)
            pipe.expire(key, seconds)
        pipe.execute()

    def clear(self, session: Session, email: str) -> None:
        self.client.delete(self._keys(email, "")[0])
