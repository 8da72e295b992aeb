"""The loop of `flask --app app jobs run`: run every job that is due, sleep until the next
one is, and again, until told to stop.

A job that raises is logged with its traceback and counts as a failed run (tried again
after its retry wait); the other jobs run all the same. An exclusive job first takes its
lease in the database (`leases`), in a short transaction of its own committed before the
job starts, and gives it back afterwards with how the run went.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import Database
from jesip_learn.jobs import leases
from jesip_learn.jobs.schedule import NEVER_RUN, Job, JobResult, LastRun, is_due, seconds_until_next

log = logging.getLogger("jesip_learn.jobs")

# Exclusive jobs are due on the database's schedule, which another host may move on, so the
# worker looks again at least this often however long its own jobs leave it asleep.
LONGEST_SLEEP_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Outcome:
    job: str
    ok: bool
    summary: str
    seconds: float


class Worker:
    def __init__(self, database: Database, jobs: Sequence[Job], *,
                 clock: Callable[[], datetime] = utcnow, holder: str | None = None,
                 lease: timedelta = leases.LEASE,
                 longest_sleep: float = LONGEST_SLEEP_SECONDS):
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"two jobs share a name: {names}")
        self.database = database
        self.jobs = list(jobs)
        self.clock = clock
        self.holder = holder or leases.new_holder()
        self.lease = lease
        self.longest_sleep = longest_sleep
        self.last_runs: dict[str, LastRun] = {}  # this worker's own jobs (not exclusive)

    def run_due(self) -> list[Outcome]:
        """One round: every job due now, each in turn; what each did."""
        outcomes = []
        for job in self.jobs:
            outcome = self._run_if_due(job)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def run(self, stop: threading.Event) -> None:
        """Rounds until `stop` is set (a signal handler sets it); a job under way finishes."""
        log.info("Jobs: worker %s started: %s", self.holder, ", ".join(
            f"{job.name} every {_interval(job.every)}" for job in self.jobs))
        while not stop.is_set():
            self.run_due()
            stop.wait(self.seconds_to_sleep())
        log.info("Jobs: worker %s stopped", self.holder)

    def seconds_to_sleep(self) -> float:
        own = [job for job in self.jobs if not job.exclusive]
        return seconds_until_next(own, self.last_runs, self.clock(), self.longest_sleep)

    def _run_if_due(self, job: Job) -> Outcome | None:
        now = self.clock()
        try:
            if job.exclusive:
                if not self._claim(job, now):
                    return None
            elif not is_due(job, self.last_runs.get(job.name, NEVER_RUN), now):
                return None
        except Exception as error:  # the database is down, say: the other jobs still run
            log.exception("Jobs: could not check whether %s is due", job.name)
            return Outcome(job.name, False, f"could not check whether it is due: {error}", 0.0)
        started = time.monotonic()
        try:
            result = job.run(now)
        except Exception as error:
            log.exception("Jobs: %s failed", job.name)
            result = JobResult(f"failed: {type(error).__name__}: {error}", ok=False)
        outcome = Outcome(job.name, result.ok, result.summary, time.monotonic() - started)
        self._finish(job, now, outcome)
        return outcome

    def _claim(self, job: Job, now: datetime) -> bool:
        with self.database.write_session() as session:
            return leases.claim(session, job, self.holder, now, self.lease)

    def _finish(self, job: Job, started: datetime, outcome: Outcome) -> None:
        level = logging.INFO if outcome.ok else logging.WARNING
        log.log(level, "Jobs: ran %s in %.1f s: %s", job.name, outcome.seconds, outcome.summary)
        if not job.exclusive:
            self.last_runs[job.name] = LastRun(started, failed=not outcome.ok)
            return
        try:
            with self.database.write_session() as session:
                leases.release(session, job.name, self.holder, self.clock(),
                               failed=not outcome.ok, outcome=outcome.summary)
        except Exception:  # the lease runs out by itself; the next round tries again
            log.exception("Jobs: could not give back the lease of %s", job.name)


def _interval(every: timedelta) -> str:
    seconds = int(every.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
