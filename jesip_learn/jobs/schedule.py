"""Which jobs are due: pure decisions on a job's interval and its last run, so that they are
tested with a fake clock.

A job runs every `every`, counted from when its last run started. A run that failed is tried
again sooner, after `retry` (when that is shorter than `every`), so a daily job whose
database was briefly down does not wait a whole day for its next try.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

DEFAULT_RETRY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class JobResult:
    """What a run did, in one line for the log; `ok` is false when it could not finish its
    work (the mail server or the learning record store failed)."""

    summary: str
    ok: bool = True


@dataclass(frozen=True)
class Job:
    """A job of the schedule. `run` takes the moment the worker started it. An `exclusive`
    job runs on one host at a time, on a schedule shared through the database; the others
    run on every worker, on each worker's own schedule, being safe together (the email and
    xAPI senders claim what they send)."""

    name: str
    every: timedelta
    run: Callable[[datetime], JobResult] = field(compare=False)
    exclusive: bool = False
    retry: timedelta = DEFAULT_RETRY

    def __post_init__(self):
        if self.every <= timedelta(0):
            raise ValueError(f"{self.name}: a job's interval must be more than nothing")


@dataclass(frozen=True, slots=True)
class LastRun:
    """When a job's last run started, and whether it failed."""

    started_at: datetime | None = None
    failed: bool = False


NEVER_RUN = LastRun()


def next_due(job: Job, last: LastRun) -> datetime | None:
    """When the job is next due; None when it has never run, so is due at once."""
    if last.started_at is None:
        return None
    wait = min(job.every, job.retry) if last.failed else job.every
    return last.started_at + wait


def is_due(job: Job, last: LastRun, now: datetime) -> bool:
    due = next_due(job, last)
    return due is None or due <= now


def seconds_until_next(jobs: list[Job], last_runs: dict[str, LastRun], now: datetime,
                       longest: float) -> float:
    """How long the worker may sleep: until the first of `jobs` falls due, at most
    `longest` seconds, never less than nothing."""
    wait = longest
    for job in jobs:
        due = next_due(job, last_runs.get(job.name, NEVER_RUN))
        wait = min(wait, 0.0 if due is None else (due - now).total_seconds())
    return max(wait, 0.0)
