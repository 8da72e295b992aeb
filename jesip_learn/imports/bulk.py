"""Bulk import from CSV files, in two steps: people's accounts
(`jesip_learn.imports.people`) and course completions recorded by other systems
(`jesip_learn.imports.completions`).

The two steps are as the GOV.UK pattern for uploads has them. `read_upload`
(`jesip_learn.imports.csv_files`) checks the file as a whole and `start_import` keeps its
text in an `ImportBatch`, so nothing the browser sends later can change it. `plan_import`
is the dry run: it reads every row against the database as it is now and says what the
row would do, or what is wrong with it, without changing anything. `apply_import` claims
the batch once, plans again and, when the plan is still the one the importer saw, carries
it out.

Every row is matched to what already exists (a person by email address, a completion by
person, course, date and source), so importing the same file twice changes nothing the
second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.accounts.permissions import managed_organisation_ids
from jesip_learn.compliance.report_filters import today_in_london
from jesip_learn.core.columns import utcnow
from jesip_learn.imports import completions, people
from jesip_learn.imports.csv_files import ImportKind, ParsedFile, check_source, read_table
from jesip_learn.imports.models import ImportBatch
from jesip_learn.imports.plan import ImportPlan, Outcome
from jesip_learn.records.audit import record_event

# A dry run not applied within this time is discarded: upload the file again.
BATCH_LIFETIME = timedelta(hours=24)


class AlreadyApplied(Exception):
    """The batch has been applied already: by an earlier press of the button, say."""


class BatchExpired(Exception):
    pass


class PlanChanged(Exception):
    """The records changed since the dry run: applying now would not do what was shown."""


def start_import(session: Session, importer: User, kind: ImportKind, filename: str,
                 parsed: ParsedFile, source: str = "") -> ImportBatch:
    """Keep a checked file for its dry run. Batches older than a day go at the same time."""
    session.execute(delete(ImportBatch).where(ImportBatch.created_at < utcnow() - BATCH_LIFETIME))
    batch = ImportBatch(kind=kind, filename=(filename or "")[-255:], content=parsed.text,
                        source=check_source(source) if kind == ImportKind.COMPLETIONS else "",
                        created_by_id=importer.id)
    session.add(batch)
    session.flush()
    return batch


def importers_batch(session: Session, importer: User, batch_id: int) -> ImportBatch | None:
    """The batch, if this importer uploaded it: nobody else's is even said to exist."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.created_by_id != importer.id:
        return None
    return batch


def is_expired(batch: ImportBatch, now: datetime | None = None) -> bool:
    return batch.applied_at is None and batch.created_at < (now or utcnow()) - BATCH_LIFETIME


def plan_import(session: Session, batch: ImportBatch, importer: User, *,
                lock: bool = False, today: date | None = None) -> ImportPlan:
    """What applying the batch would do now, row by row. Changes nothing.

    With `lock`, the people the rows name are locked (in id order) until the transaction
    ends, so that two imports naming the same people run one after the other.
    """
    kind = ImportKind(batch.kind)
    parsed = read_table(batch.content, kind)
    scope = managed_organisation_ids(session, importer)
    if kind == ImportKind.USERS:
        rows = people.plan_rows(session, parsed.rows, scope, lock, today or today_in_london(),
                                importer)
    else:
        rows = completions.plan_rows(session, parsed.rows, scope, batch.source, lock,
                                     today or today_in_london())
    return ImportPlan(kind=kind, rows=tuple(rows), ignored_columns=parsed.ignored_columns)


@dataclass(frozen=True, slots=True)
class AppliedImport:
    batch: ImportBatch
    created: int
    updated: int
    unchanged: int
    skipped: int  # rows with errors
    # New accounts and the one-time token of the link that lets each choose a password (None
    # where their organisation requires single sign-on: they are told to sign in with it).
    new_accounts: tuple[tuple[User, str | None], ...] = ()


def apply_import(session: Session, batch: ImportBatch, importer: User, checked_digest: str,
                 *, address: str = "", today: date | None = None) -> AppliedImport:
    """Carry out the dry run the importer saw (its digest), once.

    AlreadyApplied when the batch was applied before; BatchExpired when it is too old;
    PlanChanged when the records changed since the dry run, in which case the caller rolls
    back (the batch was claimed) and shows the dry run again.
    """
    if is_expired(batch):
        raise BatchExpired
    claimed = session.execute(
        update(ImportBatch).where(ImportBatch.id == batch.id, ImportBatch.applied_at.is_(None))
        .values(applied_at=utcnow()).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise AlreadyApplied
    session.refresh(batch)
    plan = plan_import(session, batch, importer, lock=True, today=today)
    if plan.digest != checked_digest:
        raise PlanChanged
    new_accounts: tuple[tuple[User, str | None], ...] = ()
    if plan.kind == ImportKind.USERS:
        new_accounts = people.apply_rows(session, plan, importer, batch, address)
    else:
        completions.apply_rows(session, plan, importer, batch, address)
    applied = AppliedImport(batch=batch, created=plan.count(Outcome.CREATE),
                            updated=plan.count(Outcome.UPDATE),
                            unchanged=plan.count(Outcome.UNCHANGED) + plan.count(Outcome.RECORDED),
                            skipped=plan.count(Outcome.ERROR), new_accounts=new_accounts)
    batch.result = {"created": applied.created, "updated": applied.updated,
                    "unchanged": applied.unchanged, "skipped": applied.skipped,
                    "rows": len(plan.rows), "invited": len(new_accounts)}
    batch.content = ""  # the people's details are in their records now; keep no copy
    record_event(session, f"import.{plan.kind}", actor=importer, address=address,
                 organisation_id=importer.organisation_id,
                 summary=f"Imported {batch.filename}: {applied.created} created, "
                         f"{applied.updated} updated, {applied.skipped} rows skipped",
                 details={"batch": batch.id, "filename": batch.filename,
                          "source": batch.source, **batch.result})
    return applied
