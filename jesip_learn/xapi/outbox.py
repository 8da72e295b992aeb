"""The transactional outbox: each statement is written in the same transaction as the
learning it records, so a statement exists exactly when its learning was saved, and the
sender can fail, stop or run twice without losing one or making a second.

A row is `queued` until the store has it (`sent`), or until the store refuses it as
malformed (`rejected`, with the store's reason, for an administrator to see and retry).
A sender claims a batch of due rows for a lease (`claimed_by`, `claimed_until`): one
UPDATE that only takes rows nobody holds, so two senders never send the same row at once.
A failed send leaves the rows queued with the next try later, the wait doubling up to a cap.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from jesip_learn.core import outbox as shared
from jesip_learn.core.columns import utcnow
from jesip_learn.core.labelled import LabelledEnum
from jesip_learn.xapi.models import XapiStatement
from jesip_learn.xapi.settings import XapiSettings, session_settings


class StatementStatus(LabelledEnum):
    QUEUED = shared.QUEUED, "Waiting to be sent"
    SENT = "sent", "Sent"
    REJECTED = "rejected", "Refused by the store"


QUEUED, SENT, REJECTED = StatementStatus

ERROR_CHARACTERS = 2000  # enough of the store's answer to say what was wrong


# --- writing statements with the learning -----------------------------------------------


def record(session: Session, build: Callable[[XapiSettings], Iterable[dict]]) -> None:
    """Add the statements `build` makes to the outbox, in the session's transaction; nothing
    (and nothing built) when the site sends no statements."""
    settings = session_settings(session)
    if settings is None:
        return
    for statement in build(settings):
        enqueue(session, statement)


def enqueue(session: Session, statement: dict, now: datetime | None = None) -> XapiStatement:
    """Give the statement its id and add it to the outbox."""
    now = now or utcnow()
    statement_id = str(uuid.uuid4())
    row = XapiStatement(statement_id=statement_id, statement={"id": statement_id, **statement},
                        summary=summarise(statement)[:300], status=QUEUED, created_at=now,
                        attempts=0, next_attempt_at=now, last_error="")
    session.add(row)
    return row


def summarise(statement: dict) -> str:
    """"Ann Smith completed Incident command" – a statement in words for administrators."""
    who = statement.get("actor", {}).get("name", "")
    did = statement.get("verb", {}).get("display", {}).get("en-US", "")
    names = statement.get("object", {}).get("definition", {}).get("name", {})
    what = next(iter(names.values()), statement.get("object", {}).get("id", ""))
    return " ".join(part for part in (who, did, what) if part)


# --- the sender's side ------------------------------------------------------------------


def claim(session: Session, claimant: str, limit: int, lease_seconds: int,
          now: datetime | None = None) -> list[XapiStatement]:
    """Up to `limit` due statements, oldest first, held for `claimant` until the lease ends."""
    return shared.claim(session, XapiStatement, claimant, limit, lease_seconds, now)


def new_claimant() -> str:
    return shared.new_claimant()


def backoff(attempts: int, settings: XapiSettings) -> timedelta:
    """How long to wait after the `attempts`-th failed try: doubling, up to the cap."""
    return shared.backoff(attempts, settings.retry_base_seconds, settings.retry_max_seconds)


def _held(claimant: str, ids: Iterable[int]):
    return update(XapiStatement).where(XapiStatement.id.in_(list(ids)),
                                       XapiStatement.claimed_by == claimant,
                                       XapiStatement.status == QUEUED)


def mark_sent(session: Session, claimant: str, ids: Iterable[int],
              now: datetime | None = None) -> None:
    session.execute(_held(claimant, ids).values(
        status=SENT, sent_at=now or utcnow(), attempts=XapiStatement.attempts + 1,
        last_error="", claimed_by=None, claimed_until=None),
        execution_options={"synchronize_session": False})


def mark_rejected(session: Session, claimant: str, row_id: int, reason: str) -> None:
    session.execute(_held(claimant, [row_id]).values(
        status=REJECTED, attempts=XapiStatement.attempts + 1,
        last_error=reason[:ERROR_CHARACTERS], claimed_by=None, claimed_until=None),
        execution_options={"synchronize_session": False})


def mark_failed(session: Session, claimant: str, ids: Iterable[int], reason: str,
                settings: XapiSettings, now: datetime | None = None) -> None:
    """The store could not be reached or could not take them: try again later."""
    now = now or utcnow()
    for row in session.scalars(select(XapiStatement).where(
            XapiStatement.id.in_(list(ids)), XapiStatement.claimed_by == claimant,
            XapiStatement.status == QUEUED)):
        row.attempts += 1
        row.next_attempt_at = now + backoff(row.attempts, settings)
        row.last_error = reason[:ERROR_CHARACTERS]
        row.claimed_by = row.claimed_until = None
    session.flush()


def prune_sent(session: Session, keep_days: int, now: datetime | None = None) -> int:
    """Forget statements the store has had for longer than `keep_days`."""
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    result = session.execute(delete(XapiStatement).where(
        XapiStatement.status == SENT, XapiStatement.sent_at < cutoff),
        execution_options={"synchronize_session": False})
    return result.rowcount or 0


# --- what administrators see and do -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    queued: int  # waiting to be sent, due or not
    waiting: int  # of those, after a failed try (backing off)
    next_attempt_at: datetime | None  # the earliest try still to come
    rejected: int
    last_sent_at: datetime | None
    problems: list[XapiStatement]  # rejected, and queued after a failure, newest first


def outbox_summary(session: Session, problem_limit: int = 50) -> OutboxSummary:
    counts = dict(session.execute(select(XapiStatement.status, func.count())
                                  .group_by(XapiStatement.status)).all())
    waiting = session.scalar(select(func.count()).select_from(XapiStatement).where(
        XapiStatement.status == QUEUED, XapiStatement.attempts > 0)) or 0
    problems = list(session.scalars(
        select(XapiStatement).where(or_(XapiStatement.status == REJECTED,
                                        and_(XapiStatement.status == QUEUED,
                                             XapiStatement.last_error != "")))
        .order_by(XapiStatement.id.desc()).limit(problem_limit)))
    return OutboxSummary(
        queued=counts.get(QUEUED, 0), waiting=waiting, rejected=counts.get(REJECTED, 0),
        next_attempt_at=session.scalar(select(func.min(XapiStatement.next_attempt_at)).where(
            XapiStatement.status == QUEUED)),
        last_sent_at=session.scalar(select(func.max(XapiStatement.sent_at))),
        problems=problems)


def retry(session: Session, statement_id: str | None = None,
          now: datetime | None = None) -> int:
    """Send again at the sender's next run: one statement (by its statement id), or every
    rejected statement and every one waiting after a failure. Returns how many."""
    only = XapiStatement.statement_id == statement_id if statement_id is not None else None
    return shared.retry(session, XapiStatement, REJECTED, only=only, now=now)
