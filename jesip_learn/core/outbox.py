"""What both outboxes share (the notices in `notifications.notices`, the xAPI statements in
`xapi.outbox`): a row waits as "queued" until it is due; a sender claims due rows under a
lease so that two senders never send one row; a failed try waits longer each time; and an
administrator can queue failed rows again.

Each outbox's table has the columns `status`, `next_attempt_at`, `claimed_by`,
`claimed_until` and `attempts`; its own module names its other states and says what sent,
failed and refused mean for it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from jesip_learn.core.columns import utcnow

QUEUED = "queued"


def new_claimant() -> str:
    """A name for one sender's run, which the rows it claims carry until it lets them go."""
    return uuid.uuid4().hex


def due(table, now: datetime):
    """Queued, its time come, and not held by a sender whose lease is still running."""
    return and_(table.status == QUEUED, table.next_attempt_at <= now,
                or_(table.claimed_until.is_(None), table.claimed_until < now))


def claim(session: Session, table, claimant: str, limit: int, lease_seconds: int,
          now: datetime | None = None) -> list:
    """Up to `limit` due rows, oldest first, held for `claimant` until the lease ends.

    On PostgreSQL the rows are locked as they are chosen, passing over rows another sender
    is claiming (SKIP LOCKED), and the UPDATE checks again that they are due; SQLite runs
    one writer at a time. (Choosing inside the UPDATE, as `id IN (SELECT ... LIMIT n FOR
    UPDATE)`, lets PostgreSQL run the sub-query again for each row and claim them all.)"""
    now = now or utcnow()
    chosen = list(session.scalars(select(table.id).where(due(table, now)).order_by(table.id)
                                  .limit(limit).with_for_update(skip_locked=True)))
    if not chosen:
        return []
    session.execute(
        update(table).where(table.id.in_(chosen), due(table, now))
        .values(claimed_by=claimant, claimed_until=now + timedelta(seconds=lease_seconds)),
        execution_options={"synchronize_session": False})
    return list(session.scalars(
        select(table).where(table.claimed_by == claimant, table.status == QUEUED)
        .order_by(table.id).execution_options(populate_existing=True)))


def backoff(attempts: int, base_seconds: int, max_seconds: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try: doubling, up to the cap."""
    seconds = base_seconds * 2 ** min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(seconds, max_seconds))


def retry(session: Session, table, failed_status: str, only=None,
          now: datetime | None = None) -> int:
    """Queue again, for the sender's next run, every row in `failed_status` and every row
    waiting after a failed try (or only those matching the `only` condition), with its tries
    counted from nought. Returns how many."""
    query = update(table).where(or_(table.status == failed_status,
                                    and_(table.status == QUEUED, table.attempts > 0)))
    if only is not None:
        query = query.where(only)
    result = session.execute(
        query.values(status=QUEUED, next_attempt_at=now or utcnow(), attempts=0,
                     claimed_by=None, claimed_until=None),
        execution_options={"synchronize_session": False})
    return result.rowcount or 0
