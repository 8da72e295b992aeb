"""The dry run's vocabulary, shared by both kinds of import: what each row would do
(`RowPlan`, its `Outcome`), the plan of a whole file (`ImportPlan`) with the fingerprint
that applying checks, and the reading of rows common to both kinds (the email address, and
the people the rows name, locked when applying).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from jesip_learn.accounts.details import AccountError, normalise_email
from jesip_learn.accounts.models import Organisation, User
from jesip_learn.courses.models import Course
from jesip_learn.imports.csv_files import ImportKind

CHUNK = 500  # values per IN (...) list


class Outcome(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    RECORDED = "recorded"  # a completion already recorded
    ERROR = "error"


CHANGES = (Outcome.CREATE, Outcome.UPDATE)


@dataclass(slots=True)
class RowPlan:
    """What one row would do: its outcome, the changes it makes, or its errors."""

    line: int
    values: dict[str, str]
    outcome: Outcome = Outcome.ERROR
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # What the row resolved to, for applying it.
    email: str = ""
    name: str = ""
    user: User | None = None
    organisation: Organisation | None = None
    command_role: str = ""
    course: Course | None = None
    completed_on: date | None = None
    # People: when they joined and left, as the row states; completions: the start of the
    # person's first membership, moved back to this completion's day.
    joined_on: date | None = None
    left_on: date | None = None
    counts_from: datetime | None = None
    # People: permissions the row gives besides learner (added, never taken away).
    permissions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportPlan:
    kind: ImportKind
    rows: tuple[RowPlan, ...]
    ignored_columns: tuple[str, ...] = ()

    def count(self, outcome: Outcome) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {outcome.value: self.count(outcome) for outcome in Outcome}

    @property
    def change_count(self) -> int:
        return sum(1 for row in self.rows if row.outcome in CHANGES)

    @property
    def error_rows(self) -> list[RowPlan]:
        return [row for row in self.rows if row.outcome == Outcome.ERROR]

    @property
    def digest(self) -> str:
        """A fingerprint of everything the dry run shows: applying checks it is unchanged."""
        shown = [(row.line, row.outcome, row.changes, row.errors) for row in self.rows]
        return hashlib.sha256(json.dumps([self.kind, shown]).encode()).hexdigest()


def read_email(row: RowPlan) -> None:
    raw = row.values["email"]
    if not raw:
        row.errors.append("Email address is missing")
        return
    try:
        row.email = normalise_email(raw)
    except AccountError:
        row.errors.append(f"“{raw}” is not a valid email address")


def users_by_email(session: Session, emails: set[str], lock: bool) -> dict[str, User]:
    ids: list[int] = []
    ordered = sorted(emails)
    for start in range(0, len(ordered), CHUNK):
        ids += session.scalars(select(User.id).where(
            func.lower(User.email).in_(ordered[start:start + CHUNK])))
    found: dict[str, User] = {}
    ids.sort()
    for start in range(0, len(ids), CHUNK):
        query = (select(User).where(User.id.in_(ids[start:start + CHUNK])).order_by(User.id)
                 .options(selectinload(User.organisation), selectinload(User.grants)))
        if lock:
            query = query.with_for_update(of=User)
        for user in session.scalars(query):
            found[user.email.lower()] = user
    return found
