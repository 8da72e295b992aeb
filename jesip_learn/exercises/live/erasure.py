"""What erasing a person does to the live exercises they took part in or ran: the words they
typed go, and each session's log keeps its shape for everyone else.

An entry the person sent (a message, an M/ETHANE message, a decision's reason, a
facilitator's extra event with its title) keeps its number, clock, time, kind, roles,
audience and author, whose name anonymising the account has already replaced, so the other
participants' timeline and debrief read as before. Only its text becomes REMOVED, the way a
forum keeps an erased post's place in the thread with its content gone. What the person did
not write stays: the option a decision answer chose (one of the script's, and it decides
whether the decision was agreed), what they shared (the script's own text), releases and
changes of state. An M/ETHANE message's seven parts are blanked, as a scenario's are, but
how each part compared with the model answer is kept first, so the debrief's figures do not
change.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.exercises.live import debrief
from jesip_learn.exercises.live.models import LiveEvent, LiveSession

REMOVED = "[removed: the author’s personal data was erased]"
TYPED_KINDS = ("message", "methane", "answer", "extra")


def remove_words_of(session: Session, user_id: int) -> int:
    """Replace the text of every live entry the person sent; how many there were."""
    sent = list(session.scalars(select(LiveEvent).where(
        LiveEvent.actor_id == user_id, LiveEvent.kind.in_(TYPED_KINDS))
        .order_by(LiveEvent.session_id, LiveEvent.seq)))
    coverage = _methane_coverage(session, user_id,
                                 {entry.session_id for entry in sent if entry.kind == "methane"})
    for entry in sent:
        data = dict(entry.data or {})  # a new dict: the JSON column sees only assignments
        if entry.kind == "methane":
            data["fields"] = [""] * len(data.get("fields") or [])
            data["covered"] = coverage.get(entry.id, {})
        data.pop("title", None)
        entry.text, entry.data = REMOVED, data
    return len(sent)


def _methane_coverage(session: Session, user_id: int,
                      live_ids: set[int]) -> dict[int, dict[str, list[bool]]]:
    """For each of the person's M/ETHANE messages the debrief marks: the expected message's
    script event id → whether each part covered the model answer."""
    coverage: dict[int, dict[str, list[bool]]] = {}
    for live_id in sorted(live_ids):
        for check in debrief.build(session, session.get(LiveSession, live_id)).methane:
            if check.sent is not None and check.sent.actor_id == user_id:
                coverage.setdefault(check.sent.id, {})[check.event_id] = [
                    result.covered for result in check.fields]
    return coverage
