"""The notices table: each email is recorded once before it is sent, then claimed, sent and
settled, as the xAPI outbox does for statements.

Recording is an INSERT ... ON CONFLICT DO NOTHING on the unique key (recipient, kind,
subject, period), so any number of senders, on any number of hosts, recording the same
notice at once leave one row. A sender claims a batch of due rows for a lease (one UPDATE
that only takes rows nobody holds), commits the claim, sends, and settles each row. A failed
send waits (the wait doubling up to a cap) and is tried again; after the last attempt the
notice is `failed`, for an administrator to see and send again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from jesip_learn.core import outbox
from jesip_learn.core.columns import utcnow
from jesip_learn.core.labelled import LabelledEnum
from jesip_learn.notifications.models import Notice
from jesip_learn.notifications.settings import NotificationSettings


class NoticeStatus(LabelledEnum):
    QUEUED = outbox.QUEUED, "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # after its last try, or a message that cannot be built
    CANCELLED = "cancelled", "Cancelled"  # the recipient's account closed after recording


QUEUED, SENT, FAILED, CANCELLED = NoticeStatus

ERROR_CHARACTERS = 2000
KIND_LABELS = {"reminder": "Reminder", "overdue": "Overdue notice",
               "digest": "Manager’s digest", "report": "Scheduled report"}
KEY_COLUMNS = ("recipient_id", "kind", "subject_key", "period")


@dataclass(frozen=True, slots=True)
class NoticeDraft:
    """A notice ready to record: its key, where it goes and what it says."""

    recipient_id: int
    kind: str
    subject_key: str
    period: str
    to_address: str
    mail_subject: str
    text_body: str
    html_body: str
    course_id: int | None = None
    subscription_id: int | None = None
    details: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, str, str, str]:
        return (self.recipient_id, self.kind, self.subject_key, self.period)


def recorded_keys(session: Session, keys: Iterable[tuple[int, str, str, str]]
                  ) -> set[tuple[int, str, str, str]]:
    """Which of these keys are recorded already (so their emails need not be written)."""
    keys = list(keys)
    found: set[tuple[int, str, str, str]] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        found.update(tuple(row) for row in session.execute(
            select(Notice.recipient_id, Notice.kind, Notice.subject_key, Notice.period)
            .where(tuple_(Notice.recipient_id, Notice.kind, Notice.subject_key,
                          Notice.period).in_(chunk))))
    return found


def record(session: Session, draft: NoticeDraft, now: datetime | None = None) -> bool:
    """Record the notice unless it is recorded already. True when this call recorded it."""
    now = now or utcnow()
    values = dict(recipient_id=draft.recipient_id, kind=draft.kind,
                  subject_key=draft.subject_key, period=draft.period,
                  course_id=draft.course_id, subscription_id=draft.subscription_id,
                  to_address=draft.to_address, mail_subject=draft.mail_subject[:300],
                  text_body=draft.text_body, html_body=draft.html_body,
                  details=draft.details, status=QUEUED, created_at=now, attempts=0,
                  next_attempt_at=now, last_error="")
    insert = (postgresql_insert if session.get_bind().dialect.name == "postgresql"
              else sqlite_insert)
    # RETURNING says whether a row went in: the ORM's rowcount is not reliable here.
    inserted = session.scalar(insert(Notice).values(**values)
                              .on_conflict_do_nothing(index_elements=list(KEY_COLUMNS))
                              .returning(Notice.id))
    return inserted is not None


def latest(session: Session, recipient_id: int, kind: str, subject_key: str) -> Notice | None:
    """The last notice of this kind about this subject (a digest's previous figures)."""
    return session.scalar(select(Notice).where(
        Notice.recipient_id == recipient_id, Notice.kind == kind,
        Notice.subject_key == subject_key).order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(1))


# --- the sender's side ------------------------------------------------------------------


def new_claimant() -> str:
    return outbox.new_claimant()


def claim(session: Session, claimant: str, limit: int, lease_seconds: int,
          now: datetime | None = None) -> list[Notice]:
    """Up to `limit` due notices, oldest first, held for `claimant` until the lease ends."""
    return outbox.claim(session, Notice, claimant, limit, lease_seconds, now)


def backoff(attempts: int, settings: NotificationSettings) -> timedelta:
    """How long to wait after the `attempts`-th failed try: doubling, up to the cap."""
    return outbox.backoff(attempts, settings.retry_base_seconds, settings.retry_max_seconds)


def _held(session: Session, claimant: str, notice_id: int) -> Notice | None:
    return session.scalar(select(Notice).where(Notice.id == notice_id,
                                               Notice.claimed_by == claimant,
                                               Notice.status == QUEUED))


def mark_sent(session: Session, claimant: str, notice_id: int,
              now: datetime | None = None) -> None:
    notice = _held(session, claimant, notice_id)
    if notice is not None:
        notice.status, notice.sent_at = SENT, now or utcnow()
        notice.attempts += 1
        notice.last_error, notice.claimed_by, notice.claimed_until = "", None, None


def mark_cancelled(session: Session, claimant: str, notice_id: int, reason: str) -> None:
    """Not sent, and never will be: the recipient's account was closed after recording."""
    notice = _held(session, claimant, notice_id)
    if notice is not None:
        notice.status, notice.last_error = CANCELLED, reason[:ERROR_CHARACTERS]
        notice.claimed_by = notice.claimed_until = None


def mark_unsendable(session: Session, claimant: str, notice_id: int, reason: str) -> None:
    """The message itself cannot be built: failed at once, since every try would fail alike.
    Administrators see it, with the reason, among the failed emails."""
    notice = _held(session, claimant, notice_id)
    if notice is not None:
        notice.attempts += 1
        notice.status, notice.last_error = FAILED, reason[:ERROR_CHARACTERS]
        notice.claimed_by = notice.claimed_until = None


def mark_failed(session: Session, claimant: str, notice_id: int, reason: str,
                settings: NotificationSettings, now: datetime | None = None) -> None:
    """The mail server did not take it: try again later, or give up after the last try."""
    notice = _held(session, claimant, notice_id)
    if notice is None:
        return
    now = now or utcnow()
    notice.attempts += 1
    notice.last_error = reason[:ERROR_CHARACTERS]
    notice.claimed_by = notice.claimed_until = None
    if notice.attempts >= settings.max_attempts:
        notice.status = FAILED
    else:
        notice.next_attempt_at = now + backoff(notice.attempts, settings)


# --- what administrators see and do -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoticeSummary:
    counts: dict[str, int]  # by status
    waiting: int  # queued after a failed try
    next_attempt_at: datetime | None
    last_sent_at: datetime | None
    problems: list[Notice]  # failed, and queued after a failure, newest first
    recent: list[Notice]  # sent, newest first


def notice_summary(session: Session, limit: int = 50) -> NoticeSummary:
    counts = dict(session.execute(select(Notice.status, func.count())
                                  .group_by(Notice.status)).all())
    waiting = session.scalar(select(func.count()).select_from(Notice).where(
        Notice.status == QUEUED, Notice.attempts > 0)) or 0
    problems = list(session.scalars(select(Notice).where(or_(
        Notice.status == FAILED, and_(Notice.status == QUEUED, Notice.last_error != "")))
        .order_by(Notice.id.desc()).limit(limit)))
    recent = list(session.scalars(select(Notice).where(Notice.status == SENT)
                                  .order_by(Notice.sent_at.desc(), Notice.id.desc())
                                  .limit(limit)))
    return NoticeSummary(
        counts={status: counts.get(status, 0) for status in (QUEUED, SENT, FAILED, CANCELLED)},
        waiting=waiting,
        next_attempt_at=session.scalar(select(func.min(Notice.next_attempt_at)).where(
            Notice.status == QUEUED, Notice.attempts > 0)),
        last_sent_at=session.scalar(select(func.max(Notice.sent_at))),
        problems=problems, recent=recent)


def retry(session: Session, notice_id: int | None = None, now: datetime | None = None) -> int:
    """Send again at the sender's next run: one notice, or every failed one and every one
    waiting after a failure. Returns how many."""
    only = Notice.id == notice_id if notice_id is not None else None
    return outbox.retry(session, Notice, FAILED, only=only, now=now)
