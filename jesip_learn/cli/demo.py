"""`flask --app app demo …`: fill a separate database with invented people (`demo_data`)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from jesip_learn.accounts.models import Permission
from jesip_learn.cli import demo_data as demo
from jesip_learn.cli.database import database

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
