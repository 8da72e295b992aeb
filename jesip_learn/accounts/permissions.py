"""Who may see and change what: permissions and organisation scope, in one place.

Administrators see everything. A manager sees the organisation, or every organisation of
the area (Local Resilience Forum), named on their manager grant, and nothing else: the
grant is not read as the person's own organisation, which changes when they move.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import Organisation, Permission, User

# --- roles ---------------------------------------------------------------------------------


def is_administrator(user: User) -> bool:
    return user.is_admin


def is_manager(user: User) -> bool:
    """A manager of some organisation or area, or an administrator."""
    return user.is_admin or user.has_permission(Permission.MANAGER)


def is_author(user: User) -> bool:
    """A trainer or an administrator, with an active account."""
    return bool(user.is_active) and (user.is_admin or user.has_permission(Permission.TRAINER))


def is_trainer_or_manager(user: User) -> bool:
    """Trainers, managers and administrators: everyone but learners."""
    return bool(user.permissions & {Permission.TRAINER, Permission.MANAGER, Permission.ADMIN})


def may_record_exercises(user: User) -> bool:
    return is_trainer_or_manager(user)


def may_facilitate(user: User) -> bool:
    """Live exercises are run by those who may record exercises."""
    return may_record_exercises(user)


def may_subscribe_to_reports(user: User) -> bool:
    return is_manager(user)


def may_edit_course(user: User, editor_role: str | None) -> bool:
    """`editor_role` is the user's role on the course ("owner", "editor" or None); the
    courses area reads it (courses.authoring.editors.can_edit)."""
    return is_author(user) and (user.is_admin or editor_role is not None)


# --- organisation scope ----------------------------------------------------------------------


def managed_organisation_ids(session: Session, viewer: User) -> set[int] | None:
    """Organisations whose people the viewer manages; None means every organisation."""
    if viewer.is_admin:
        return None
    grant = viewer.manager_grant()
    if grant is None:
        return set()
    # Read through the relationships: a grant changed in this transaction has no ids yet.
    if grant.area is not None:
        return {org.id for org in grant.area.organisations}
    if grant.organisation is not None:
        return {grant.organisation.id}
    # A grant that names nothing manages nothing: never the person's own organisation,
    # which changes when they move.
    return set()


def can_manage_user(session: Session, viewer: User, user: User) -> bool:
    scope = managed_organisation_ids(session, viewer)
    return scope is None or user.organisation_id in scope


def can_grant(viewer: User, permission: str) -> bool:
    """Only administrators hand out trainer, manager and administrator permissions."""
    return viewer.is_admin or permission == Permission.LEARNER


def organisations_in_scope(session: Session, viewer: User) -> list[Organisation]:
    scope = managed_organisation_ids(session, viewer)
    query = select(Organisation).order_by(Organisation.name)
    if scope is not None:
        query = query.where(Organisation.id.in_(scope))
    return list(session.scalars(query))


def manageable_user_ids(session: Session, viewer: User, user_ids) -> set[int]:
    """Which of these people the viewer manages now. A report "as of" a date before a move
    counts the person in the organisation they belonged to then; its managers see that
    they were counted, but not the person's record now that they have left."""
    ids = sorted(set(user_ids))
    if not ids:
        return set()
    query = select(User.id).where(User.id.in_(ids))
    scope = managed_organisation_ids(session, viewer)
    if scope is not None:
        query = query.where(User.organisation_id.in_(sorted(scope)))
    return set(session.scalars(query))
