"""Command-line tools: `flask --app app <group> <command>`. Thin: parse, call, print.

One module per command group: `database` (db, and the helpers the others share),
`accounts` (organisations, users), `courses`, `demo` (with its data in `demo_data`),
`scheduled` (xapi, notify, records, jobs) and `import_commands` (imports, run by `imports`).
"""

from __future__ import annotations

from flask import Flask

from jesip_learn.cli.accounts import organisations_group, users_group
from jesip_learn.cli.courses import courses_group
from jesip_learn.cli.database import alembic_config, db_group
from jesip_learn.cli.demo import demo_group
from jesip_learn.cli.import_commands import imports_group
from jesip_learn.cli.scheduled import jobs_group, notify_group, records_group, xapi_group

__all__ = ["alembic_config", "register_commands"]


def register_commands(app: Flask) -> None:
    for group in (db_group, organisations_group, users_group, courses_group,
                  demo_group, xapi_group, notify_group, records_group, imports_group,
                  jobs_group):
        app.cli.add_command(group)
