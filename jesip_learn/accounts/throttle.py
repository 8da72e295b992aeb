"""Throttling: sign-in failures per account and per address, the emails people may ask
for (password resets, registrations, new confirmation links) per email address or account
and per network address, and wrong guesses of a live exercise's join code per person and
per network address, each over a sliding window.

Two stores, one behaviour: the database (the default, which every worker already shares) and
Redis when REDIS_URL is set, so that counting costs no database write. While Redis cannot be
reached the database counts instead (`RedisOrDatabase`), with one warning in the log per
outage.

Counting and deciding are one step ("claim"): an attempt is counted as it is let through,
atomically, so that of N attempts arriving at once exactly the limit get through, however
many workers and hosts serve them. In the database the keys concerned are locked for that
step (PostgreSQL advisory locks; SQLite has one writer at a time anyway); in Redis the
count comes back from the same MULTI/EXEC as the addition.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import LoginFailure, RateLimitHit
from jesip_learn.core.db import note_written

log = logging.getLogger("jesip_learn.accounts.throttle")


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    failures_per_account: int = 10
    failures_per_address: int = 50
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Claim:
    """A sign-in attempt: refused (with the words to show), or let through and counted as a
    failure until it is released (the password was right)."""

    refusal: str | None
    store: object = None  # the store that counted it, which alone can release it
    counted: object = None  # the failure's row id (database) or member (Redis)


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


# --- the database --------------------------------------------------------------------------


def _lock_keys(session: Session, keys: Iterable[str]) -> None:
    """Hold a lock on each key until the transaction ends, so that counting and adding are
    one step. PostgreSQL: transaction-level advisory locks, taken in one order so that two
    claims never wait for each other. SQLite: nothing to do, as a transaction that writes
    holds the database's only write lock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        session.execute(select(func.pg_advisory_xact_lock(
            func.hashtextextended(f"jesip-learn:throttle:{key}", 0))))


def _delete_old(session: Session, model, before: datetime) -> None:
    """Old rows only cost space: clear some as we go. Rows another transaction is deleting
    are skipped (PostgreSQL), so that two of these never wait for each other."""
    old = (select(model.id).where(model.at < before).limit(500)
           .with_for_update(skip_locked=True))
    session.execute(delete(model).where(model.id.in_(old.scalar_subquery())))


class _DatabaseStore:
    def __init__(self, own_sessions: Callable[[], Session] | None = None):
        # Sessions of the same database on connections of their own (Database.side_session),
        # for claims on PostgreSQL: see `_claiming`.
        self.own_sessions = own_sessions

    def _claiming(self, session: Session, claim: Callable[[Session], object]):
        """Run `claim` in a short transaction of its own on PostgreSQL, committed at once:
        its locks are held for milliseconds, not for the rest of the request (everyone
        behind one proxy shares an address), and the count stands even if the request
        fails later. On SQLite, in the request's own transaction, which already holds the
        write lock that another connection would wait for."""
        if self.own_sessions is None or session.get_bind().dialect.name == "sqlite":
            return claim(session)
        with self.own_sessions() as own:
            result = claim(own)
            own.commit()
        # The request's own transaction then ends with a commit too, not a rollback: where
        # the sessions share one connection (the tests' single outer transaction), rolling
        # the request back would take the count with it.
        note_written(session)
        return result


class DatabaseLoginThrottle(_DatabaseStore):
    """Counts sign-in failures in the database, which every worker of the site shares."""

    def __init__(self, policy: ThrottlePolicy,
                 own_sessions: Callable[[], Session] | None = None):
        super().__init__(own_sessions)
        self.policy = policy

    def _counts(self, session: Session, email: str, address: str, now: datetime):
        since = now - self.policy.window
        per_account = session.scalar(
            select(func.count()).where(LoginFailure.email == email, LoginFailure.at > since)
        )
        per_address = session.scalar(
            select(func.count()).where(LoginFailure.address == address, LoginFailure.at > since)
        )
        return per_account, per_address

    def refusal(self, session: Session, email: str, address: str, now: datetime) -> str | None:
        return _refusal(self.policy, *self._counts(session, email, address, now))

    def claim(self, session: Session, email: str, address: str, now: datetime) -> Claim:
        def claim(own: Session) -> Claim:
            _lock_keys(own, (f"sign-in:account:{email}", f"sign-in:address:{address}"))
            refusal = self.refusal(own, email, address, now)
            if refusal:
                return Claim(refusal)
            failure = self._add_failure(own, email, address, now)
            own.flush()
            return Claim(None, self, failure.id)

        return self._claiming(session, claim)

    def release(self, session: Session, claim: Claim | Counted) -> None:
        session.execute(delete(LoginFailure).where(LoginFailure.id == claim.counted))

    def record_failure(self, session: Session, email: str, address: str, now: datetime) -> None:
        self._add_failure(session, email, address, now)

    def _add_failure(self, session: Session, email: str, address: str,
                     now: datetime) -> LoginFailure:
        failure = LoginFailure(email=email, address=address, at=now)
        session.add(failure)
        _delete_old(session, LoginFailure, now - 4 * self.policy.window)
        return failure

    def clear(self, session: Session, email: str) -> None:
        session.execute(delete(LoginFailure).where(LoginFailure.email == email))


# --- Redis ---------------------------------------------------------------------------------


def _redis_claim(client, keys: list[str], moment: float, window: timedelta) -> tuple[str, list]:
    """Add one member to each key's sorted set of times, trimmed to the window, and return
    it with each set's size counting it: MULTI/EXEC, so no other claim comes between."""
    member = f"{moment}:{uuid.uuid4().hex}"  # unique: two claims in a microsecond both count
    seconds = window.total_seconds()
    pipe = client.pipeline(transaction=True)
    for key in keys:
        pipe.zremrangebyscore(key, "-inf", moment - seconds)
        pipe.zadd(key, {member: moment})
        pipe.zcard(key)
        pipe.expire(key, math.ceil(seconds) + 1)
    results = pipe.execute()
    return member, results[2::4]


def _redis_unclaim(client, keys: list[str], member: str) -> None:
    pipe = client.pipeline(transaction=True)
    for key in keys:
        pipe.zrem(key, member)
    pipe.execute()


class RedisLoginThrottle:
    """Counts sign-in failures in Redis, shared by every worker and host that uses the same
    server: a sorted set of failure times per account and per address, trimmed to the window
    as it goes."""

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

    def claim(self, session: Session, email: str, address: str, now: datetime) -> Claim:
        keys = list(self._keys(email, address))
        member, (per_account, per_address) = _redis_claim(self.client, keys, now.timestamp(),
                                                          self.policy.window)
        # The counts include this attempt: it may go ahead only while they are within limits.
        refusal = _refusal(self.policy, per_account - 1, per_address - 1)
        if refusal:
            _redis_unclaim(self.client, keys, member)  # a refused attempt is no failure
            return Claim(refusal)
        return Claim(None, self, (keys, member))

    def release(self, session: Session, claim: Claim | Counted) -> None:
        keys, member = claim.counted
        _redis_unclaim(self.client, keys, member)

    def record_failure(self, session: Session, email: str, address: str, now: datetime) -> None:
        _redis_claim(self.client, list(self._keys(email, address)), now.timestamp(),
                     self.policy.window)

    def clear(self, session: Session, email: str) -> None:
        self.client.delete(self._keys(email, "")[0])


# --- emails sent on request ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmailRequestPolicy:
    per_account: int = 5  # emails to one address, or to one account
    per_address: int = 50  # emails asked for from one network address
    window: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Limited:
    """A request refused for now, and how long until it would be let through."""

    retry_after: timedelta

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after.total_seconds() / 60))


def _hashed(kind: str, value: str) -> str:
    # Keys name what they count by a hash rather than in clear, and last only the window.
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


@dataclass(frozen=True, slots=True)
class Counted:
    """A request counted by `claim_releasable`: refused for now (`limited`), or let through
    and counted until it is released, by the store that counted it."""

    limited: Limited | None
    store: object = None
    counted: object = None  # the rows' ids (database) or the keys and member (Redis)


class DatabaseRequestCounter(_DatabaseStore):
    """Counts requests by key in the database (table rate_limit_hits)."""

    def _claim(self, session: Session, limits: list[tuple[str, int]], window: timedelta,
               now: datetime) -> tuple[Limited | None, list[int]]:
        def claim(own: Session) -> tuple[Limited | None, list[int]]:
            _lock_keys(own, (f"requests:{key}" for key, _ in limits))
            since = now - window
            for key, limit in limits:
                count, oldest = own.execute(
                    select(func.count(), func.min(RateLimitHit.at))
                    .where(RateLimitHit.key == key, RateLimitHit.at > since)).one()
                if count >= limit:
                    return Limited(retry_after=oldest + window - now), []
            hits = [RateLimitHit(key=key, at=now) for key, _ in limits]
            own.add_all(hits)
            _delete_old(own, RateLimitHit, since)
            own.flush()
            return None, [hit.id for hit in hits]

        return self._claiming(session, claim)

    def claim(self, session: Session, limits: list[tuple[str, int]], window: timedelta,
              now: datetime) -> Limited | None:
        return self._claim(session, limits, window, now)[0]

    def claim_releasable(self, session: Session, limits: list[tuple[str, int]],
                         window: timedelta, now: datetime) -> Counted:
        limited, ids = self._claim(session, limits, window, now)
        return Counted(limited, self, ids)

    def release(self, session: Session, counted: Counted) -> None:
        session.execute(delete(RateLimitHit).where(RateLimitHit.id.in_(counted.counted)))


class RedisRequestCounter:
    """Counts requests by key in Redis: a sorted set of times per key."""

    def __init__(self, client, prefix: str = "jesip-learn:email-requests"):
        self.client = client
        self.prefix = prefix

    def claim_releasable(self, session: Session, limits: list[tuple[str, int]],
                         window: timedelta, now: datetime) -> Counted:
        keys = [f"{self.prefix}:{key}" for key, _ in limits]
        member, counts = _redis_claim(self.client, keys, now.timestamp(), window)
        over = [key for key, count, (_, limit) in zip(keys, counts, limits, strict=True)
                if count > limit]
        if not over:
            return Counted(None, self, (keys, member))
        _redis_unclaim(self.client, keys, member)
        first = self.client.zrange(over[0], 0, 0, withscores=True)
        oldest = first[0][1] if first else now.timestamp()
        return Counted(Limited(retry_after=timedelta(seconds=oldest - now.timestamp())
                               + window))

    def claim(self, session: Session, limits: list[tuple[str, int]], window: timedelta,
              now: datetime) -> Limited | None:
        return self.claim_releasable(session, limits, window, now).limited

    def release(self, session: Session, counted: Counted) -> None:
        keys, member = counted.counted
        _redis_unclaim(self.client, keys, member)


class EmailRequestLimiter:
    """How many emails people may have us send on request: to one email address, to one
    account, and asked for from one network address, within the window. A request over the
    address or network limit is refused whether or not an account exists, so the refusal
    tells nothing about who has one; the account limit is checked only once the account is
    found, and then nothing is sent, without saying so."""

    def __init__(self, policy: EmailRequestPolicy, store):
        self.policy = policy
        self.store = store  # DatabaseRequestCounter, RedisRequestCounter or RedisOrDatabase

    def check_request(self, session: Session, email: str, address: str,
                      now: datetime) -> Limited | None:
        limits = [(_hashed("email", email.strip().lower()), self.policy.per_account),
                  (_hashed("address", address), self.policy.per_address)]
        return self.store.claim(session, limits, self.policy.window, now)

    def check_account(self, session: Session, user_id: int, now: datetime) -> Limited | None:
        limits = [(_hashed("account", str(user_id)), self.policy.per_account)]
        return self.store.claim(session, limits, self.policy.window, now)


# --- guesses of a secret: live exercise join codes ---------------------------------------------


@dataclass(frozen=True, slots=True)
class GuessPolicy:
    per_person: int = 10  # wrong guesses by one account
    per_address: int = 50  # wrong guesses from one network address, by anyone
    window: timedelta = timedelta(minutes=15)


class GuessLimiter:
    """Wrong guesses of a secret (a live exercise's join code) by one person and from one
    network address, within the window. As with sign-in failures, a guess is counted as
    wrong in the same step as the count is read, before it is checked, so that of many
    guesses arriving at once exactly the limit are checked; a right one is released
    afterwards, so that a room of people joining from behind one proxy uses up nothing."""

    def __init__(self, policy: GuessPolicy, store, kind: str):
        self.policy = policy
        self.store = store  # DatabaseRequestCounter, RedisRequestCounter or RedisOrDatabase
        self.kind = kind  # what is guessed, part of the keys: "join-code"

    def claim(self, session: Session, user_id: int, address: str, now: datetime) -> Counted:
        limits = [(_hashed(f"{self.kind}:person", str(user_id)), self.policy.per_person),
                  (_hashed(f"{self.kind}:address", address), self.policy.per_address)]
        return self.store.claim_releasable(session, limits, self.policy.window, now)

    def release(self, session: Session, counted: Counted) -> None:
        """The guess was right: it no longer counts."""
        self.store.release(session, counted)


# --- Redis, with the database while it is down ---------------------------------------------------


class RedisHealth:
    """Whether Redis answered lately, for one process. After a failure the database counts
    for `retry_seconds` before Redis is tried again, so that an outage does not cost every
    request a timeout; one warning is logged when an outage begins, one line when it ends."""

    def __init__(self, retry_seconds: float = 30, clock: Callable[[], float] = time.monotonic):
        self.retry_seconds = retry_seconds
        self.clock = clock
        self._retry_at: float | None = None  # None: Redis is up
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self._retry_at is not None

    def worth_trying(self) -> bool:
        retry_at = self._retry_at
        return retry_at is None or self.clock() >= retry_at

    def failed(self, error: Exception) -> None:
        with self._lock:
            if self._retry_at is None:
                log.warning("Redis cannot be reached (%s): sign-in failures, email requests "
                            "and wrong join codes are counted in the database until it can be",
                            error)
            self._retry_at = self.clock() + self.retry_seconds

    def answered(self) -> None:
        if self._retry_at is None:
            return
        with self._lock:
            if self._retry_at is not None:
                self._retry_at = None
                log.warning("Redis can be reached again: counting there once more")


class RedisOrDatabase:
    """A Redis store while Redis answers, and the same kind of store in the database while
    it does not. During an outage each store counts only what reached it."""

    def __init__(self, in_redis, in_database, health: RedisHealth):
        self.in_redis = in_redis
        self.in_database = in_database
        self.health = health

    def _run(self, method: str, *args):
        if self.health.worth_trying():
            try:
                result = getattr(self.in_redis, method)(*args)
            except redis.RedisError as error:
                self.health.failed(error)
            else:
                self.health.answered()
                return result
        return getattr(self.in_database, method)(*args)

    def refusal(self, session, email, address, now):
        return self._run("refusal", session, email, address, now)

    def claim(self, *args):
        return self._run("claim", *args)

    def claim_releasable(self, *args):
        return self._run("claim_releasable", *args)

    def record_failure(self, session, email, address, now):
        self._run("record_failure", session, email, address, now)

    def clear(self, session, email):
        # In both: failures counted in the database during an outage are cleared too.
        self.in_database.clear(session, email)
        if self.health.worth_trying():
            try:
                self.in_redis.clear(session, email)
            except redis.RedisError as error:
                self.health.failed(error)

    def release(self, session: Session, claim: Claim | Counted) -> None:
        # Released where it was counted. If Redis went down since, the attempt stays
        # counted until it leaves the window: a right password can wait that long.
        try:
            claim.store.release(session, claim)
        except redis.RedisError as error:
            self.health.failed(error)
