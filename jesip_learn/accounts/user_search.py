"""Finding people: the list of accounts a viewer may see (everyone for an administrator,
the organisations they manage for a manager), searched by name or email and filtered by
organisation, permission, command role and status, a page at a time; and the accounts
waiting for the viewer's approval.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from jesip_learn.accounts.models import AccountStatus, PermissionGrant, User
from jesip_learn.accounts.organisations import escape_like
from jesip_learn.accounts.permissions import managed_organisation_ids


@dataclass(frozen=True, slots=True)
class UserSearch:
    text: str = ""
    organisation_id: int | None = None
    permission: str = ""
    command_role: str = ""
    status: AccountStatus | None = None  # as lists show it: `INVITED` apart from `ACTIVE`
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True, slots=True)
class UserPage:
    users: list[User]
    total: int
    page: int
    pages: int


def search_users(session: Session, viewer: User, search: UserSearch) -> UserPage:
    query = select(User).join(User.organisation)
    scope = managed_organisation_ids(session, viewer)
    if scope is not None:
        query = query.where(User.organisation_id.in_(scope))
    if search.text:
        pattern = f"%{escape_like(search.text.strip().lower())}%"
        query = query.where(or_(func.lower(User.name).like(pattern, escape="\\"),
                                func.lower(User.email).like(pattern, escape="\\")))
    if search.organisation_id:
        query = query.where(User.organisation_id == search.organisation_id)
    if search.permission:
        query = query.where(User.grants.any(PermissionGrant.permission == search.permission))
    if search.command_role:
        query = query.where(User.command_role == search.command_role)
    query = _filter_status(query, search.status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // search.per_page))
    page = min(max(1, search.page), pages)
    users = session.scalars(
        query.options(selectinload(User.grants), selectinload(User.organisation))
        .order_by(func.lower(User.name), User.id)
        .limit(search.per_page)
        .offset((page - 1) * search.per_page)
    )
    return UserPage(users=list(users), total=total, page=page, pages=pages)


def _filter_status(query, status: AccountStatus | None):
    # By what the account still lacks, not by `User.status`'s order: an account neither
    # confirmed nor approved is found as `PENDING` (a manager may approve it before the
    # person confirms) and as `UNCONFIRMED`.
    if status == AccountStatus.DEACTIVATED:
        return query.where(User.is_active.is_(False))
    if status == AccountStatus.PENDING:
        return query.where(User.is_active, User.approved_at.is_(None))
    if status == AccountStatus.UNCONFIRMED:
        return query.where(User.is_active, User.email_confirmed_at.is_(None))
    if status == AccountStatus.ACTIVE:
        return query.where(User.is_active, User.approved_at.is_not(None),
                           User.email_confirmed_at.is_not(None), User.invited_at.is_(None))
    if status == AccountStatus.INVITED:
        return query.where(User.is_active, User.approved_at.is_not(None),
                           User.email_confirmed_at.is_not(None), User.invited_at.is_not(None))
    return query


def pending_approvals(session: Session, viewer: User) -> list[User]:
    waiting = UserSearch(status=AccountStatus.PENDING, per_page=500)
    return search_users(session, viewer, waiting).users
