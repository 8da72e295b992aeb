"""Table of the xAPI statement outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from jesip_learn.core.columns import UTCDateTime, utcnow
from jesip_learn.core.db import Base


class XapiStatement(Base):
    """An xAPI statement in the outbox: written in the transaction of the learning it
    records, then sent to the learning record store. Its id is fixed when it is written,
    so sending it again after a lost answer is the same statement, never a second one."""

    __tablename__ = "xapi_outbox"
    # The sender looks for statements due by status and time.
    __table_args__ = (Index("ix_xapi_outbox_status_next_attempt_at", "status",
                            "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(36), unique=True)
    statement: Mapped[dict] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(String(300), default="")  # for administrators
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued, sent, rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A sender claims a batch until its lease runs out, so two senders never send one row.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
