"""Table of scheduled job runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from jesip_learn.core.columns import UTCDateTime
from jesip_learn.core.db import Base


class ScheduledJobRun(Base):
    """When a job that must run on one host at a time (the retention purge) last ran, and
    which worker holds it now: a worker takes the row's lease before running the job, so
    workers on several hosts share one schedule and never run it together."""

    __tablename__ = "scheduled_job_runs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    held_by: Mapped[str | None] = mapped_column(String(64))
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_outcome: Mapped[str] = mapped_column(Text, default="")
