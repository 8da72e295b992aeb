"""`flask --app app organisations …` and `users …`: the shipped organisations, accounts and
the first administrator's link."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from jesip_learn.accounts import administration as account_administration
from jesip_learn.accounts import details as account_details
from jesip_learn.accounts import organisations as orgs
from jesip_learn.accounts.models import CommandRole, Organisation, Permission
from jesip_learn.cli.database import database

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
