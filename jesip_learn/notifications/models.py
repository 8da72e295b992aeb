"""Tables of notifications: preferences, report subscriptions, the notice outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jesip_learn.accounts.models import User
from jesip_learn.core.columns import UTCDateTime, utcnow
from jesip_learn.core.db import Base
from jesip_learn.courses.models import Course


class NotificationPreference(Base):
    """What a person has chosen to be emailed. No row means the defaults: every reminder on,
    and managers' digests at the site's frequency. Overdue training always reaches the
    manager's digest, whatever the learner chooses here."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    # Before training runs out (90, 30 and 7 days unless configured).
    expiry_reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    # On the day it runs out, then monthly while it is overdue.
    overdue_notices: Mapped[bool] = mapped_column(Boolean, default=True)
    # Managers: "weekly" or "monthly"; None means the site's default.
    digest_frequency: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)



class ReportSubscription(Base):
    """A manager's saved dashboard filter, emailed to them as a CSV or XLSX attachment."""

    __tablename__ = "report_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # The dashboard's filters as its query string (service=police&course=3...).
    filters: Mapped[str] = mapped_column(String(1000), default="")
    file_format: Mapped[str] = mapped_column(String(10))  # "csv" or "xlsx"
    frequency: Mapped[str] = mapped_column(String(10))  # "weekly" or "monthly"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()



class Notice(Base):
    """One email the site owes someone: a reminder, an overdue notice, a digest or a
    scheduled report. It is recorded before it is sent, once: the unique key (recipient,
    kind, what it is about, which threshold or period) makes a second recording of the same
    notice a no-op, however many senders run at once. Senders then claim rows for a lease,
    as the xAPI outbox does, so no row is sent twice."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("recipient_id", "kind", "subject_key", "period"),
        Index("ix_notices_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                              index=True)
    kind: Mapped[str] = mapped_column(String(20))  # reminder, overdue, digest, report
    # What it is about: "course:12", "report:3", or "scope" for a digest.
    subject_key: Mapped[str] = mapped_column(String(40))
    # Which threshold or period: "2027-03-31/30" (due date / days before), "2027-W14"...
    period: Mapped[str] = mapped_column(String(40))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_subscriptions.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(254))
    mail_subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    # Figures the next notice compares against (a digest's compliance percentage).
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    # queued; sent; failed (given up after the last try); cancelled (the recipient left)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")

    recipient: Mapped[User] = relationship()
    course: Mapped[Course | None] = relationship()
