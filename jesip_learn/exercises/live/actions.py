"""What participants do during a live exercise: share an event or a key fact, send a message
or an M/ETHANE message, answer a joint decision; and the facilitator's extra events.

A participant acts only as the role they were given; the facilitator acts as themself or as
a role nobody takes. Everything is refused with a message, changing nothing, once the
exercise has ended, when a role or talk group does not exist, when a decision was already
answered, when a form is sent again (each form carries a one-time `nonce`), or when someone
sends faster than MESSAGES_PER_MINUTE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.core.columns import utcnow
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.core.typed_text import control_character_problem
from jesip_learn.exercises.live.log import (
    FACILITATOR,
    LiveError,
    append,
    catch_up,
    check_running,
    entries,
    locked,
    script_of,
    seen_by,
)
from jesip_learn.exercises.live.models import LiveEvent, LiveSession
from jesip_learn.exercises.live.record import KIND_VERBS, statement
from jesip_learn.exercises.live.sessions import end, is_facilitator, participant_of, untaken_roles
from jesip_learn.learning import runs
from jesip_learn.records.audit import record_event

MESSAGE_MAX = 500
REASON_MAX = 200
EXTRA_MAX = 1000
MESSAGES_PER_MINUTE = 20
SENT_KINDS = ("share", "message", "methane", "answer", "extra")


@dataclass(frozen=True, slots=True)
class Acting:
    user: User
    role_id: str  # the role acted as; FACILITATOR ("") for the facilitator as themself


def acting_as(live: LiveSession, user: User, as_role: str = "") -> Acting:
    """Who the request acts as: a participant only ever as their own role."""
    participant = participant_of(live, user)
    if participant is not None:
        if not participant.role_id:
            raise LiveError("You have no role yet: wait for the facilitator to give you one")
        if as_role and as_role != participant.role_id:
            raise LiveError("You can only act as your own role")
        return Acting(user, participant.role_id)
    if not is_facilitator(user, live):
        raise NotAllowed(reason="not in this exercise")
    if as_role and as_role not in {role.id for role in untaken_roles(live)}:
        raise LiveError("Select a role nobody else plays", "as_role")
    return Acting(user, as_role)


def _prepare(session: Session, live: LiveSession, acting: Acting, nonce: str,
             now: datetime) -> None:
    locked(session, live)
    catch_up(session, live, end, now)
    check_running(live)
    if nonce:
        sent = session.scalars(select(LiveEvent.data).where(
            LiveEvent.session_id == live.id, LiveEvent.actor_id == acting.user.id,
            LiveEvent.kind.in_(SENT_KINDS)))
        if any((data or {}).get("nonce") == nonce for data in sent):
            raise LiveError("This has already been sent")
    recent = session.scalar(select(func.count()).select_from(LiveEvent).where(
        LiveEvent.session_id == live.id, LiveEvent.actor_id == acting.user.id,
        LiveEvent.kind.in_(SENT_KINDS), LiveEvent.created_at > now - timedelta(minutes=1)))
    if recent >= MESSAGES_PER_MINUTE:
        raise LiveError("You are sending too fast: wait a minute, then send it again")


def _target(live: LiveSession, target: str) -> tuple[str, ...]:
    reached = script_of(live).members(target)
    if not target:
        raise LiveError("Select who to send it to", "target")
    if not reached:
        raise LiveError(f"There is no role or talk group called {target[:60]}", "target")
    return reached


def _sent(session: Session, live: LiveSession, acting: Acting, kind: str, target: str,
          audience: Sequence[str], address: str, now: datetime, **fields) -> LiveEvent:
    entry = append(session, live, kind, audience={*audience, acting.role_id} - {FACILITATOR},
                   actor=acting.user, actor_role=acting.role_id, target=target, now=now,
                   **fields)
    record_event(session, f"live.{kind}", actor=acting.user, address=address,
                 organisation_id=acting.user.organisation_id,
                 summary=f"{kind.capitalize()} in the live exercise {live.title}",
                 details={"live_session_id": live.id, "seq": entry.seq, "role": acting.role_id,
                          "target": target})
    if kind in KIND_VERBS:
        statement(session, live, acting.user, KIND_VERBS[kind], now)
    return entry


def _with_nonce(data: dict, nonce: str) -> dict:
    return {**data, "nonce": nonce} if nonce else data


# --- what has reached a role ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Holding:
    events: set[str]  # script event ids that reached the role
    facts: set[str]  # key fact ids the role holds


def holding(session: Session, live: LiveSession, role_id: str | None) -> Holding:
    """What reached the role (everything released, for the facilitator: None)."""
    script = script_of(live)
    events, facts = set(), set()
    for entry in entries(session, live, kinds=("release", "share")):
        if not seen_by(entry, role_id):
            continue
        if entry.event_ref and (entry.kind == "release" or not entry.fact_ref):
            events.add(entry.event_ref)
        if entry.fact_ref:
            facts.add(entry.fact_ref)
    for event_id in events:
        script_event = script.event(event_id)
        if script_event is not None:
            facts.update(fact.id for fact in script_event.facts)
    return Holding(events, facts)


def _fact(script, fact_id: str):
    for script_event in script.events:
        for fact in script_event.facts:
            if fact.id == fact_id:
                return script_event, fact
    return None, None


# --- the actions ---------------------------------------------------------------------------


def share(session: Session, live: LiveSession, acting: Acting, *, item: str, target: str,
          nonce: str = "", address: str = "", now: datetime | None = None) -> LiveEvent:
    """Pass on an event (`item` = "event:ID") or a key fact ("fact:ID") the role holds."""
    now = now or utcnow()
    _prepare(session, live, acting, nonce, now)
    audience = _target(live, target)
    script = script_of(live)
    have = holding(session, live, acting.role_id or None)
    kind_of, _, item_id = (item or "").partition(":")
    if kind_of == "fact" and item_id in have.facts:
        script_event, fact = _fact(script, item_id)
        return _sent(session, live, acting, "share", target, audience, address, now,
                     event_ref=script_event.id, fact_ref=fact.id, text=fact.text,
                     data=_with_nonce({}, nonce))
    if kind_of == "event" and item_id in have.events:
        script_event = script.event(item_id)
        return _sent(session, live, acting, "share", target, audience, address, now,
                     event_ref=script_event.id, text=script_event.title,
                     data=_with_nonce({}, nonce))
    raise LiveError("Select something that has reached you to share", "item")


def _plain(text: str, label: str, limit: int, *, field: str, multi_line: bool = False) -> str:
    cleaned = (text or "").strip()
    if refused := control_character_problem(cleaned, label, multi_line=multi_line):
        raise LiveError(refused, field)
    if not cleaned:
        raise LiveError(f"Enter the {label.lower()}", field)
    if len(cleaned) > limit:
        raise LiveError(f"{label} must be {limit} characters or fewer", field)
    return cleaned


def message(session: Session, live: LiveSession, acting: Acting, *, text: str, target: str,
            nonce: str = "", address: str = "", now: datetime | None = None) -> LiveEvent:
    now = now or utcnow()
    cleaned = _plain(text, "Message", MESSAGE_MAX, field="text", multi_line=True)
    _prepare(session, live, acting, nonce, now)
    audience = _target(live, target)
    return _sent(session, live, acting, "message", target, audience, address, now,
                 text=cleaned, data=_with_nonce({}, nonce))


def methane(session: Session, live: LiveSession, acting: Acting, *, texts: Sequence[str],
            target: str, nonce: str = "", address: str = "",
            now: datetime | None = None) -> LiveEvent:
    """An M/ETHANE message: the seven fields, checked as scenarios check them."""
    now = now or utcnow()
    try:
        fields = runs.clean_methane(texts)
    except runs.RunError as error:
        raise LiveError(error.message, "methane") from error
    for text in fields:
        if refused := control_character_problem(text, "The M/ETHANE message", multi_line=True):
            raise LiveError(refused, "methane")
    _prepare(session, live, acting, nonce, now)
    audience = _target(live, target)
    return _sent(session, live, acting, "methane", target, audience, address, now,
                 data=_with_nonce({"fields": fields}, nonce))


def answers_to(session: Session, live: LiveSession, decision_id: str) -> list[LiveEvent]:
    return [e for e in entries(session, live, kinds=("answer",)) if e.event_ref == decision_id]


def decide(session: Session, live: LiveSession, acting: Acting, *, decision_id: str,
           option_id: str, reason: str, nonce: str = "", address: str = "",
           now: datetime | None = None) -> LiveEvent:
    """One role's answer to a joint decision; the last answer says whether it was agreed."""
    now = now or utcnow()
    cleaned = _plain(reason, "Reason", REASON_MAX, field="reason")
    _prepare(session, live, acting, nonce, now)
    decision = script_of(live).event(decision_id)
    if decision is None or decision.kind != "decision" or decision_id not in holding(
            session, live, None).events:
        raise LiveError("That decision has not been asked yet", "decision")
    if acting.role_id not in decision.roles:
        raise LiveError("Your role is not asked for this decision", "decision")
    given = answers_to(session, live, decision_id)
    if any(a.actor_role == acting.role_id for a in given):
        raise LiveError("Your role has already answered this decision", "option")
    option = next((o for o in decision.options if o.id == option_id), None)
    if option is None:
        raise LiveError("Select one of the options", "option")
    entry = _sent(session, live, acting, "answer", "", decision.roles, address, now,
                  event_ref=decision_id, text=cleaned,
                  data=_with_nonce({"option": option.id}, nonce))
    chosen = {a.actor_role: a.data.get("option") for a in [*given, entry]}
    if set(decision.roles) <= set(chosen):
        agreed = len(set(chosen.values())) == 1
        append(session, live, "outcome", audience=decision.roles, event_ref=decision_id,
               text="agreed" if agreed else "not agreed", now=now,
               data={"agreed": agreed, "option": option.id if agreed else None})
    return entry


def send_extra(session: Session, live: LiveSession, actor: User, *, title: str, text: str,
               roles: Sequence[str], nonce: str = "", address: str = "",
               now: datetime | None = None) -> LiveEvent:
    """An event the script does not have, from the facilitator to the roles chosen."""
    if not is_facilitator(actor, live):
        raise NotAllowed(reason="only the session's facilitator")
    now = now or utcnow()
    heading = _plain(title, "Title", 120, field="title")
    body = _plain(text, "Text", EXTRA_MAX, field="text", multi_line=True)
    known = {role.id for role in script_of(live).roles}
    chosen = [role for role in roles if role]
    if not chosen:
        raise LiveError("Select at least one role", "roles")
    if not set(chosen) <= known:
        raise LiveError("Select roles of this exercise", "roles")
    acting = Acting(actor, FACILITATOR)
    _prepare(session, live, acting, nonce, now)
    return _sent(session, live, acting, "extra", ",".join(chosen), chosen, address, now,
                 text=body, data=_with_nonce({"title": heading}, nonce))
