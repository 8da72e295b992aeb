"""Command-line tools: `flask --app app db|users|organisations ...`. Thin: parse, call, print."""

from __future__ import annotations

import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app, render_template
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from jesip_learn.accounts import administration as account_administration
from jesip_learn.accounts import details as account_details
from jesip_learn.accounts import organisations as orgs
from jesip_learn.accounts.models import CommandRole, Organisation, Permission, User
from jesip_learn.cli import demo
from jesip_learn.cli import imports as command_line_imports
from jesip_learn.content import gift, parse_course_files, write_course_folder
from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import begin_writing
from jesip_learn.core.mail import MailDeliveryError, OutgoingMail
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.packaging import FORMATS as PACKAGE_FORMATS
from jesip_learn.courses.packaging import PackageRefused
from jesip_learn.courses.packaging.versions import package_version, site_address
from jesip_learn.imports import bulk as bulk_import
from jesip_learn.imports import csv_files
from jesip_learn.imports import people as people_import
from jesip_learn.jobs import catalogue as job_catalogue
from jesip_learn.jobs.worker import Worker
from jesip_learn.notifications import sender as notify_sender
from jesip_learn.notifications import settings as notify_settings
from jesip_learn.records import personal_data as records
from jesip_learn.web.auth import site_link
from jesip_learn.xapi import sender as xapi_sender

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def database():
    return current_app.extensions["database"]


db_group = AppGroup("db", help="Database migrations.")


@db_group.command("upgrade", help="Apply migrations up to REVISION (default: the newest).")
@click.argument("revision", default="head")
def db_upgrade(revision: str):
    if database().url.startswith("sqlite:///"):
        Path(database().url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database().url), revision)


@db_group.command("downgrade", help="Undo migrations down to REVISION (default: one step).")
@click.argument("revision", default="-1")
def db_downgrade(revision: str):
    command.downgrade(alembic_config(database().url), revision)


@db_group.command("current", help="Show the database's migration.")
def db_current():
    command.current(alembic_config(database().url), verbose=True)


@db_group.command("revision", help="Write a new migration, compared against the models.")
@click.option("-m", "--message", required=True)
def db_revision(message: str):
    command.revision(alembic_config(database().url), message=message, autogenerate=True)


organisations_group = AppGroup("organisations", help="Organisations (agencies).")


@organisations_group.command("seed", help="Load the shipped list of UK emergency services.")
def organisations_seed():
    with database().write_session() as session:
        result = orgs.seed_reference_organisations(session)
    click.echo(f"Organisations: {result.created} added, {result.updated} updated; "
               f"{result.areas_created} areas added.")


users_group = AppGroup("users", help="User accounts.")


@users_group.command("create", help="Create a confirmed, approved account.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--organisation", required=True, help="The organisation's exact name.")
@click.option("--role", "command_role", type=click.Choice([r.value for r in CommandRole]),
              default=CommandRole.STAFF.value, show_default=True, help="Command role.")
@click.option("--permission", "permissions", multiple=True,
              type=click.Choice([p.value for p in Permission]),
              help="learner, trainer, manager or admin; repeat for several.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email, name, organisation, command_role, permissions, password_stdin):
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with database().write_session() as session:
        found = session.scalar(select(Organisation).where(Organisation.name == organisation))
        if found is None:
            raise click.ClickException(
                f"No organisation is called “{organisation}”. "
                "Run `flask --app app organisations seed`, or check the name on the "
                "Organisations page.")
        try:
            user = account_administration.create_user(
                session, email=email, name=name, password=password, organisation=found,
                command_role=command_role, permissions=set(permissions))
        except account_details.AccountError as error:
            raise click.ClickException(error.message) from error
        click.echo(f"Created {user.email} ({', '.join(sorted(user.permissions))}).")


@users_group.command("setup-link", help="Print a one-time link to create the first administrator.")
@click.option("--base-url", default=None, help="The site's address [default: SITE_URL]")
def users_setup_link(base_url: str | None):
    base_url = base_url or current_app.config["SITE_URL"]
    with database().write_session() as session:
        token = account_administration.issue_first_administrator_token(session)
    if token is None:
        click.echo("This site has an administrator already: sign in at "
                   f"{base_url.rstrip('/')}/sign-in")
        return
    click.echo("No administrator yet. Open this one-time link (valid for 24 hours) to create one:")
    click.echo(f"    {base_url.rstrip('/')}/setup/{token}")


def register_commands(app: Flask) -> None:
    for group in (db_group, organisations_group, users_group, courses_group,
                  demo_group, xapi_group, notify_group, records_group, imports_group,
                  jobs_group):
        app.cli.add_command(group)


courses_group = AppGroup("courses", help="Courses written in Markdown (content-format.md).")


@courses_group.command("validate", help="Check a course folder, or a folder of courses.")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def courses_validate(path: Path):
    parsed = courses.parse_folders(path)
    if not parsed:
        raise click.ClickException(f"No course found in {path}: a course folder holds course.md")
    problems = [str(p) for _slug, result in parsed for p in result.problems]
    # Item-writing flaws are worth fixing but never stop an import: after the problems,
    # and they alone leave the exit status 0.
    warnings = [f"{w.path}:{w.line}: warning: {w.message}"
                for _slug, result in parsed for w in result.warnings]
    for line in problems + warnings:
        click.echo(line)
    if problems:
        raise SystemExit(1)
    click.echo(f"{len(parsed)} {'course' if len(parsed) == 1 else 'courses'} valid: "
               + ", ".join(result.course.code for _slug, result in parsed)
               + (f" ({len(warnings)} warning{'' if len(warnings) == 1 else 's'})"
                  if warnings else ""))


@courses_group.command("import", help="Import a course folder, or a folder of courses: all "
                       "or nothing. Unchanged courses are left as they are.")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--needs-renewal", is_flag=True,
              help="Everyone must complete the new versions again.")
def courses_import(path: Path, needs_renewal: bool):
    parsed = courses.parse_folders(path)
    try:
        with database().write_session() as session:
            outcomes = courses.import_parsed(session, parsed, needs_renewal=needs_renewal)
    except courses.ImportRefused as refused:
        for line in refused.problems:
            click.echo(line, err=True)
        click.echo("Nothing was imported.", err=True)
        raise SystemExit(1) from None
    for outcome in outcomes:
        state = "imported as" if outcome.changed else "unchanged at"
        click.echo(f"{outcome.code}: {state} version {outcome.version_number}")


@courses_group.command("export", help="Write a course version back out as a folder.")
@click.argument("code")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--version", "number", type=int, help="Default: the published version.")
def courses_export(code: str, dest: Path, number: int | None):
    with database().session() as session:
        version = courses.find_version(session, code, number)
        if version is None:
            raise click.ClickException(f"No course {code}" + (f" version {number}"
                                                                if number else ""))
        if dest.exists() and any(dest.iterdir()):
            raise click.ClickException(f"{dest} is not empty: choose an empty or new folder")
        write_course_folder(courses.version_sources(version), dest, overwrite=True)
        click.echo(f"Wrote {version.course.code} version {version.number} to {dest}")


@courses_group.command("package", help="Write a course version as a package for another "
                       "learning system: SCORM 1.2, SCORM 2004 (4th edition) or cmi5.")
@click.argument("code")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--format", "package_format", type=click.Choice(list(PACKAGE_FORMATS)),
              default="scorm12", show_default=True)
@click.option("--version", "number", type=int, help="Default: the published version.")
def courses_package(code: str, out: Path, package_format: str, number: int | None):
    if not out.parent.is_dir():
        raise click.ClickException(f"{out.parent} is not a folder: make it first")
    site_url = site_address(current_app.config)
    try:
        with database().write_session() as session:
            package = package_version(session, code, package_format=package_format,
                                      number=number, site_url=site_url)
    except PackageRefused as refused:
        raise click.ClickException(refused.message) from None
    out.write_bytes(package.data)
    click.echo(f"Wrote {out} ({PACKAGE_FORMATS[package_format]}, {len(package.data):,} bytes)")
    click.echo("The quiz's answers are inside the package, where a browser can read them.")
    for item in package.skipped:
        click.echo(f"Left out: {item.title} ({item.reason})")


@courses_group.command("gift-import", help="Add the questions of a Moodle question bank (a "
                       "GIFT file) to a quiz page, new or existing; every question the "
                       "format cannot hold is listed with its line and skipped.")
@click.argument("bank", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("quiz", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--category", help="Only the questions of this category (and those under it).")
@click.option("--title", help="The quiz's title when the page is new (default: from its name).")
@click.option("--pass-mark", type=click.IntRange(0, 100), default=80, show_default=True,
              help="The pass mark when the page is new.")
def courses_gift_import(bank: Path, quiz: Path, category: str | None, title: str | None,
                        pass_mark: int):
    if not quiz.name.endswith(".quiz.md"):
        raise click.ClickException(f"{quiz} is not a quiz page: its name ends in .quiz.md, "
                                   "e.g. 07-imported.quiz.md")
    if not (quiz.parent / "course.md").is_file():
        raise click.ClickException(f"{quiz.parent} is not a course folder: it has no course.md")
    page = quiz.read_text(encoding="utf-8") if quiz.exists() else None
    default_title = quiz.name.removesuffix(".quiz.md").split("-", 1)[-1].replace("-", " ")
    try:
        result = gift.import_into_page(page, gift.read_bank(bank.read_bytes()),
                                       title=title or default_title.capitalize(),
                                       pass_mark=pass_mark, category=category)
    except gift.GiftRefused as refused:
        for skipped in gift.parse_gift(bank.read_text(errors="replace")).skipped:
            click.echo(skipped.describe(str(bank)))
        raise click.ClickException(refused.message) from None
    checked = parse_course_files({"course.md": b"---\ntitle: Check\ncode: CHECK\n---\n",
                                  quiz.name: result.text.encode()})
    problems = [str(p) for p in checked.problems if p.file == quiz.name]
    if problems:
        for line in problems:
            click.echo(line, err=True)
        raise click.ClickException(f"{quiz} would have problems, so it was left as it was.")
    quiz.write_text(result.text, encoding="utf-8")
    count = len(result.added)
    click.echo(f"Added {count} question{'s' if count != 1 else ''} to {quiz} from {bank}.")
    if result.categories:
        click.echo("Categories: " + "; ".join(f"{name or '(none)'} ({number})"
                                              for name, number in result.categories))
    for skipped in result.skipped:
        click.echo(skipped.describe(str(bank)))
    if result.skipped:
        click.echo(f"{len(result.skipped)} skipped: the quiz format cannot hold them.")


@courses_group.command("list", help="Courses with their published versions.")
def courses_list():
    with database().session() as session:
        found = courses.list_courses(session)
    if not found:
        click.echo("No courses yet. Import some with: flask --app app courses import courses/")
    for course in found:
        click.echo(f"{course.code:<16} v{course.version:<3} {course.title} "
                   f"({course.versions} {'version' if course.versions == 1 else 'versions'})")


demo_group = AppGroup("demo", help="Invented people and training records, to try the site "
                      "out. Never run these against a production database.")


@demo_group.command("seed", help="Fill the database with invented learners, managers, a "
                    "trainer and three years of training records. Needs the reference "
                    "organisations and the shipped courses; never for a production database.")
@click.option("--learners", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--seed", type=int, default=demo.DEFAULT_SEED, show_default=True,
              help="The same seed invents the same people and records.")
@click.option("--add", is_flag=True, help="Add more learners to a database that holds a demo.")
@click.option("--skip-if-seeded", is_flag=True,
              help="Change nothing, and succeed, when the database holds a demo already.")
def demo_seed(learners: int, seed: int, add: bool, skip_if_seeded: bool):
    def report(done: int, total: int) -> None:
        click.echo(f"  {done:,} of {total:,} learners", err=True)

    try:
        with database().write_session() as session:
            summary = demo.seed_demo(session, learners=learners, seed=seed, add=add,
                                     on_batch=report if learners > demo.BATCH else None)
    except demo.DemoRefused as refused:
        if refused.already_seeded and skip_if_seeded:
            click.echo("This database holds a demo already: leaving it as it is. "
                       "`flask --app app demo password` sets a new password for its accounts.")
            return
        raise click.ClickException(refused.message) from None
    click.echo(f"Demo data added: {summary.learners:,} learners, "
               f"{summary.completions:,} completions, {summary.progress_rows:,} progress rows.")
    _echo_demo_accounts(summary.password, summary.managers, summary.trainer)


@demo_group.command("password", help="Give every demo account a new password, printed once.")
def demo_password():
    with database().write_session() as session:
        password, changed = demo.set_demo_password(session)
        managers = demo.demo_staff(session, Permission.MANAGER)
        trainers = demo.demo_staff(session, Permission.TRAINER)
    if not changed:
        raise click.ClickException("This database holds no demo accounts.")
    click.echo(f"New password for {changed:,} demo accounts.")
    _echo_demo_accounts(password, managers, trainers[0] if trainers else None)


def _echo_demo_accounts(password: str, managers, trainer) -> None:
    click.echo(f"Every demo account signs in with the password:  {password}")
    click.echo("(It is shown only now. `flask --app app demo password` sets a new one.)")
    if managers:
        first = managers[0]
        click.echo(f"A manager ({first.organisation}):  {first.email}"
                   + (f"  (and {len(managers) - 1} more)" if len(managers) > 1 else ""))
    if trainer:
        click.echo(f"The trainer:  {trainer.email}")


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


def _moment(_context, _parameter, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use an ISO 8601 date and time, such as "
                                 "2027-03-31T09:00:00+00:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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


imports_group = AppGroup("imports", help="Bulk imports from CSV files, as on the import pages: "
                                         "people, and completions recorded elsewhere.")
IMPORT_HELP = ("Check FILE row by row and apply it, in the name of the administrator or manager "
               "given with --as. Nothing is applied when any row is refused, unless "
               "--skip-bad-rows; exit 1 when any row is refused.")
importer_option = click.option(
    "--as", "importer_email", required=True, metavar="EMAIL",
    help="The active administrator or manager the import is recorded under; a manager "
         "imports only into the organisations they manage.")
dry_run_option = click.option("--dry-run", is_flag=True,
                              help="Say what each row would do; change nothing.")
skip_option = click.option("--skip-bad-rows", is_flag=True,
                           help="Apply the rows without errors and skip the others.")
csv_file = click.argument("path", metavar="FILE",
                          type=click.Path(exists=True, dir_okay=False, path_type=Path))


@imports_group.command("people", help="Create or update people's accounts from FILE (columns: "
                       "name, email, organisation, command role, and optionally joined, "
                       "left). " + IMPORT_HELP)
@csv_file
@importer_option
@dry_run_option
@skip_option
def imports_people(path: Path, importer_email: str, dry_run: bool, skip_bad_rows: bool):
    _run_import(csv_files.ImportKind.USERS, path, importer_email, "", dry_run, skip_bad_rows)


@imports_group.command("completions", help="Record the completions in FILE (columns: email, "
                       "course code, completion date), made on another system. " + IMPORT_HELP)
@csv_file
@click.option("--source", required=True,
              help="Where the courses were completed, for example NCALT: shown with each.")
@importer_option
@dry_run_option
@skip_option
def imports_completions(path: Path, source: str, importer_email: str, dry_run: bool,
                        skip_bad_rows: bool):
    _run_import(csv_files.ImportKind.COMPLETIONS, path, importer_email, source, dry_run,
                skip_bad_rows)


def _run_import(kind, path: Path, importer_email: str, source: str, dry_run: bool,
                skip_bad_rows: bool) -> None:
    with path.open("rb") as file:
        data = file.read(csv_files.MAX_BYTES + 1)
    session = database().session()
    try:
        if not dry_run:
            begin_writing(session)
        importer = command_line_imports.find_importer(session, importer_email)
        run = command_line_imports.run_import(session, importer, kind, path.name, data,
                                              source=source, dry_run=dry_run,
                                              skip_bad_rows=skip_bad_rows)
        links = _account_links(run.applied.new_accounts) if run.applied else []
        if run.applied is not None:
            session.commit()
        else:
            session.rollback()
    except (command_line_imports.ImporterError, csv_files.ImportFileError) as error:
        session.rollback()
        raise click.ClickException(f"{error} Nothing was imported.") from None
    except (bulk_import.PlanChanged, IntegrityError):
        session.rollback()
        raise click.ClickException("Records changed while the file was being imported, so "
                                   "nothing was imported. Run the command again.") from None
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    for line in run.row_lines():
        click.echo(line)
    click.echo(run.summary(), err=bool(run.refused_rows))
    unsent = _send_setup_emails(links)
    if links:
        people = "new person" if len(links) == 1 else "new people"
        click.echo(f"Emails to choose a password: {len(links) - unsent:,} of {len(links):,} "
                   f"{people} sent one."
                   + (f" {unsent:,} could not be sent: those people can use “Forgot your "
                      "password?” on the sign-in page." if unsent else ""))
    if run.refused_rows:
        sys.exit(1)


def _account_links(accounts) -> list[tuple[User, str, str]]:
    """Each new account with the link to choose its password and the link to ask for a new
    one, from SITE_URL (the site refuses to start without it), never a guess."""
    forgot = site_link("auth.forgot_password")
    return [(user, site_link("auth.reset_password", token=token), forgot)
            for user, token in accounts]


def _send_setup_emails(links: list[tuple[User, str, str]]) -> int:
    """Send each new person their link, as the import page does; how many could not be sent."""
    unsent = 0
    for user, link, forgot in links:
        text = render_template("mail/account_created.txt", user=user, link=link,
                               days=people_import.ACCOUNT_SETUP_LIFETIME.days, forgot_link=forgot)
        try:
            current_app.extensions["mailer"].send(OutgoingMail(
                to=user.email, subject="Your JESIP Learn account", text=text))
        except MailDeliveryError:
            unsent += 1
    return unsent


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
