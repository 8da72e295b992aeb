"""The audit log: who did what, when and from where."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from jesip_learn.accounts.models import Organisation, User
from jesip_learn.records.models import AuditEvent


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


# --- reading the log ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditSearch:
    """What an administrator looks for. Empty fields mean "any"."""

    text: str = ""  # in the action, the summary, or the email of the actor or subject
    action: str = ""  # an exact action, or a family such as "sign_in"
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    action: str
    actor: str  # "Name <email>", or "" for the system
    subject: str
    organisation: str
    address: str
    summary: str
    details: dict


@dataclass(frozen=True, slots=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    pages: int


def _search_query(search: AuditSearch):
    actor, subject = aliased(User), aliased(User)
    query = (select(AuditEvent.id, AuditEvent.at, AuditEvent.action, actor.name, actor.email,
                    subject.name, subject.email, Organisation.name, AuditEvent.address,
                    AuditEvent.summary, AuditEvent.details)
             .outerjoin(actor, actor.id == AuditEvent.actor_id)
             .outerjoin(subject, subject.id == AuditEvent.subject_user_id)
             .outerjoin(Organisation, Organisation.id == AuditEvent.organisation_id))
    if search.action:
        query = query.where(or_(AuditEvent.action == search.action,
                                AuditEvent.action.startswith(search.action + ".",
                                                             autoescape=True)))
    if search.text:
        pattern = f"%{search.text.lower()}%"
        query = query.where(or_(
            func.lower(AuditEvent.action).like(pattern, escape="\\"),
            func.lower(AuditEvent.summary).like(pattern, escape="\\"),
            func.lower(actor.email).like(pattern, escape="\\"),
            func.lower(subject.email).like(pattern, escape="\\"),
            AuditEvent.address == search.text))
    if search.since is not None:
        query = query.where(AuditEvent.at >= search.since)
    if search.until is not None:
        query = query.where(AuditEvent.at < search.until)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def _row(values) -> AuditRow:
    (id_, at, action, actor_name, actor_email, subject_name, subject_email, organisation,
     address, summary, details) = values
    return AuditRow(id_, at, action, f"{actor_name} <{actor_email}>" if actor_email else "",
                    f"{subject_name} <{subject_email}>" if subject_email else "",
                    organisation or "", address, summary, details or {})


def search_events(session: Session, search: AuditSearch) -> AuditPage:
    """A page of the log, newest first. For administrators only: the caller checks."""
    query = _search_query(_escaped(search))
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-total // search.per_page))
    page = min(max(1, search.page), pages)
    rows = session.execute(query.limit(search.per_page).offset((page - 1) * search.per_page))
    return AuditPage([_row(values) for values in rows], total, page, pages)


def iter_events(session: Session, search: AuditSearch, batch: int = 2000) -> Iterator[AuditRow]:
    """Every event the search finds, fetched in batches so memory stays flat."""
    result = session.execute(_search_query(_escaped(search)).execution_options(yield_per=batch))
    for values in result:
        yield _row(values)


def action_families(session: Session) -> list[str]:
    """The families of action in the log ("sign_in", "account", ...), for a filter."""
    actions = session.scalars(select(AuditEvent.action).distinct())
    return sorted({action.split(".", 1)[0] for action in actions})


def _escaped(search: AuditSearch) -> AuditSearch:
    text = search.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return AuditSearch(text=text, action=search.action, since=search.since,
                       until=search.until, page=search.page, per_page=search.per_page)
