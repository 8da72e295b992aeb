"""This site's scheduled jobs, from its settings:

- `notify-send`, every JOBS_NOTIFY_MINUTES (10): record the reminders, digests and scheduled
  reports that are due and send what waits (`notify send`);
- `xapi-send`, every JOBS_XAPI_SECONDS (30), when XAPI_ENDPOINT is set: post the outbox to
  the learning record store (`xapi send`);
- `records-purge`, every JOBS_PURGE_HOURS (24), on one host at a time: anonymise the people
  who left more than RECORDS_RETENTION_YEARS ago (`records purge`).

0 turns a job off (for a site that still runs it from cron, say).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from jesip_learn.core.db import Database
from jesip_learn.core.mail import Mailer
from jesip_learn.jobs.schedule import Job, JobResult
from jesip_learn.notifications import sender as notify_sender
from jesip_learn.notifications import settings as notify_settings
from jesip_learn.records import personal_data as records
from jesip_learn.xapi import sender as xapi_sender
from jesip_learn.xapi.settings import XapiSettings

INTERVAL_SETTINGS = {  # setting: (job, unit, default)
    "JOBS_NOTIFY_MINUTES": ("notify-send", "minutes", 10),
    "JOBS_XAPI_SECONDS": ("xapi-send", "seconds", 30),
    "JOBS_PURGE_HOURS": ("records-purge", "hours", 24),
}


class JobSettingsError(ValueError):
    pass


def interval(config: Mapping, setting: str) -> timedelta | None:
    """The setting's interval; None when it is 0 (the job is off)."""
    _job, unit, default = INTERVAL_SETTINGS[setting]
    raw = config.get(setting)
    try:
        count = int(default if raw is None or str(raw).strip() == "" else raw)
    except ValueError:
        raise JobSettingsError(f"{setting} must be a whole number of {unit}, or 0 to turn "
                               f"the job off (it is {raw!r})") from None
    if count < 0:
        raise JobSettingsError(f"{setting} must be a whole number of {unit}, or 0 to turn "
                               f"the job off (it is {raw!r})")
    return timedelta(**{unit: count}) if count else None


def site_jobs(database: Database, config: Mapping, mailer: Mailer,
              xapi_settings: XapiSettings) -> list[Job]:
    """The jobs to run, each on its interval; settings that are wrong raise
    JobSettingsError, naming the setting, before anything runs."""
    jobs = []
    if every := interval(config, "JOBS_NOTIFY_MINUTES"):
        try:
            notifications = notify_settings.settings_from_config(config)
        except notify_settings.NotificationSettingsError as error:
            raise JobSettingsError(str(error)) from None
        jobs.append(Job("notify-send", every, _notify(database, notifications, mailer)))
    if (every := interval(config, "JOBS_XAPI_SECONDS")) and xapi_settings.enabled:
        jobs.append(Job("xapi-send", every, _xapi(database, xapi_settings)))
    if every := interval(config, "JOBS_PURGE_HOURS"):
        try:
            years = records.retention_years(config)
        except ValueError as error:
            raise JobSettingsError(str(error)) from None
        jobs.append(Job("records-purge", every, _purge(database, years), exclusive=True))
    return jobs


def _notify(database, settings, mailer):
    def run(now: datetime) -> JobResult:
        report = notify_sender.send_due(database, settings, mailer)
        return JobResult(report.describe(), ok=not report.failure)
    return run


def _xapi(database, settings):
    def run(now: datetime) -> JobResult:
        report = xapi_sender.send_pending(database, settings)
        return JobResult(report.describe(), ok=not report.failure)
    return run


def _purge(database, years: int):
    def run(now: datetime) -> JobResult:
        with database.write_session() as session:
            result = records.purge(session, now=now, years=years)
        count = len(result.leavers)
        return JobResult(f"Records: {count} {'person' if count == 1 else 'people'} who left "
                         f"before {result.cutoff:%Y-%m-%d} anonymised")
    return run
