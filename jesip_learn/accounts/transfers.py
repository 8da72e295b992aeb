"""Moving between organisations: the training record follows the person.

A move ends the person's membership of their organisation (kept as a previous membership,
with the command role they held there) and starts one of the new organisation from that
moment. Their completions, attempts and scenario runs stay theirs: reports "as of" a moment
after the move count them, with all their training, in the new organisation; reports as of
an earlier moment still count them in the old one. Managers see people in their current
organisation only, so the old organisation's managers no longer see the person.

A move is made by an administrator (or a manager within the organisations they manage), or
asked for by the learner and approved by a manager of the receiving organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from jesip_learn.accounts.models import (
    CommandRole,
    Organisation,
    Permission,
    PermissionGrant,
    PreviousMembership,
    TransferRequest,
    User,
)
from jesip_learn.accounts.permissions import is_manager, managed_organisation_ids
from jesip_learn.core.columns import utcnow
from jesip_learn.core.input_errors import InputError
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.records.audit import record_event


class TransferError(InputError, ValueError):
    """A problem the person can fix, named by the form field it belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Membership:
    organisation: Organisation
    command_role: str
    started_at: datetime
    ended_at: datetime | None  # None: the current one

    @property
    def command_role_label(self) -> str:
        return CommandRole(self.command_role).label


def current_membership_start(session: Session, user: User) -> datetime:
    """When the person joined their current organisation."""
    return user.joined_at


def first_membership(session: Session, user: User) -> PreviousMembership | None:
    """The earliest previous membership, or None for someone who has never moved."""
    return session.scalar(select(PreviousMembership)
                          .where(PreviousMembership.user_id == user.id)
                          .order_by(PreviousMembership.started_at, PreviousMembership.id)
                          .limit(1))


def first_membership_start(session: Session, user: User) -> datetime:
    """When the person joined their first organisation here: from then they count in reports."""
    first = first_membership(session, user)
    return first.started_at if first is not None else user.joined_at


def backdate_first_membership(session: Session, user: User, at: datetime) -> bool:
    """Training brought from another system shows the person belonged before their first
    membership here began: start that membership at `at`, unless an import stated when they
    joined. Whether it moved."""
    if user.joined_stated:
        return False
    first = first_membership(session, user)
    if first is not None:
        if at >= first.started_at:
            return False
        first.started_at = at
    elif at < user.joined_at:
        user.joined_at = at
    else:
        return False
    session.flush()
    return True


def membership_history(session: Session, user: User) -> list[Membership]:
    """Every organisation the person has belonged to, oldest first, the current one last."""
    previous = session.scalars(
        select(PreviousMembership).options(joinedload(PreviousMembership.organisation))
        .where(PreviousMembership.user_id == user.id)
        .order_by(PreviousMembership.ended_at, PreviousMembership.id))
    history = [Membership(m.organisation, m.command_role, m.started_at, m.ended_at)
               for m in previous]
    history.append(Membership(user.organisation, user.command_role, user.joined_at, None))
    return history


def move_user(session: Session, actor: User | None, user: User, organisation: Organisation,
              *, command_role: str | None = None, address: str = "",
              at: datetime | None = None) -> PreviousMembership:
    """Move the person to another organisation from `at` (now). The caller has checked that
    the actor may make this move."""
    at = at or utcnow()
    old = user.organisation
    if old.id == organisation.id:
        raise TransferError("organisation", f"{user.name} already belongs to {old.name}")
    if not organisation.is_active:
        raise TransferError("organisation", "Select an active organisation")
    started = current_membership_start(session, user)
    if at < started:
        raise TransferError("organisation", "A move cannot come before the person joined "
                            "their current organisation")
    previous = PreviousMembership(user_id=user.id, organisation_id=old.id,
                                  command_role=user.command_role, started_at=started,
                                  ended_at=at)
    session.add(previous)
    user.organisation, user.joined_at = organisation, at
    if command_role:
        user.command_role = command_role
    # Managing does not come with them: their manager grant (of the organisation they left,
    # or of an area) ends; an administrator grants it again where they are to manage.
    manager = user.manager_grant()
    if manager is not None:
        _end_manager_grant(session, actor, user, manager, old, organisation, address)
    # A request still waiting is overtaken by the move (an approved one is no longer waiting).
    for pending in session.scalars(select(TransferRequest).where(
            TransferRequest.user_id == user.id, TransferRequest.status == "pending")):
        pending.status, pending.decided_at = "cancelled", at
    record_event(session, "account.moved", actor=actor, subject=user, address=address,
                 organisation_id=organisation.id,
                 summary=f"Moved from {old.name} to {organisation.name}",
                 details={"from_organisation_id": old.id, "to_organisation_id": organisation.id,
                          "at": at.isoformat()})
    session.flush()
    return previous


def _end_manager_grant(session: Session, actor: User | None, user: User,
                       grant: PermissionGrant, old: Organisation, new: Organisation,
                       address: str) -> None:
    scope = grant.area.name if grant.area is not None else (
        grant.organisation.name if grant.organisation is not None else old.name)
    record_event(session, "account.manager_ended", actor=actor, subject=user, address=address,
                 organisation_id=old.id,
                 summary=f"Stopped managing {scope} on moving to {new.name}",
                 details={"permission": Permission.MANAGER.value,
                          "organisation_id": grant.organisation_id, "area_id": grant.area_id,
                          "granted_at": grant.granted_at.isoformat()
                          if grant.granted_at else None,
                          "reason": "moved"})
    user.grants.remove(grant)


# --- a learner asks to move ---------------------------------------------------------------


def pending_request(session: Session, user: User) -> TransferRequest | None:
    return session.scalar(select(TransferRequest).where(
        TransferRequest.user_id == user.id, TransferRequest.status == "pending"))


def request_transfer(session: Session, user: User, *, organisation_id: int | None,
                     command_role: str, address: str = "") -> TransferRequest:
    """A learner's request to move, waiting for a manager of the receiving organisation."""
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None or not organisation.is_active:
        raise TransferError("organisation", "Select the organisation you are moving to")
    if organisation.id == user.organisation_id:
        raise TransferError("organisation", f"You already belong to {organisation.name}: "
                            "select the organisation you are moving to")
    if command_role not in set(CommandRole):
        raise TransferError("command_role", "Select your command role in the new organisation")
    waiting = pending_request(session, user)
    if waiting is not None:
        raise TransferError("organisation", "You have already asked to move to "
                            f"{waiting.to_organisation.name}: cancel that request first")
    request = TransferRequest(user_id=user.id, from_organisation_id=user.organisation_id,
                              to_organisation_id=organisation.id, command_role=command_role)
    session.add(request)
    session.flush()
    record_event(session, "transfer.requested", actor=user, subject=user, address=address,
                 organisation_id=organisation.id,
                 summary=f"Asked to move to {organisation.name}",
                 details={"request": request.id, "to_organisation_id": organisation.id})
    return request


def request_role_change(session: Session, user: User, *, command_role: str,
                        address: str = "") -> TransferRequest:
    """A learner's request to change their command role in their own organisation, which
    changes the training required of them, so a manager of it approves. Kept as a request
    whose organisations are the same."""
    if command_role not in set(CommandRole):
        raise TransferError("command_role", "Select your command role")
    if command_role == user.command_role:
        raise TransferError("command_role", "That is already your command role: select "
                            "the one you now hold")
    waiting = pending_request(session, user)
    if waiting is not None:
        raise TransferError("command_role", "You already have a request waiting for a "
                            "manager: cancel it first")
    request = TransferRequest(user_id=user.id, from_organisation_id=user.organisation_id,
                              to_organisation_id=user.organisation_id,
                              command_role=command_role)
    session.add(request)
    session.flush()
    record_event(session, "role_change.requested", actor=user, subject=user, address=address,
                 summary=f"Asked to change command role to {CommandRole(command_role).label}",
                 details={"request": request.id, "before": user.command_role,
                          "after": command_role})
    return request


def change_command_role(session: Session, actor: User | None, user: User, command_role: str,
                        *, address: str = "", at: datetime | None = None) -> None:
    """The person holds another command role from `at` (now). Reports of earlier moments
    still count them in the role they held then: that time is kept as a membership of the
    same organisation, as a move keeps the organisation they left."""
    at = at or utcnow()
    before = user.command_role
    session.add(PreviousMembership(user_id=user.id, organisation_id=user.organisation_id,
                                   command_role=before, started_at=user.joined_at,
                                   ended_at=at))
    user.command_role, user.joined_at = command_role, at
    record_event(session, "account.role_changed", actor=actor, subject=user, address=address,
                 summary=f"Command role changed from {CommandRole(before).label} to "
                         f"{CommandRole(command_role).label}",
                 details={"before": before, "after": command_role, "at": at.isoformat()})
    session.flush()


def cancel_request(session: Session, user: User, address: str = "") -> TransferRequest | None:
    request = pending_request(session, user)
    if request is None:
        return None
    request.status, request.decided_at = "cancelled", utcnow()
    record_event(session, "transfer.cancelled", actor=user, subject=user, address=address,
                 organisation_id=request.to_organisation_id,
                 summary=f"Cancelled the request to move to {request.to_organisation.name}",
                 details={"request": request.id})
    return request


def requests_to_decide(session: Session, viewer: User) -> list[TransferRequest]:
    """Pending requests to move into the organisations the viewer manages."""
    scope = managed_organisation_ids(session, viewer)
    query = (select(TransferRequest)
             .options(joinedload(TransferRequest.user), joinedload(TransferRequest.to_organisation),
                      joinedload(TransferRequest.from_organisation))
             .where(TransferRequest.status == "pending")
             .order_by(TransferRequest.requested_at, TransferRequest.id))
    if scope is not None:
        query = query.where(TransferRequest.to_organisation_id.in_(sorted(scope)))
    return list(session.scalars(query))


def can_decide(session: Session, viewer: User, request: TransferRequest) -> bool:
    if not is_manager(viewer):
        return False
    scope = managed_organisation_ids(session, viewer)
    return scope is None or request.to_organisation_id in scope


def approve_transfer(session: Session, approver: User, request: TransferRequest,
                     address: str = "") -> None:
    _check_decision(session, approver, request)
    if not request.user.is_active:
        raise TransferError("request", f"{request.user.name}’s account is no longer active")
    if request.user.organisation_id != request.from_organisation_id:
        raise TransferError("request", f"{request.user.name} has moved since asking: the "
                            "request no longer applies")
    request.status, request.decided_at = "approved", utcnow()
    request.decided_by_id = approver.id
    if request.is_role_change:
        change_command_role(session, approver, request.user, request.command_role,
                            address=address, at=request.decided_at)
        record_event(session, "role_change.approved", actor=approver, subject=request.user,
                     address=address, organisation_id=request.to_organisation_id,
                     summary=f"Approved the change of command role to "
                             f"{CommandRole(request.command_role).label}",
                     details={"request": request.id})
        return
    move_user(session, approver, request.user, request.to_organisation,
              command_role=request.command_role, address=address, at=request.decided_at)
    record_event(session, "transfer.approved", actor=approver, subject=request.user,
                 address=address, organisation_id=request.to_organisation_id,
                 summary=f"Approved the move to {request.to_organisation.name}",
                 details={"request": request.id})


def decline_transfer(session: Session, approver: User, request: TransferRequest,
                     address: str = "") -> None:
    _check_decision(session, approver, request)
    request.status, request.decided_at = "declined", utcnow()
    request.decided_by_id = approver.id
    if request.is_role_change:
        record_event(session, "role_change.declined", actor=approver, subject=request.user,
                     address=address, organisation_id=request.to_organisation_id,
                     summary=f"Declined the change of command role to "
                             f"{CommandRole(request.command_role).label}",
                     details={"request": request.id})
        return
    record_event(session, "transfer.declined", actor=approver, subject=request.user,
                 address=address, organisation_id=request.to_organisation_id,
                 summary=f"Declined the move to {request.to_organisation.name}",
                 details={"request": request.id})


def _check_decision(session: Session, approver: User, request: TransferRequest) -> None:
    if not can_decide(session, approver, request):
        raise NotAllowed(reason="not in the approver's scope")
    if request.status != "pending":
        raise TransferError("request", "This request has already been dealt with")
