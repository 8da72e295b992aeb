"""A job that must run on one host at a time (the retention purge) holds a row of
`scheduled_job_runs` while it runs. The row also says when the job last ran, so workers on
several hosts share one schedule: a daily job runs once a day, not once a day per host.

Taking the lease reads the row locked (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
write transaction's BEGIN IMMEDIATE already excludes every other writer), decides with
`schedule.is_due` and writes the holder in the same transaction, so of two workers asking at
once the second sees the first's lease. A worker that dies while holding a lease leaves it
to run out (`LEASE`), after which another worker takes the job.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from jesip_learn.jobs.models import ScheduledJobRun
from jesip_learn.jobs.schedule import Job, LastRun, is_due

LEASE = timedelta(hours=1)
OUTCOME_CHARACTERS = 2000


def new_holder() -> str:
    """This worker's name in a lease: its host and process, and a random part so that two
    workers never share one."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"[:64]


def _ensure_row(session: Session, name: str) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(ScheduledJobRun)
                    .values(name=name, last_failed=False, last_outcome="")
                    .on_conflict_do_nothing(index_elements=["name"]))


def last_run(session: Session, name: str) -> LastRun:
    row = session.get(ScheduledJobRun, name)
    if row is None:
        return LastRun()
    return LastRun(row.last_started_at, row.last_failed)


def claim(session: Session, job: Job, holder: str, now: datetime,
          lease: timedelta = LEASE) -> bool:
    """Take the job's lease when it is due and nobody holds it; whether this worker now
    runs it. The caller commits at once, before running the job."""
    _ensure_row(session, job.name)
    row = session.scalars(select(ScheduledJobRun).where(ScheduledJobRun.name == job.name)
                          .with_for_update()).one()
    if row.held_until is not None and row.held_until > now:
        return False
    # A lease that ran out without being given back: that run died, so it counts as failed.
    died = row.held_until is not None
    if not is_due(job, LastRun(row.last_started_at, row.last_failed or died), now):
        return False
    row.held_by, row.held_until, row.last_started_at = holder, now + lease, now
    return True


def release(session: Session, name: str, holder: str, now: datetime, *, failed: bool,
            outcome: str) -> None:
    """Give the lease back, recording how the run went. A lease that ran out and was taken
    by another worker is left to that worker."""
    session.execute(update(ScheduledJobRun)
                    .where(ScheduledJobRun.name == name, ScheduledJobRun.held_by == holder)
                    .values(held_by=None, held_until=None, last_finished_at=now,
                            last_failed=failed, last_outcome=outcome[:OUTCOME_CHARACTERS]))
