"""Bulk imports run from the command line (`flask --app app imports people|completions`), for
administrators who script them.

The file goes through the same checks as on the import pages (`bulk_import`), row by row
with the same messages, and is applied by the same code, with the same audit entries, in
the name of an administrator or manager (`--as`), whose scope limits the rows as on the
pages. Unlike the pages, where the importer sees the check before choosing to apply, a
script cannot look first: so nothing is applied when any row is refused, unless the caller
asks for the good rows to be applied without the others (`skip_bad_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jesip_learn.accounts.details import AccountError, normalise_email
from jesip_learn.accounts.models import User
from jesip_learn.accounts.permissions import is_manager
from jesip_learn.imports import bulk as bulk_import
from jesip_learn.imports import csv_files
from jesip_learn.imports.bulk import AppliedImport
from jesip_learn.imports.csv_files import ImportKind
from jesip_learn.imports.models import ImportBatch
from jesip_learn.imports.plan import ImportPlan, Outcome

# Where the audit log says a command-line import came from, in place of an address.
AUDIT_ADDRESS = "command line"

PLANNED = {Outcome.CREATE: "will be created", Outcome.UPDATE: "will be updated",
           Outcome.UNCHANGED: "no change", Outcome.RECORDED: "already recorded",
           Outcome.ERROR: "error"}
APPLIED = {Outcome.CREATE: "created", Outcome.UPDATE: "updated", Outcome.UNCHANGED: "no change",
           Outcome.RECORDED: "already recorded", Outcome.ERROR: "skipped"}
NOT_APPLIED = {**PLANNED, Outcome.CREATE: "not created", Outcome.UPDATE: "not updated"}
COUNTED = {Outcome.CREATE: "to create", Outcome.UPDATE: "to update",
           Outcome.UNCHANGED: "unchanged", Outcome.RECORDED: "already recorded",
           Outcome.ERROR: "with errors"}


class ImporterError(ValueError):
    """The account named to act as the importer cannot import."""


def find_importer(session: Session, email: str) -> User:
    """The active administrator or manager with this email address, who the import is
    recorded under."""
    try:
        address = normalise_email(email)
    except AccountError:
        raise ImporterError(f"“{email}” is not a valid email address") from None
    user = session.scalar(select(User).where(func.lower(User.email) == address))
    if user is None:
        raise ImporterError(f"There is no account with the email address {address}")
    if not user.can_sign_in:
        raise ImporterError(f"The account {address} is {user.status}: name an active "
                            "administrator or manager")
    if not is_manager(user):
        raise ImporterError(f"{address} is not an administrator or manager: only they may "
                            "import")
    return user


@dataclass(frozen=True, slots=True)
class ImportRun:
    filename: str
    plan: ImportPlan
    dry_run: bool
    skip_bad_rows: bool
    applied: AppliedImport | None = None  # None: nothing was applied

    @property
    def refused_rows(self) -> int:
        return len(self.plan.error_rows)

    def row_lines(self) -> list[str]:
        """Each row's outcome, with its changes or its errors, as on the check page."""
        words = APPLIED if self.applied else NOT_APPLIED if not self.dry_run else PLANNED
        lines = []
        for row in self.plan.rows:
            details = row.errors or row.changes
            lines.append(f"line {row.line}: {words[row.outcome]}"
                         + (f": {'. '.join(details)}" if details else ""))
        return lines

    def summary(self) -> str:
        counts = ", ".join(f"{number:,} {COUNTED[outcome]}" for outcome, number in (
            (outcome, self.plan.count(outcome)) for outcome in Outcome) if number)
        if self.plan.ignored_columns:
            counts += f". Columns not used, ignored: {', '.join(self.plan.ignored_columns)}"
        text = f"{self.filename}: {_rows(len(self.plan.rows))} ({counts})."
        if self.dry_run:
            return text + " Dry run: nothing was changed."
        if self.applied is None and self.refused_rows and not self.skip_bad_rows:
            return (text + f" Nothing was imported: {_rows(self.refused_rows)} "
                    f"{'has' if self.refused_rows == 1 else 'have'} errors. Correct the file, "
                    "or run again with --skip-bad-rows to import the other rows.")
        if self.applied is None:
            return text + " Nothing to import: no row would change anything." + (
                f" {_rows(self.refused_rows)} with errors skipped (--skip-bad-rows)."
                if self.refused_rows else "")
        applied = self.applied
        text += (f" Imported: {applied.created:,} created, {applied.updated:,} updated, "
                 f"{applied.unchanged:,} unchanged.")
        if applied.skipped:
            text += f" {_rows(applied.skipped)} with errors skipped (--skip-bad-rows)."
        return text


def _rows(number: int) -> str:
    return f"{number:,} {'row' if number == 1 else 'rows'}"


def run_import(session: Session, importer: User, kind: ImportKind, filename: str, data: bytes,
               *, source: str = "", dry_run: bool = False, skip_bad_rows: bool = False,
               today: date | None = None) -> ImportRun:
    """Check the file and, unless it is a dry run or a row is refused (without
    `skip_bad_rows`), apply it. The caller commits when `applied` is set, and rolls back
    otherwise. ImportFileError for a problem with the file as a whole; PlanChanged when the
    records changed between the check and applying it."""
    parsed = csv_files.read_upload(filename, data, kind)
    if kind == ImportKind.COMPLETIONS:
        source = csv_files.check_source(source)
    if dry_run:
        # Kept out of the session: a dry run writes nothing, not even the batch.
        batch = ImportBatch(kind=kind, filename=filename, content=parsed.text, source=source,
                            created_by_id=importer.id)
    else:
        batch = bulk_import.start_import(session, importer, kind, filename, parsed, source)
    plan = bulk_import.plan_import(session, batch, importer, today=today)
    run = ImportRun(filename=filename, plan=plan, dry_run=dry_run, skip_bad_rows=skip_bad_rows)
    if dry_run or (plan.error_rows and not skip_bad_rows) or not plan.change_count:
        return run
    applied = bulk_import.apply_import(session, batch, importer, plan.digest,
                                       address=AUDIT_ADDRESS, today=today)
    return ImportRun(filename=filename, plan=plan, dry_run=False, skip_bad_rows=skip_bad_rows,
                     applied=applied)
