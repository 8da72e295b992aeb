"""Accounts made and changed by others: created at once (the command line, the site's
first administrator through a one-time setup link), invited by an administrator or a
manager, and edited by them (details, organisation, permissions, deactivation), each
change checked against the actor's scope and logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jesip_learn.accounts import passwords, transfers
from jesip_learn.accounts.details import (
    AccountError,
    active_organisation,
    check_command_role,
    check_name,
    check_new_password,
    find_user_by_email,
    normalise_email,
)
from jesip_learn.accounts.models import (
    Area,
    Organisation,
    Permission,
    PermissionGrant,
    TokenPurpose,
    User,
)
from jesip_learn.accounts.permissions import (
    can_grant,
    can_manage_user,
    is_manager,
    managed_organisation_ids,
)
from jesip_learn.accounts.tokens import (
    TokenError,
    issue_token,
    peek_token,
    redeem_token,
    revoke_password_reset_links,
)
from jesip_learn.core.columns import utcnow
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.records.audit import record_event
from jesip_learn.records.models import Anonymisation
from jesip_learn.sso.providers import organisation_signing_in

FIRST_ADMINISTRATOR_LIFETIME = timedelta(hours=24)


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    organisation: Organisation,
    command_role: str,
    permissions: set[str],
    actor: User | None = None,
) -> User:
    """An account that is confirmed and approved at once (command line, administrators)."""
    name = check_name(name)
    email = normalise_email(email)
    command_role = check_command_role(command_role)
    if find_user_by_email(session, email) is not None:
        raise AccountError("email", f"An account with the email address {email} already exists")
    check_new_password(password, email=email, name=name)
    unknown = permissions - set(Permission)
    if unknown:
        raise AccountError("permissions", f"Unknown permission: {', '.join(sorted(unknown))}")
    now = utcnow()
    # A manager manages their own organisation until an administrator names an area.
    grants = [PermissionGrant(permission=p, organisation=organisation
                              if p == Permission.MANAGER else None)
              for p in sorted(permissions | {Permission.LEARNER})]
    user = User(name=name, email=email, password_hash=passwords.hash_password(password),
                organisation=organisation, command_role=command_role, email_confirmed_at=now,
                approved_at=now, grants=grants)
    session.add(user)
    session.flush()
    record_event(session, "account.created", actor=actor or user, subject=user,
                 details={"permissions": sorted(user.permissions)})
    return user


INVITATION_LIFETIME = timedelta(days=7)


def invite_user(
    session: Session,
    actor: User,
    *,
    email: str,
    name: str,
    organisation_id: int | None,
    command_role: str,
    permissions: set[str],
    address: str = "",
) -> tuple[User, str | None]:
    """An account added by an administrator (in any organisation) or a manager (in the
    organisations they manage), approved and its address taken as confirmed, since they
    vouch for the person, with no password: the person sets one through the link (the
    returned token) they are sent. Shown as "Invited" until they do. Only administrators
    give more than the learner permission (`can_grant`). In an organisation that requires
    single sign-on there is no link (the token is None): the person signs in with their
    organisation's account, which is linked to this one at their first sign-in."""
    name = check_name(name)
    email = normalise_email(email)
    command_role = check_command_role(command_role)
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    scope = managed_organisation_ids(session, actor)
    if (organisation is None or not organisation.is_active
            or (scope is not None and organisation.id not in scope)):
        raise AccountError("organisation", "Select an organisation from the list")
    if not is_manager(actor):
        raise AccountError("organisation", "Only administrators and managers can add people")
    unknown = permissions - set(Permission)
    if unknown:
        raise AccountError("permissions", f"Unknown permission: {', '.join(sorted(unknown))}")
    refused = sorted(p for p in permissions if not can_grant(actor, p))
    if refused:
        raise AccountError("permissions", "Only administrators can make people trainers, "
                                          "managers or administrators")
    if find_user_by_email(session, email) is not None:
        raise AccountError("email", f"An account with the email address {email} already "
                                    "exists: find it in the list of people instead")
    now = utcnow()
    grants = [PermissionGrant(permission=p, organisation=organisation
                              if p == Permission.MANAGER else None)
              for p in sorted(permissions | {Permission.LEARNER})]
    user = User(name=name, email=email, password_hash="", organisation=organisation,
                command_role=command_role, email_confirmed_at=now, approved_at=now,
                approved_by_id=actor.id, invited_at=now, grants=grants)
    session.add(user)
    session.flush()
    signs_in_with = organisation_signing_in(session, user)
    record_event(session, "account.invited", actor=actor, subject=user, address=address,
                 summary=f"{name} added and sent a link to set a password"
                 if signs_in_with is None else
                 f"{name} added and told to sign in with {signs_in_with.name}’s account",
                 details={"permissions": sorted(user.permissions),
                          "organisation_id": organisation.id, "command_role": command_role})
    if signs_in_with is not None:
        return user, None
    token = issue_token(session, TokenPurpose.PASSWORD_RESET, INVITATION_LIFETIME, user)
    return user, token


def administrator_exists(session: Session) -> bool:
    return session.scalar(
        select(func.count())
        .select_from(PermissionGrant)
        .join(User, User.id == PermissionGrant.user_id)
        .where(PermissionGrant.permission == Permission.ADMIN, User.is_active)
    ) > 0


def issue_first_administrator_token(session: Session) -> str | None:
    """A one-time setup link's token, while the site has no administrator."""
    if administrator_exists(session):
        return None
    return issue_token(session, TokenPurpose.FIRST_ADMINISTRATOR, FIRST_ADMINISTRATOR_LIFETIME)


def create_first_administrator(
    session: Session, raw_token: str, *, email: str, name: str, password: str,
    organisation_id: int | None, command_role: str,
) -> User:
    peek_token(session, raw_token, TokenPurpose.FIRST_ADMINISTRATOR)
    if administrator_exists(session):
        raise TokenError("This site already has an administrator. Sign in instead.")
    organisation = active_organisation(session, organisation_id)
    user = create_user(session, email=email, name=name, password=password,
                       organisation=organisation, command_role=command_role,
                       permissions={Permission.ADMIN})
    redeem_token(session, raw_token, TokenPurpose.FIRST_ADMINISTRATOR)
    return user


@dataclass(frozen=True, slots=True)
class AccountChanges:
    name: str
    organisation_id: int
    command_role: str
    permissions: set[str]
    manager_area_id: int | None = None
    is_active: bool = True


def update_account(session: Session, actor: User, user: User, changes: AccountChanges) -> None:
    """An administrator's or manager's edit of someone's account, checked and logged."""
    if not can_manage_user(session, actor, user):
        raise NotAllowed(reason="not in the actor's scope")
    if session.scalar(select(Anonymisation.id).where(Anonymisation.user_id == user.id)):
        # The details are gone for good; an edit would only bring a nameless person back
        # into the organisation's figures.
        raise AccountError("name", "This account was anonymised and can no longer be "
                           "changed or reactivated. Create a new account instead.")
    before = _account_snapshot(user)
    user.name = check_name(changes.name)
    organisation = active_organisation(session, changes.organisation_id)
    if not can_manage_user(session, actor, _with_organisation(user, organisation)):
        raise AccountError("organisation", "You can only move people within the organisations "
                           "you manage")
    if organisation.id != user.organisation.id:
        held = user.manager_grant()
        if held is not None and Permission.MANAGER in changes.permissions:
            # The ticked box was carried over from their old post, not chosen for the new
            # one: a move must not hand them the new organisation's people unasked.
            scope = held.area.name if held.area is not None else held.scope_label
            raise AccountError("permissions", f"Moving {user.name} to {organisation.name} "
                               f"ends their management of {scope}. Untick Manager to move "
                               f"them, then give the permission again if they are to manage "
                               f"in {organisation.name}.")
        # A change of organisation is a move: the old membership is kept for its reports.
        transfers.move_user(session, actor, user, organisation)
    user.command_role = check_command_role(changes.command_role)
    _set_grants(session, actor, user, changes.permissions | {Permission.LEARNER},
                changes.manager_area_id)
    if user.id == actor.id and not changes.is_active:
        raise AccountError("is_active", "You cannot deactivate your own account")
    if user.is_active and not changes.is_active:
        user.session_epoch += 1
        user.deactivated_at = utcnow()
        revoke_password_reset_links(session, [user.id])
    elif changes.is_active:
        user.deactivated_at = None
    user.is_active = changes.is_active
    after = _account_snapshot(user)
    if after != before:
        record_event(session, "account.updated", actor=actor, subject=user,
                     details={"before": before, "after": after})


def _with_organisation(user: User, organisation: Organisation) -> User:
    probe = User(organisation_id=organisation.id)
    probe.organisation = organisation
    return probe


def _set_grants(session: Session, actor: User, user: User, wanted: set[str],
                manager_area_id: int | None) -> None:
    unknown = wanted - set(Permission)
    if unknown:
        raise AccountError("permissions", "Select permissions from the list")
    current = {g.permission: g for g in user.grants}
    for permission in wanted ^ set(current):
        if not can_grant(actor, permission):
            raise AccountError("permissions", "Only an administrator can change trainer, "
                               "manager and administrator permissions")
    if user.id == actor.id and Permission.ADMIN in current and Permission.ADMIN not in wanted:
        raise AccountError("permissions", "You cannot remove your own administrator permission")
    for permission in set(current) - wanted:
        user.grants.remove(current[permission])
    for permission in wanted - set(current):
        user.grants.append(PermissionGrant(permission=permission, organisation=user.organisation
                                           if permission == Permission.MANAGER else None))
    manager = user.manager_grant()
    if manager is not None and actor.is_admin:
        area = session.get(Area, manager_area_id) if manager_area_id else None
        manager.area = area
        manager.organisation = None if area else user.organisation


def _account_snapshot(user: User) -> dict:
    manager = user.manager_grant()
    area = manager.area if manager else None
    return {
        "name": user.name,
        # Read through the relationships: the ids are not set until the next flush.
        "organisation_id": user.organisation.id,
        "command_role": user.command_role,
        "permissions": sorted(user.permissions),
        "manager_area_id": area.id if area else None,
        "is_active": user.is_active,
    }
