"""The audit log: who did what, when and from where."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .models import AuditEvent, User


def record_event(
    session: Session,
    action: str,
    *,
    actor: User | None = None,
    subject: User | None = None,
    organisation_id: int | None = None,
    address: str = "",
    summary: str = "",
    details: dict | None = None,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        subject_user_id=subject.id if subject else None,
        organisation_id=organisation_id
        if organisation_id is not None
        else (subject.organisation_id if subject else None),
        address=(address or "")[:64],
        summary=summary,
        details=details or {},
    )
    session.add(event)
    return event
