"""What each role sees: the log's entries that reached it, as items a page or a stream
shows. The script's own text (events, facts, options) was rendered and cleaned when the
course was imported; everything people typed is plain text, for the template to escape."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from jesip_learn.content import METHANE_FIELDS
from jesip_learn.exercises.live.log import entries, script_of, seen_by, shown_clock
from jesip_learn.exercises.live.models import LiveEvent, LiveSession

KIND_LABELS = {"release": "Event", "share": "Shared", "message": "Message",
               "methane": "M/ETHANE message", "answer": "Decision answer",
               "outcome": "Joint decision", "extra": "Event", "state": "Exercise"}
STATE_TEXTS = {"started": "The exercise has started", "paused": "The exercise is paused",
               "resumed": "The exercise has resumed", "ended": "The exercise has ended"}


@dataclass(frozen=True, slots=True)
class FeedItem:
    seq: int
    clock: str
    kind: str
    label: str
    heading: str
    source: str  # who sent it: a role's title, "the facilitator" or ""
    to: str
    text: str = ""  # plain text, escaped when shown
    html: str = ""  # the script's own rendered text
    facts: tuple[tuple[str, str], ...] = ()  # (id, html) of key facts it carries
    fields: tuple[tuple[str, str], ...] = ()  # M/ETHANE: (label, text)
    decision: str = ""  # the decision event id, on a release of a decision
    seen_by: tuple[str, ...] = ()  # titles of the roles it reached: for the facilitator only


def _name(script, target: str) -> str:
    if not target:
        return ""
    names = []
    for one in target.split(","):
        role, group = script.role(one), script.talk_group(one)
        names.append(role.title if role else group.title if group else one)
    return ", ".join(names)


def item(live: LiveSession, entry: LiveEvent, script=None) -> FeedItem:
    script = script or script_of(live)
    source = (_name(script, entry.actor_role) if entry.actor_role
              else "the facilitator" if entry.actor_id else "")
    to = _name(script, entry.target)
    base = {"seq": entry.seq, "clock": shown_clock(entry.clock), "kind": entry.kind,
            "label": KIND_LABELS.get(entry.kind, entry.kind), "source": source, "to": to,
            "seen_by": tuple(r.title for r in script.roles if r.id in (entry.audience or []))}
    script_event = script.event(entry.event_ref) if entry.event_ref else None
    if entry.kind == "release" and script_event is not None:
        facts = tuple((f.id, f.html) for f in script_event.facts)
        heading = script_event.title
        if script_event.kind == "methane":
            heading = f"Send an M/ETHANE message to {_name(script, ','.join(script_event.to))}"
        return FeedItem(**base, heading=heading, html=script_event.html, facts=facts,
                        decision=script_event.id if script_event.kind == "decision" else "")
    if entry.kind == "share" and script_event is not None:
        if entry.fact_ref:
            fact = next((f for f in script_event.facts if f.id == entry.fact_ref), None)
            return FeedItem(**base, heading="A key fact",
                            facts=((fact.id, fact.html),) if fact else ())
        return FeedItem(**base, heading=script_event.title, html=script_event.html,
                        facts=tuple((f.id, f.html) for f in script_event.facts))
    if entry.kind == "methane":
        written = entry.data.get("fields") or []
        fields = tuple((f"{letter} – {label}", text) for (letter, label), text
                       in zip(METHANE_FIELDS, written, strict=False)) if any(written) else ()
        # A message has at least one part written, so none means its author was erased
        # and its text says so.
        return FeedItem(**base, heading="M/ETHANE message", fields=fields, text=entry.text)
    if entry.kind == "answer" and script_event is not None:
        option = next((o for o in script_event.options if o.id == entry.data.get("option")),
                      None)
        return FeedItem(**base, heading=f"Answer: {script_event.title}",
                        text=f"Reason: {entry.text}", html=option.html if option else "")
    if entry.kind == "outcome" and script_event is not None:
        agreed = entry.data.get("agreed")
        option = next((o for o in script_event.options if o.id == entry.data.get("option")),
                      None)
        return FeedItem(**base, heading=f"{'Agreed' if agreed else 'Not agreed'}: "
                        f"{script_event.title}",
                        html=option.html if option else "")
    if entry.kind == "extra":
        return FeedItem(**base, heading=entry.data.get("title", "An event"), text=entry.text)
    if entry.kind == "state":
        return FeedItem(**base, heading=STATE_TEXTS.get(entry.text, entry.text))
    return FeedItem(**base, heading=KIND_LABELS.get(entry.kind, entry.kind), text=entry.text)


def feed(session: Session, live: LiveSession, role_id: str | None,
         after: int = 0) -> list[FeedItem]:
    """What reached the role (everything, for the facilitator: None), oldest first."""
    script = script_of(live)
    return [item(live, entry, script) for entry in entries(session, live, after=after)
            if seen_by(entry, role_id)]
