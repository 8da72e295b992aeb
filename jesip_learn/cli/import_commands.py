"""`flask --app app imports people|completions`: the bulk imports from a script (`imports`
runs them)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app, render_template
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

from jesip_learn.accounts.models import User
from jesip_learn.cli import imports as command_line_imports
from jesip_learn.cli.database import database
from jesip_learn.core.db import begin_writing
from jesip_learn.core.mail import MailDeliveryError, OutgoingMail
from jesip_learn.imports import bulk as bulk_import
from jesip_learn.imports import csv_files
from jesip_learn.imports import people as people_import
from jesip_learn.web.auth import site_link

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


def _account_links(accounts) -> list[tuple[User, str | None, str]]:
    """Each new account with the link to choose its password (None where the organisation
    requires single sign-on) and the link to ask for a new one, from SITE_URL (the site
    refuses to start without it), never a guess."""
    forgot = site_link("auth.forgot_password")
    return [(user, site_link("auth.reset_password", token=token) if token else None, forgot)
            for user, token in accounts]


def _send_setup_emails(links: list[tuple[User, str | None, str]]) -> int:
    """Send each new person their link, as the import page does; how many could not be sent."""
    unsent = 0
    sign_in = site_link("sso.start")
    for user, link, forgot in links:
        text = render_template("mail/account_created.txt", user=user, link=link,
                               days=people_import.ACCOUNT_SETUP_LIFETIME.days, forgot_link=forgot,
                               sign_in_link=sign_in)
        try:
            current_app.extensions["mailer"].send(OutgoingMail(
                to=user.email, subject="Your JESIP Learn account", text=text))
        except MailDeliveryError:
            unsent += 1
    return unsent
