"""Bulk import from CSV files: people's accounts, and course completions recorded by other
systems.

It takes two steps, as the GOV.UK pattern for uploads does. `read_upload` checks the file as
a whole (type, size, encoding, columns, number of rows) and `start_import` keeps its text in
an `ImportBatch`, so nothing the browser sends later can change it. `plan_import` is the
dry run: it reads every row against the database as it is now and says what the row would
do, or what is wrong with it, without changing anything. `apply_import` claims the batch
once, plans again and, when the plan is still the one the importer saw, carries it out.

Every row is matched to what already exists (a person by email address, a completion by
person, course, date and source), so importing the same file twice changes nothing the
second time.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from jesip_learn.accounts.models import (
    COMMAND_ROLE_LABELS,
    PERMISSION_LABELS,
    CommandRole,
    Organisation,
    Permission,
    PermissionGrant,
    TokenPurpose,
    User,
)
from jesip_learn.accounts.permissions import can_grant, managed_organisation_ids
from jesip_learn.accounts.transfers import move_user
from jesip_learn.accounts.users import AccountError, check_name, issue_token, normalise_email
from jesip_learn.compliance.status import today_in_london
from jesip_learn.core.columns import utcnow
from jesip_learn.core.typed_text import control_character_problem
from jesip_learn.courses.models import Course
from jesip_learn.imports import dates as import_dates
from jesip_learn.imports.models import ImportBatch
from jesip_learn.learning.models import Completion
from jesip_learn.learning.progress import add_months
from jesip_learn.records.audit import record_event

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_SOURCE_LENGTH = 200
# A dry run not applied within this time is discarded: upload the file again.
BATCH_LIFETIME = timedelta(hours=24)
# How long the link to choose a password, sent to each new account, works.
ACCOUNT_SETUP_LIFETIME = timedelta(days=7)
EARLIEST_COMPLETION = date(2000, 1, 1)
COMPLETION_TIME = time(12, 0)  # a completion known only by its date is recorded at noon UTC
CHUNK = 500  # values per IN (...) list


class ImportKind(StrEnum):
    USERS = "users"
    COMPLETIONS = "completions"


class Outcome(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    RECORDED = "recorded"  # a completion already recorded
    ERROR = "error"


CHANGES = (Outcome.CREATE, Outcome.UPDATE)


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str  # as written in the template's header row
    optional: bool = False  # a file may leave it out


COLUMNS = {
    ImportKind.USERS: (Column("name", "name"), Column("email", "email"),
                       Column("organisation", "organisation"),
                       Column("command_role", "command role"),
                       Column("joined", "joined", optional=True),
                       Column("left", "left", optional=True),
                       Column("permissions", "permissions", optional=True)),
    ImportKind.COMPLETIONS: (Column("email", "email"), Column("course_code", "course code"),
                             Column("completion_date", "completion date")),
}


class ImportFileError(ValueError):
    """A problem with the file or the form as a whole, named by the form field it belongs to."""

    def __init__(self, message: str, field: str = "file"):
        super().__init__(message)
        self.field = field
        self.message = message


class AlreadyApplied(Exception):
    """The batch has been applied already: by an earlier press of the button, say."""


class BatchExpired(Exception):
    pass


class PlanChanged(Exception):
    """The records changed since the dry run: applying now would not do what was shown."""


# --- reading the file ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class ParsedFile:
    text: str
    rows: tuple[Row, ...]
    ignored_columns: tuple[str, ...] = ()


def header_key(text: str) -> str:
    """A column name as matched: any case, with or without spaces, underscores or hyphens."""
    return re.sub(r"[\s_\-]+", "", (text or "").strip().lstrip("\ufeff").lower())


def template_csv(kind: ImportKind) -> str:
    """The header row of an empty file of this kind, for people to fill in."""
    out = io.StringIO()
    csv.writer(out).writerow([column.label for column in COLUMNS[kind]])
    return out.getvalue()


def read_upload(filename: str, data: bytes, kind: ImportKind) -> ParsedFile:
    """The file's rows, or ImportFileError saying, in words for the importer, what is wrong."""
    if not (filename or "").lower().endswith(".csv"):
        raise ImportFileError("The selected file must be a CSV file. In a spreadsheet, use "
                              "Save As and choose “CSV UTF-8 (comma delimited)”.")
    if len(data) > MAX_BYTES:
        raise ImportFileError(f"The selected file must be smaller than {MAX_BYTES // 2**20} MB. "
                              "Split it into smaller files.")
    text = decode_text(data)
    if not text.strip():
        raise ImportFileError("The selected file is empty")
    return read_table(text, kind)


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without the byte order mark spreadsheets add), UTF-16 with its byte
    order mark, or else Windows-1252, the older default of Excel on Windows."""
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise ImportFileError("The selected file is a spreadsheet workbook, not a CSV file. "
                              "Use Save As and choose “CSV UTF-8 (comma delimited)”.")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _text_only(data.decode("utf-16"))
        except UnicodeDecodeError:
            pass
    else:
        try:
            return _text_only(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            try:
                return _text_only(data.decode("cp1252"))
            except UnicodeDecodeError:
                pass
    raise ImportFileError("The characters in the selected file cannot be read. Save it as "
                          "“CSV UTF-8 (comma delimited)” and upload it again.")


def _text_only(text: str) -> str:
    if "\x00" in text:
        raise ImportFileError("The selected file is not a CSV file: it holds binary data")
    return text


def read_table(text: str, kind: ImportKind) -> ParsedFile:
    lines = text.splitlines()
    first = lines[0] if lines else ""
    # Spreadsheets in some languages separate with semicolons; UTF-16 text uses tabs.
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, [])
        keys = _column_keys(header, kind)
        rows, previous_line = [], reader.line_num
        for cells in reader:
            line, previous_line = previous_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, and rows of empty cells a spreadsheet leaves
            values = dict.fromkeys((column.key for column in COLUMNS[kind]), "")
            values.update({key: cells[index].strip() if index < len(cells) else ""
                           for key, index in keys.items()})
            rows.append(Row(line, values))
            if len(rows) > MAX_ROWS:
                count = len(rows) + sum(1 for more in reader if any(c.strip() for c in more))
                raise ImportFileError(
                    f"The selected file has {count:,} rows. Import at most {MAX_ROWS:,} rows "
                    "at a time: split the file into smaller ones.")
    except csv.Error as error:
        raise ImportFileError(f"The selected file could not be read as CSV: {error} "
                              f"(line {reader.line_num})") from error
    if not rows:
        raise ImportFileError("The selected file has no rows below its header row")
    known = {header_key(column.label) for column in COLUMNS[kind]}
    ignored = tuple(name.strip() for name in header
                    if name.strip() and header_key(name) not in known)
    return ParsedFile(text=text, rows=tuple(rows), ignored_columns=ignored)


def _column_keys(header: list[str], kind: ImportKind) -> dict[str, int]:
    """Each column's key → its position in the file's header row."""
    positions: dict[str, int] = {}
    for column in COLUMNS[kind]:
        found = [i for i, name in enumerate(header) if header_key(name) == header_key(column.label)]
        if len(found) > 1:
            raise ImportFileError(f"The selected file has {len(found)} columns called "
                                  f"“{column.label}”: keep one")
        if found:
            positions[column.key] = found[0]
    missing = [column.label for column in COLUMNS[kind]
               if column.key not in positions and not column.optional]
    if missing:
        names = " and ".join(", ".join(f"“{m}”" for m in missing).rsplit(", ", 1))
        expected = ", ".join(column.label for column in COLUMNS[kind] if not column.optional)
        raise ImportFileError(
            f"The selected file is missing the {'column' if len(missing) == 1 else 'columns'} "
            f"{names}. Its first row must name the columns: {expected}.")
    return positions


def check_source(text: str | None) -> str:
    problem = control_character_problem(text or "", "Where the completions were recorded")
    if problem:
        raise ImportFileError(problem, field="source")
    source = " ".join((text or "").split())
    if not source:
        raise ImportFileError("Enter where these completions were recorded, for example NCALT",
                              field="source")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ImportFileError(f"Where the completions were recorded must be "
                              f"{MAX_SOURCE_LENGTH} characters or fewer", field="source")
    return source


# --- keeping the file between the dry run and applying it ------------------------------


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


# --- the dry run ---------------------------------------------------------------------


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
        rows = _plan_users(session, parsed.rows, scope, lock, today or today_in_london(),
                           importer)
    else:
        rows = _plan_completions(session, parsed.rows, scope, batch.source, lock,
                                 today or today_in_london())
    return ImportPlan(kind=kind, rows=tuple(rows), ignored_columns=parsed.ignored_columns)


def _read_email(row: RowPlan) -> None:
    raw = row.values["email"]
    if not raw:
        row.errors.append("Email address is missing")
        return
    try:
        row.email = normalise_email(raw)
    except AccountError:
        row.errors.append(f"“{raw}” is not a valid email address")


def _users_by_email(session: Session, emails: set[str], lock: bool) -> dict[str, User]:
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


def _lines(numbers: list[int]) -> str:
    words = [str(n) for n in numbers]
    return words[0] if len(words) == 1 else " and ".join([", ".join(words[:-1]), words[-1]])


# --- people ----------------------------------------------------------------------------


def role_from_text(text: str) -> str | None:
    """A command role from its value ("control-room") or label ("Control room"), any case."""
    key = header_key(text)
    for role in CommandRole:
        if key in (header_key(role.value), header_key(COMMAND_ROLE_LABELS[role])):
            return role.value
    return None


ROLE_HINT = ", ".join(role.value for role in CommandRole)


def _plan_users(session: Session, rows: tuple[Row, ...], scope: set[int] | None,
                lock: bool, today: date, importer: User) -> list[RowPlan]:
    organisations = {org.name.casefold(): org for org in session.scalars(select(Organisation))}
    plans = [RowPlan(row.line, row.values) for row in rows]
    for plan in plans:
        _read_user_row(plan, organisations, scope)
        _read_permissions(plan, importer)
        import_dates.read_dates(plan, today)
    by_email: dict[str, list[int]] = defaultdict(list)
    for plan in plans:
        if plan.email:
            by_email[plan.email].append(plan.line)
    existing = _users_by_email(session, set(by_email), lock)
    for plan in plans:
        lines = by_email.get(plan.email, [])
        if len(lines) > 1:
            others = [n for n in lines if n != plan.line]
            plan.errors.append(f"The same email address is also on line {_lines(others)}: "
                               "each person must be on one row only")
        plan.user = existing.get(plan.email)
        if plan.user is not None and scope is not None and plan.user.organisation_id not in scope:
            plan.errors.append("This email address belongs to an account in an organisation "
                               "you do not manage")
        if not plan.errors:
            import_dates.check_dates(session, plan, importer)
        if plan.errors:
            plan.outcome = Outcome.ERROR
        elif plan.user is None:
            plan.outcome = Outcome.CREATE
            plan.changes = import_dates.new_person_changes(plan)
            if plan.permissions:
                plan.changes.append(f"Permissions: learner, {_permission_words(plan.permissions)}")
        else:
            plan.changes = _user_changes(plan) + import_dates.changes(session, plan)
            plan.outcome = Outcome.UPDATE if plan.changes else Outcome.UNCHANGED
    return plans


def _read_user_row(plan: RowPlan, organisations: dict[str, Organisation],
                   scope: set[int] | None) -> None:
    values = plan.values
    if not values["name"]:
        plan.errors.append("Name is missing")
    elif problem := control_character_problem(values["name"], "Name"):
        plan.errors.append(problem)
    else:
        try:
            plan.name = check_name(values["name"])
        except AccountError:
            plan.errors.append("Name must be 200 characters or fewer")
    _read_email(plan)
    if not values["organisation"]:
        plan.errors.append("Organisation is missing")
    else:
        organisation = organisations.get(" ".join(values["organisation"].split()).casefold())
        if organisation is None:
            plan.errors.append(f"There is no organisation called “{values['organisation']}”")
        elif not organisation.is_active:
            plan.errors.append(f"{organisation.name} is no longer active")
        elif scope is not None and organisation.id not in scope:
            plan.errors.append(f"{organisation.name} is not an organisation you manage")
        else:
            plan.organisation = organisation
    if not values["command_role"]:
        plan.errors.append("Command role is missing")
    else:
        plan.command_role = role_from_text(values["command_role"]) or ""
        if not plan.command_role:
            plan.errors.append(f"“{values['command_role']}” is not a command role: use "
                               f"one of {ROLE_HINT}")


PERMISSION_HINT = "learner, trainer, manager or administrator"


def permission_from_text(text: str) -> str | None:
    """A permission from its value ("admin") or label ("Administrator"), any case."""
    key = header_key(text)
    for permission in Permission:
        if key in (header_key(permission.value), header_key(PERMISSION_LABELS[permission])):
            return permission.value
    return None


def _read_permissions(plan: RowPlan, importer: User) -> None:
    """The optional permissions column: names separated by commas, semicolons or spaces.
    Only administrators give more than learner, as on the account pages."""
    text = plan.values.get("permissions", "") or ""
    found = []
    for word in re.split(r"[,;|\s]+", text.strip()):
        if not word:
            continue
        permission = permission_from_text(word)
        if permission is None:
            plan.errors.append(f"“{word}” is not a permission: use {PERMISSION_HINT}")
        elif not can_grant(importer, permission):
            plan.errors.append(f"Only administrators can make people "
                               f"{PERMISSION_LABELS[Permission(permission)].lower()}s")
        elif permission != Permission.LEARNER and permission not in found:
            found.append(permission)
    plan.permissions = tuple(sorted(found))


def _new_permissions(plan: RowPlan) -> list[str]:
    held = plan.user.permissions if plan.user is not None else set()
    return [p for p in plan.permissions if p not in held]


def _permission_words(permissions) -> str:
    return ", ".join(PERMISSION_LABELS[Permission(p)].lower() for p in permissions)


def _user_changes(plan: RowPlan) -> list[str]:
    user, changes = plan.user, []
    if added := _new_permissions(plan):
        changes.append(f"Permissions: adds {_permission_words(added)}")
    if user.name != plan.name:
        changes.append(f"Name: {user.name} → {plan.name}")
    if user.organisation_id != plan.organisation.id:
        changes.append(f"Organisation: {user.organisation.name} → {plan.organisation.name}")
    if user.command_role != plan.command_role:
        changes.append(f"Command role: {COMMAND_ROLE_LABELS[CommandRole(user.command_role)]} "
                       f"→ {COMMAND_ROLE_LABELS[CommandRole(plan.command_role)]}")
    return changes


# --- completions -----------------------------------------------------------------------


def parse_completion_date(text: str, today: date) -> date:
    """A date written YYYY-MM-DD or DD/MM/YYYY, from 1 January 2000 to today."""
    return import_dates.read_day(text, today, "completion date", EARLIEST_COMPLETION)


def _long(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def completion_moment(day: date) -> datetime:
    return datetime.combine(day, COMPLETION_TIME, tzinfo=UTC)


def _plan_completions(session: Session, rows: tuple[Row, ...], scope: set[int] | None,
                      source: str, lock: bool, today: date) -> list[RowPlan]:
    plans = [RowPlan(row.line, row.values) for row in rows]
    for plan in plans:
        _read_email(plan)
    people = _users_by_email(session, {p.email for p in plans if p.email}, lock)
    courses = {course.code.casefold(): course for course in session.scalars(
        select(Course).options(selectinload(Course.published_version)))}
    recorded = _recorded_completions(session, {u.id for u in people.values()}, source)
    first_line: dict[tuple, int] = {}
    for plan in plans:
        if plan.email:
            plan.user = people.get(plan.email)
            if plan.user is None:
                plan.errors.append(f"There is no account with the email address {plan.email}")
            elif scope is not None and plan.user.organisation_id not in scope:
                plan.errors.append(f"{plan.email} belongs to someone in an organisation you do "
                                   "not manage")
        code = plan.values["course_code"]
        if not code:
            plan.errors.append("Course code is missing")
        else:
            plan.course = courses.get(code.casefold())
            if plan.course is None:
                plan.errors.append(f"There is no course with the code “{code}”")
        if not plan.values["completion_date"]:
            plan.errors.append("Completion date is missing")
        else:
            try:
                plan.completed_on = parse_completion_date(plan.values["completion_date"], today)
            except ValueError as error:
                plan.errors.append(str(error))
        if plan.errors:
            continue
        key = (plan.user.id, plan.course.id, plan.completed_on)
        if key in first_line:
            plan.errors.append(f"This row repeats line {first_line[key]}")
            continue
        first_line[key] = plan.line
        if key in recorded:
            plan.outcome = Outcome.RECORDED
        else:
            plan.outcome = Outcome.CREATE
            expires = _expiry(plan.course, plan.completed_on)
            plan.changes = [f"In date until {_long(expires.date())}" if expires
                            else "Does not expire"]
    import_dates.plan_backdating(session, [p for p in plans if p.outcome == Outcome.CREATE])
    return plans


def _expiry(course: Course, day: date) -> datetime | None:
    version = course.published_version
    if version is None or not version.validity_months:
        return None
    return add_months(completion_moment(day), version.validity_months)


def _recorded_completions(session: Session, user_ids: set[int], source: str) -> set[tuple]:
    """(user, course, date) of the completions already recorded from this source."""
    found, ordered = set(), sorted(user_ids)
    for start in range(0, len(ordered), CHUNK):
        for user_id, course_id, completed_at in session.execute(
            select(Completion.user_id, Completion.course_id, Completion.completed_at).where(
                Completion.user_id.in_(ordered[start:start + CHUNK]),
                func.lower(Completion.source) == source.lower())):
            found.add((user_id, course_id, completed_at.astimezone(UTC).date()))
    return found


# --- applying --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppliedImport:
    batch: ImportBatch
    created: int
    updated: int
    unchanged: int
    skipped: int  # rows with errors
    # New accounts and the one-time token of the link that lets each choose a password.
    new_accounts: tuple[tuple[User, str], ...] = ()


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
    new_accounts: tuple[tuple[User, str], ...] = ()
    if plan.kind == ImportKind.USERS:
        new_accounts = _apply_users(session, plan, importer, batch, address)
    else:
        _apply_completions(session, plan, importer, batch, address)
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


def _apply_users(session: Session, plan: ImportPlan, importer: User, batch: ImportBatch,
                 address: str) -> tuple[tuple[User, str], ...]:
    now, created = utcnow(), []
    for row in plan.rows:
        if row.outcome == Outcome.CREATE:
            # No password: the person chooses one through the link they are sent. The
            # importer vouches for them, so the account is approved and its address taken
            # as confirmed.
            user = User(name=row.name, email=row.email, password_hash="",
                        organisation=row.organisation, command_role=row.command_role,
                        email_confirmed_at=now, approved_at=now, approved_by_id=importer.id,
                        grants=_grants(row, (Permission.LEARNER.value, *row.permissions)),
                        **import_dates.new_account_dates(row))
            # "Invited" until they set a password (a leaver recorded for the reports is not
            # invited: they are deactivated).
            user.invited_at = now if user.is_active is not False else None
            session.add(user)
            created.append(user)
        elif row.outcome == Outcome.UPDATE:
            user = row.user
            before = _snapshot(user)
            moved = row.organisation.id != user.organisation.id
            if moved:  # a move, kept for old reports
                move_user(session, importer, user, row.organisation, address=address,
                          at=import_dates.move_moment(row))
            user.name, user.organisation = row.name, row.organisation
            user.command_role = row.command_role
            user.grants.extend(_grants(row, _new_permissions(row)))
            import_dates.apply_dates(session, row, user, moved=moved)
            record_event(session, "account.updated", actor=importer, subject=user,
                         address=address, summary="Updated by a bulk import",
                         details={"before": before, "after": _snapshot(user),
                                  "batch": batch.id})
    session.flush()
    accounts = []
    for user in created:
        record_event(session, "account.created", actor=importer, subject=user, address=address,
                     summary="Created by a bulk import",
                     details={"permissions": [Permission.LEARNER.value], "batch": batch.id,
                              **_membership_snapshot(user)})
        if user.is_active:  # a leaver recorded for the reports is not asked to sign in
            token = issue_token(session, TokenPurpose.PASSWORD_RESET, ACCOUNT_SETUP_LIFETIME,
                                user)
            accounts.append((user, token))
    return tuple(accounts)


def _grants(row: RowPlan, permissions) -> list[PermissionGrant]:
    """A manager named by an import manages the organisation of their row."""
    return [PermissionGrant(permission=p, organisation=row.organisation
                            if p == Permission.MANAGER else None) for p in permissions]


def _snapshot(user: User) -> dict:
    return {"name": user.name, "organisation_id": user.organisation.id,
            "command_role": user.command_role, "permissions": sorted(user.permissions),
            **_membership_snapshot(user)}


def _membership_snapshot(user: User) -> dict:
    return {"joined_at": user.joined_at.isoformat() if user.joined_at else None,
            "is_active": user.is_active,
            "deactivated_at": user.deactivated_at.isoformat() if user.deactivated_at else None}


def _apply_completions(session: Session, plan: ImportPlan, importer: User, batch: ImportBatch,
                       address: str) -> None:
    for row in plan.rows:
        if row.outcome != Outcome.CREATE:
            continue
        completed_at = completion_moment(row.completed_on)
        session.add(Completion(user_id=row.user.id, course_id=row.course.id, version_id=None,
                               completed_at=completed_at,
                               expires_at=_expiry(row.course, row.completed_on),
                               certificate_code=None, source=batch.source,
                               recorded_by_id=importer.id))
        record_event(session, "completion.imported", actor=importer, subject=row.user,
                     address=address,
                     summary=f"{row.course.code} completed on {_long(row.completed_on)}, "
                             f"recorded by {batch.source}",
                     details={"code": row.course.code, "date": row.completed_on.isoformat(),
                              "source": batch.source, "batch": batch.id})
        if row.counts_from is not None:
            import_dates.apply_backdating(session, row, importer, batch, address)
    session.flush()
