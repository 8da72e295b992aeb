"""Bulk import of people's accounts: each row (name, email, organisation, command role, and
optionally when they joined and left and their permissions) planned against the accounts
as they are, then applied: new accounts approved, with a link to choose a password (none in
an organisation that requires single sign-on: they sign in with its accounts); known
people updated (a change of organisation is a move) and given the permissions the row
adds. Dates of joining and leaving are read and applied in `jesip_learn.imports.dates`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.accounts.details import AccountError, check_name
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
from jesip_learn.accounts.permissions import can_grant
from jesip_learn.accounts.tokens import issue_token
from jesip_learn.accounts.transfers import move_user
from jesip_learn.core.columns import utcnow
from jesip_learn.core.typed_text import control_character_problem
from jesip_learn.imports import dates as import_dates
from jesip_learn.imports.csv_files import Row, header_key
from jesip_learn.imports.models import ImportBatch
from jesip_learn.imports.plan import ImportPlan, Outcome, RowPlan, read_email, users_by_email
from jesip_learn.records.audit import record_event
from jesip_learn.sso.providers import organisation_signing_in

# How long the link to choose a password, sent to each new account, works.
ACCOUNT_SETUP_LIFETIME = timedelta(days=7)


def _lines(numbers: list[int]) -> str:
    words = [str(n) for n in numbers]
    return words[0] if len(words) == 1 else " and ".join([", ".join(words[:-1]), words[-1]])


def role_from_text(text: str) -> str | None:
    """A command role from its value ("control-room") or label ("Control room"), any case."""
    key = header_key(text)
    for role in CommandRole:
        if key in (header_key(role.value), header_key(COMMAND_ROLE_LABELS[role])):
            return role.value
    return None


ROLE_HINT = ", ".join(role.value for role in CommandRole)


def plan_rows(session: Session, rows: tuple[Row, ...], scope: set[int] | None,
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
    existing = users_by_email(session, set(by_email), lock)
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
    read_email(plan)
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


def apply_rows(session: Session, plan: ImportPlan, importer: User, batch: ImportBatch,
               address: str) -> tuple[tuple[User, str | None], ...]:
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
        if not user.is_active:  # a leaver recorded for the reports is not asked to sign in
            continue
        if organisation_signing_in(session, user) is not None:
            accounts.append((user, None))  # told to sign in with their organisation's account
        else:
            accounts.append((user, issue_token(session, TokenPurpose.PASSWORD_RESET,
                                               ACCOUNT_SETUP_LIFETIME, user)))
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
