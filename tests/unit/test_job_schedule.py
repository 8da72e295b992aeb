"""The scheduler's decisions, with a fake clock: which jobs are due, how long the worker
sleeps, and that a job that raises neither stops the others nor its own next runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jesip_learn.jobs.catalogue import JobSettingsError, interval
from jesip_learn.jobs.schedule import Job, JobResult, LastRun, is_due, next_due, seconds_until_next
from jesip_learn.jobs.worker import Worker

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


def job(name="notify-send", every=timedelta(minutes=10), run=None, **kwargs) -> Job:
    return Job(name, every, run or (lambda now: JobResult("done")), **kwargs)


def test_a_job_that_never_ran_is_due_at_once():
    assert next_due(job(), LastRun()) is None
    assert is_due(job(), LastRun(), START)


def test_a_job_is_due_its_interval_after_its_last_run_started():
    last = LastRun(START)
    assert not is_due(job(), last, START + timedelta(minutes=9, seconds=59))
    assert is_due(job(), last, START + timedelta(minutes=10))
    assert next_due(job(every=timedelta(hours=24)), last) == START + timedelta(hours=24)


def test_a_failed_run_is_tried_again_after_the_retry_wait_when_that_is_sooner():
    daily = job(every=timedelta(hours=24), retry=timedelta(minutes=5))
    assert next_due(daily, LastRun(START, failed=True)) == START + timedelta(minutes=5)
    every_minute = job(every=timedelta(minutes=1), retry=timedelta(minutes=5))
    assert next_due(every_minute, LastRun(START, failed=True)) == START + timedelta(minutes=1)


def test_a_job_must_have_an_interval():
    with pytest.raises(ValueError, match="interval"):
        job(every=timedelta(0))


def test_the_worker_sleeps_until_the_first_job_falls_due_and_no_longer_than_its_longest():
    jobs = [job("a", timedelta(minutes=10)), job("b", timedelta(seconds=30))]
    last = {"a": LastRun(START), "b": LastRun(START)}
    assert seconds_until_next(jobs, last, START + timedelta(seconds=10), 60) == 20
    assert seconds_until_next(jobs, last, START + timedelta(seconds=10), 5) == 5
    assert seconds_until_next(jobs, {"a": LastRun(START)}, START, 60) == 0  # b never ran
    assert seconds_until_next(jobs, last, START + timedelta(hours=1), 60) == 0  # overdue


def test_the_worker_runs_each_job_on_its_own_interval():
    clock, ran = FakeClock(), []
    jobs = [job("notify-send", timedelta(minutes=10), lambda now: ran.append(("n", now))
                or JobResult("sent")),
            job("xapi-send", timedelta(seconds=30), lambda now: ran.append(("x", now))
                or JobResult("sent"))]
    worker = Worker(None, jobs, clock=clock)
    for _ in range(25):  # 12 minutes and a half, a round every 30 seconds
        worker.run_due()
        clock.advance(seconds=30)
    assert [now for name, now in ran if name == "n"] == [START, START + timedelta(minutes=10)]
    assert len([name for name, _ in ran if name == "x"]) == 25


def test_a_job_that_raises_does_not_stop_the_others_and_is_tried_again_after_its_retry():
    clock, ran = FakeClock(), []

    def broken(now):
        ran.append("broken")
        raise RuntimeError("the database is down")

    jobs = [job("broken", timedelta(hours=24), broken, retry=timedelta(minutes=5)),
            job("fine", timedelta(minutes=1), lambda now: ran.append("fine") or JobResult("ok"))]
    worker = Worker(None, jobs, clock=clock)
    outcomes = worker.run_due()
    assert [(o.job, o.ok) for o in outcomes] == [("broken", False), ("fine", True)]
    assert "RuntimeError: the database is down" in outcomes[0].summary
    clock.advance(minutes=4)
    assert [o.job for o in worker.run_due()] == ["fine"]
    clock.advance(minutes=1)
    assert [o.job for o in worker.run_due()] == ["broken", "fine"]
    assert ran.count("broken") == 2


def test_a_run_that_reports_a_failure_counts_as_failed():
    worker = Worker(None, [job(run=lambda now: JobResult("mail server down", ok=False))],
                    clock=FakeClock())
    assert [(o.ok, o.summary) for o in worker.run_due()] == [(False, "mail server down")]
    assert worker.last_runs["notify-send"].failed


def test_two_jobs_may_not_share_a_name():
    with pytest.raises(ValueError, match="share a name"):
        Worker(None, [job("a"), job("a")])


@pytest.mark.parametrize(("value", "expected"), [
    (None, timedelta(minutes=10)), ("", timedelta(minutes=10)), ("15", timedelta(minutes=15)),
    ("0", None)])
def test_interval_settings(value, expected):
    config = {} if value is None else {"JOBS_NOTIFY_MINUTES": value}
    assert interval(config, "JOBS_NOTIFY_MINUTES") == expected


@pytest.mark.parametrize("value", ["ten", "-1", "1.5"])
def test_a_wrong_interval_setting_is_named(value):
    with pytest.raises(JobSettingsError, match="JOBS_PURGE_HOURS must be a whole number of hours"):
        interval({"JOBS_PURGE_HOURS": value}, "JOBS_PURGE_HOURS")
