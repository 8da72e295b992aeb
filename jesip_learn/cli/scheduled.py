"""`flask --app app xapi|notify|records|jobs …`: the scheduled work, run by hand or by the jobs
worker: sending xAPI statements and notifications, the retention purge."""

from __future__ import annotations

import signal
import sys
import threading
import time
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from jesip_learn.cli.database import _moment, database
from jesip_learn.core.columns import utcnow
from jesip_learn.jobs import catalogue as job_catalogue
from jesip_learn.jobs.worker import Worker
from jesip_learn.notifications import sender as notify_sender
from jesip_learn.notifications import settings as notify_settings
from jesip_learn.records import personal_data as records
from jesip_learn.xapi import sender as xapi_sender

xapi_group = AppGroup("xapi", help="xAPI statements for the learning record store "
                                   "(XAPI_ENDPOINT).")


@xapi_group.command("send", help="Send the statements waiting in the outbox to the learning "
                                 "record store; exit 1 when it could not be reached.")
@click.option("--loop", is_flag=True, help="Keep sending, every --interval seconds.")
@click.option("--interval", default=30, show_default=True, type=click.IntRange(min=1),
              help="Seconds between rounds with --loop.")
def xapi_send(loop: bool, interval: int):
    settings = current_app.extensions["xapi"]
    if not settings.enabled:
        raise click.ClickException("XAPI_ENDPOINT is not set: there is no learning record "
                                   "store to send to.")
    while True:
        report = xapi_sender.send_pending(database(), settings)
        click.echo(report.describe())
        if not loop:
            break
        time.sleep(interval)
    if report.failure:
        sys.exit(1)


notify_group = AppGroup("notify", help="Email notifications: reminders, digests and "
                                       "scheduled reports.")


@notify_group.command("send", help="Record every notification that is due and send what "
                                   "waits; safe from cron on several hosts at once. Exit 1 "
                                   "when the mail server failed.")
@click.option("--dry-run", is_flag=True, help="List what would be recorded; send nothing.")
@click.option("--now", "moment", callback=_moment,
              help="Act as if it were this moment (ISO 8601; UTC unless a zone is given).")
def notify_send(dry_run: bool, moment: datetime | None):
    try:
        settings = notify_settings.settings_from_config(current_app.config)
    except notify_settings.NotificationSettingsError as error:
        raise click.ClickException(str(error)) from None
    if dry_run:
        drafts = notify_sender.planned(database(), settings, moment)
        for draft in drafts:
            click.echo(f"{draft.kind}\t{draft.to_address}\t{draft.period}\t{draft.mail_subject}")
        click.echo(f"{len(drafts)} notification{'s' if len(drafts) != 1 else ''} would be "
                   "recorded (nothing sent).")
        return
    report = notify_sender.send_due(database(), settings, current_app.extensions["mailer"],
                                    now=(lambda: moment) if moment else utcnow)
    click.echo(report.describe())
    if report.failure:
        sys.exit(1)


records_group = AppGroup("records", help="Personal data: anonymising leavers after the "
                                         "retention period.")


@records_group.command("purge", help="Anonymise the people who left more than "
                                     "RECORDS_RETENTION_YEARS (6) years ago; their training "
                                     "records stay in the figures. Logged in the audit log.")
@click.option("--dry-run", is_flag=True, help="List who would be anonymised; change nothing.")
@click.option("--now", "moment", callback=_moment,
              help="Act as if it were this moment (ISO 8601; UTC unless a zone is given).")
def records_purge(dry_run: bool, moment: datetime | None):
    try:
        years = records.retention_years(current_app.config)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    with database().write_session() as session:
        result = records.purge(session, now=moment, years=years, dry_run=dry_run)
        for leaver in result.leavers:
            click.echo(f"account {leaver.user_id}\tleft {leaver.left_at:%Y-%m-%d}")
    count = len(result.leavers)
    people = "person" if count == 1 else "people"
    if dry_run:
        click.echo(f"{count} {people} left before {result.cutoff:%Y-%m-%d} and would be "
                   "anonymised (nothing changed).")
    else:
        click.echo(f"{count} {people} who left before {result.cutoff:%Y-%m-%d} anonymised.")


jobs_group = AppGroup("jobs", help="The scheduled jobs: notifications, xAPI sending and the "
                                   "retention purge.")


@jobs_group.command("run", help="Run every scheduled job when it is due, until stopped "
                                "(Ctrl-C or SIGTERM); safe on several hosts at once. With "
                                "--once, run what is due now and exit (1 when a job failed).")
@click.option("--once", is_flag=True, help="Run every job due now, once, then exit.")
def jobs_run(once: bool):
    try:
        jobs = job_catalogue.site_jobs(database(), current_app.config,
                                       current_app.extensions["mailer"],
                                       current_app.extensions["xapi"])
    except job_catalogue.JobSettingsError as error:
        raise click.ClickException(str(error)) from None
    worker = Worker(database(), jobs)
    if once:
        outcomes = worker.run_due()
        for outcome in outcomes:
            click.echo(f"{outcome.job}\t{'ok' if outcome.ok else 'FAILED'}\t{outcome.summary}")
        if not outcomes:
            click.echo("No job was due.")
        if not all(outcome.ok for outcome in outcomes):
            sys.exit(1)
        return
    stop = threading.Event()

    def stop_after_this_job(signum, _frame):
        if stop.is_set():  # asked twice: stop now, whatever is under way
            raise KeyboardInterrupt
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop_after_this_job)
    worker.run(stop)
