"""`flask --app app db …`: migrations, and the helpers every command group uses."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import current_app
from flask.cli import AppGroup

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


def _moment(_context, _parameter, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use an ISO 8601 date and time, such as "
                                 "2027-03-31T09:00:00+00:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
