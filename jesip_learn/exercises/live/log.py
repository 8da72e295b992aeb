"""The session's clock and its append-only event log.

Every change goes through `locked` first: the session's row is locked (SELECT ... FOR
UPDATE on PostgreSQL; SQLite's requests already write one at a time), so `append` numbers
entries one after another and they are committed in that order. Entries are announced to
the open streams only once their transaction has committed (`announce_after_commit`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.content import ExerciseScript
from jesip_learn.core.columns import utcnow
from jesip_learn.core.input_errors import InputError
from jesip_learn.courses import catalogue as courses
from jesip_learn.exercises.live.models import ENDED, PAUSED, RUNNING, LiveEvent, LiveSession

ANNOUNCE = "jesip_live_announce"
FACILITATOR = ""  # the actor_role of what the facilitator does as themself


class LiveError(InputError, ValueError):
    """A request refused with a message for the person; nothing was changed."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def script_of(live: LiveSession) -> ExerciseScript:
    script = courses.version_item(live.version, live.item_slug)
    if not isinstance(script, ExerciseScript):  # the version keeps its items for ever
        raise LookupError(f"{live.item_slug} is not an exercise script")
    return script


def clock_at(live: LiveSession, now: datetime | None = None) -> int:
    """Seconds on the exercise clock: it stands still in the lobby, paused and ended."""
    seconds = live.clock_seconds or 0
    if live.state == RUNNING and live.running_since is not None:
        seconds += max(0, int(((now or utcnow()) - live.running_since).total_seconds()))
    return seconds


def shown_clock(seconds: int) -> str:
    minutes, rest = divmod(max(0, int(seconds)), 60)
    return f"{minutes:02d}:{rest:02d}"


def locked(session: Session, live: LiveSession) -> LiveSession:
    """The session reloaded with its row locked until the transaction ends."""
    session.flush()
    session.execute(select(LiveSession.id).where(LiveSession.id == live.id).with_for_update())
    session.refresh(live)
    return live


def append(session: Session, live: LiveSession, kind: str, *, audience: Iterable[str],
           clock: int | None = None, actor: User | None = None, actor_role: str = FACILITATOR,
           target: str = "", event_ref: str = "", fact_ref: str = "", text: str = "",
           data: dict | None = None, now: datetime | None = None) -> LiveEvent:
    """Add an entry to the log of a session already `locked`."""
    now = now or utcnow()
    live.last_seq = (live.last_seq or 0) + 1
    entry = LiveEvent(session_id=live.id, seq=live.last_seq, kind=kind,
                      clock=clock_at(live, now) if clock is None else clock, created_at=now,
                      actor_id=actor.id if actor else None, actor_role=actor_role,
                      target=target, audience=sorted(set(audience)), event_ref=event_ref,
                      fact_ref=fact_ref, text=text, data=data or {})
    session.add(entry)
    session.info.setdefault(ANNOUNCE, set()).add(live.id)
    return entry


def entries(session: Session, live: LiveSession, *, after: int = 0,
            kinds: Iterable[str] | None = None) -> list[LiveEvent]:
    query = (select(LiveEvent).where(LiveEvent.session_id == live.id, LiveEvent.seq > after)
             .order_by(LiveEvent.seq))
    if kinds is not None:
        query = query.where(LiveEvent.kind.in_(list(kinds)))
    return list(session.scalars(query))


def seen_by(entry: LiveEvent, role_id: str | None) -> bool:
    """Whether a participant playing `role_id` sees the entry; None: the facilitator."""
    return role_id is None or role_id in (entry.audience or [])


# --- timed events ---------------------------------------------------------------------------


def released_refs(session: Session, live: LiveSession) -> set[str]:
    return set(session.scalars(select(LiveEvent.event_ref).where(
        LiveEvent.session_id == live.id, LiveEvent.kind == "release")))


def due_events(script: ExerciseScript, live: LiveSession, released: set[str],
               now: datetime | None = None):
    clock = clock_at(live, now)
    return sorted((e for e in script.events
                   if e.at is not None and e.at <= clock and e.id not in released),
                  key=lambda e: (e.at, script.events.index(e)))


def next_due_seconds(session: Session, live: LiveSession,
                     now: datetime | None = None) -> float | None:
    """Seconds of real time until the next timed event is due; None when none will be
    (the clock is stopped, or every timed event is out)."""
    if live.state != RUNNING:
        return None
    released = released_refs(session, live)
    waiting = [e.at for e in script_of(live).events if e.at is not None and e.id not in released]
    if not waiting:
        return None
    return max(0.0, min(waiting) - clock_at(live, now))


def audience_of(script: ExerciseScript, script_event) -> set[str]:
    if script_event.kind == "end":
        return {role.id for role in script.roles}
    if script_event.kind == "decision":
        return set(script_event.roles)
    if script_event.kind == "methane":
        return {script_event.from_role} if script_event.from_role else set()
    return {role for target in script_event.to for role in script.members(target)}


def release(session: Session, live: LiveSession, script_event, *, actor: User | None = None,
            clock: int | None = None, now: datetime | None = None) -> LiveEvent:
    script = script_of(live)
    return append(session, live, "release", audience=audience_of(script, script_event),
                  clock=clock, actor=actor, target=",".join(script_event.to),
                  event_ref=script_event.id, text=script_event.title, now=now)


def catch_up(session: Session, live: LiveSession, end_session: Callable,
             now: datetime | None = None) -> int:
    """Release every timed event whose time has come, in order, each at its own time on
    the clock; an `.end` event ends the session. Call on a `locked` session. Returns how
    many were released."""
    if live.state != RUNNING:
        return 0
    script = script_of(live)
    released = 0
    for script_event in due_events(script, live, released_refs(session, live), now):
        release(session, live, script_event, clock=script_event.at, now=now)
        released += 1
        if script_event.kind == "end":
            end_session(session, live, None, now=now, clock=script_event.at)
            break
    return released


def is_due(session: Session, live: LiveSession, now: datetime | None = None) -> bool:
    return live.state == RUNNING and bool(
        due_events(script_of(live), live, released_refs(session, live), now))


def check_open(live: LiveSession) -> None:
    if live.state == ENDED:
        raise LiveError("The exercise has ended: nothing more can be sent")


def check_running(live: LiveSession) -> None:
    check_open(live)
    if live.state == PAUSED:
        raise LiveError("The exercise is paused: wait for the facilitator to resume it")
    if live.state != RUNNING:
        raise LiveError("The exercise has not started yet")


# --- announcing committed entries ------------------------------------------------------------

_announcers: list[Callable[[int], None]] = []


def on_committed_entries(announcer: Callable[[int], None]) -> None:
    """Call `announcer(session_id)` after each commit that added entries to a session."""
    if announcer not in _announcers:
        _announcers.append(announcer)


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    pending = session.info.pop(ANNOUNCE, None)
    for live_id in sorted(pending or ()):
        for announcer in list(_announcers):
            announcer(live_id)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(ANNOUNCE, None)
