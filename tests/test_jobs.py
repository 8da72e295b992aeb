"""The scheduled jobs' worker against the database: the retention purge's lease and shared
schedule, two worker loops racing for it, and `flask --app app jobs run --once`."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import User
from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import Database, begin_writing
from jesip_learn.jobs import catalogue, leases
from jesip_learn.jobs.models import ScheduledJobRun
from jesip_learn.jobs.schedule import Job, JobResult
from jesip_learn.jobs.worker import Worker
from jesip_learn.records import personal_data as records
from jesip_learn.records.models import AuditEvent
from tests.support.database import configured_url, drop_sibling_database, migrate, sibling_database
from tests.support.factories import make_organisation, make_user

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
DAILY = timedelta(hours=24)


class FakeClock:
    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


def counting_job(ran: list, *, exclusive=True, run=None) -> Job:
    def record(now):
        ran.append(now)
        return run(now) if run else JobResult("done")
    return Job("records-purge", DAILY, record, exclusive=exclusive)


def test_an_exclusive_job_runs_on_a_schedule_every_worker_shares(transactional_db):
    clock, ran = FakeClock(), []
    first = Worker(transactional_db, [counting_job(ran)], clock=clock, holder="host-a")
    second = Worker(transactional_db, [counting_job(ran)], clock=clock, holder="host-b")
    assert [o.job for o in first.run_due()] == ["records-purge"]
    clock.advance(hours=1)
    assert second.run_due() == [] and first.run_due() == []
    clock.advance(hours=23)
    assert [o.job for o in second.run_due()] == ["records-purge"]
    assert first.run_due() == []
    assert ran == [START, START + DAILY]
    with transactional_db.session() as session:
        row = session.get(ScheduledJobRun, "records-purge")
        assert (row.held_by, row.held_until, row.last_started_at) == (None, None, START + DAILY)
        assert row.last_outcome == "done" and not row.last_failed


def test_a_lease_held_by_a_worker_that_died_runs_out(transactional_db):
    clock, ran = FakeClock(), []
    job = counting_job(ran)
    with transactional_db.write_session() as session:
        assert leases.claim(session, job, "dead-host", START)  # never given back
    worker = Worker(transactional_db, [job], clock=clock, holder="host-b")
    clock.advance(minutes=59)
    assert worker.run_due() == []
    clock.advance(minutes=1, seconds=1)
    assert [o.ok for o in worker.run_due()] == [True] and len(ran) == 1


def test_a_failed_exclusive_run_is_recorded_and_tried_again_after_the_retry_wait(
        transactional_db):
    clock, calls = FakeClock(), []

    def flaky(now):
        if not calls:
            calls.append(now)
            raise RuntimeError("disk full")
        calls.append(now)
        return JobResult("done")

    worker = Worker(transactional_db, [Job("records-purge", DAILY, flaky, exclusive=True)],
                    clock=clock)
    assert [o.ok for o in worker.run_due()] == [False]
    with transactional_db.session() as session:
        row = session.get(ScheduledJobRun, "records-purge")
        assert row.last_failed and "disk full" in row.last_outcome and row.held_by is None
    clock.advance(minutes=5)
    assert [o.ok for o in worker.run_due()] == [True]
    assert len(calls) == 2


# --- two worker loops, one database ---------------------------------------------------------

LEAVERS = 3


@pytest.fixture
def shared_database(tmp_path):
    """A database the loops commit to for real: a sibling of the configured PostgreSQL
    database, else SQLite in a file."""
    configured = configured_url()
    if configured and configured.startswith("postgresql"):
        url = sibling_database(configured, "jobs_races")
    else:
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    migrate(url)
    database = Database(url)
    with database.write_session() as session:
        organisation = make_organisation(session, name="Race Police")
        for number in range(LEAVERS):
            leaver = make_user(session, organisation=organisation, name=f"Leaver {number}")
            leaver.is_active, leaver.deactivated_at = False, utcnow() - timedelta(days=3650)
        # The purge last ran yesterday: the loops race for the row's lock, not to create it.
        session.add(ScheduledJobRun(name="records-purge", last_failed=False, last_outcome="",
                                    last_started_at=utcnow() - timedelta(hours=25)))
    yield database
    database.dispose()
    if url.startswith("postgresql"):
        drop_sibling_database(url)


def test_a_second_claim_waits_for_the_first_and_then_finds_the_job_taken(shared_database):
    job = Job("records-purge", DAILY, lambda now: JobResult("done"), exclusive=True)
    now, answers = utcnow(), []
    first = shared_database.session()
    begin_writing(first)
    assert leases.claim(first, job, "host-a", now)

    def second_claim():
        with shared_database.write_session() as session:
            answers.append(leases.claim(session, job, "host-b", now))

    second = threading.Thread(target=second_claim)
    second.start()
    second.join(timeout=0.5)
    assert second.is_alive()  # waiting for the first claim's lock
    first.commit()
    first.close()
    second.join(timeout=10)
    assert answers == [False]


@pytest.mark.parametrize("exclusive", [True, pytest.param(False, marks=pytest.mark.xfail(
    strict=True, reason="without the lease both loops purge: shows the race is real"))])
def test_two_worker_loops_on_one_database_run_the_purge_once(shared_database, exclusive):
    purge = catalogue.site_jobs(shared_database, {"JOBS_NOTIFY_MINUTES": "0",
                                                  "JOBS_XAPI_SECONDS": "0"}, None, None)[0]
    assert purge.name == "records-purge"
    started = threading.Barrier(2)

    runs = []

    def slow_purge(now):  # both loops are surely inside their rounds together
        runs.append(now)
        result = purge.run(now)
        time.sleep(0.2)
        return result

    job = Job(purge.name, purge.every, slow_purge, exclusive=exclusive)
    stop, errors = threading.Event(), []

    def loop():
        try:
            worker = Worker(shared_database, [job], longest_sleep=0.02)
            started.wait(timeout=10)
            worker.run(stop)
        except Exception as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=loop) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(runs) == 1
    with shared_database.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "records.purged")) == 1
        assert session.scalar(select(func.count()).select_from(User)
                              .where(User.name.like("Former user %"))) == LEAVERS


# --- the command ------------------------------------------------------------------------------


def test_jobs_run_once_runs_what_is_due_and_says_what_it_did(app, session, make, organisation):
    leaver = make.user(organisation=organisation, name="Cleo Command")
    leaver.is_active, leaver.deactivated_at = False, utcnow() - timedelta(days=365 * 7)
    session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "run", "--once"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("notify-send\tok\tNotifications: 0 recorded, 0 sent")
    assert lines[1].startswith("records-purge\tok\tRecords: 1 person who left before")
    assert len(lines) == 2  # no xAPI job: XAPI_ENDPOINT is not set
    session.expire_all()
    assert session.get(User, leaver.id).name == f"Former user {leaver.id}"
    # The purge ran today, on the schedule every worker shares; the sender runs each time.
    result = runner.invoke(args=["jobs", "run", "--once"])
    assert result.exit_code == 0
    assert [line.split("\t")[0] for line in result.output.splitlines()] == ["notify-send"]


def test_jobs_run_once_exits_1_when_a_job_fails_and_still_runs_the_others(app, monkeypatch):
    def broken(session, **kwargs):
        raise RuntimeError("the purge broke")

    monkeypatch.setattr(records, "purge", broken)
    app.config["JOBS_NOTIFY_MINUTES"] = "0"
    app.config["JOBS_PURGE_HOURS"] = "24"
    result = app.test_cli_runner().invoke(args=["jobs", "run", "--once"])
    assert result.exit_code == 1
    assert "records-purge\tFAILED\tfailed: RuntimeError: the purge broke" in result.output


def test_jobs_run_refuses_wrong_settings_before_running_anything(app):
    app.config["JOBS_PURGE_HOURS"] = "daily"
    result = app.test_cli_runner().invoke(args=["jobs", "run", "--once"])
    assert result.exit_code != 0
    assert "JOBS_PURGE_HOURS must be a whole number of hours" in result.output
    app.config["JOBS_PURGE_HOURS"] = "24"
    app.config["RECORDS_RETENTION_YEARS"] = "0"
    result = app.test_cli_runner().invoke(args=["jobs", "run", "--once"])
    assert result.exit_code != 0 and "at least 1" in result.output


def test_jobs_run_once_with_nothing_due_says_so(app):
    app.config["JOBS_NOTIFY_MINUTES"] = "0"
    app.config["JOBS_PURGE_HOURS"] = "0"
    result = app.test_cli_runner().invoke(args=["jobs", "run", "--once"])
    assert result.exit_code == 0 and result.output == "No job was due.\n"
