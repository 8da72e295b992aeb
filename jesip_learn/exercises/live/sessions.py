"""Running a live exercise: a session made from a published script, its participants and
their roles, join codes, and the clock's start, pause, resume and end.

Who may do what:
- trainers, managers and administrators facilitate (create sessions from a published
  script; `accounts.permissions.may_facilitate`); only the session's facilitator runs it;
- the facilitator invites people they may already see (exercises.access.people_scope: a trainer
  their own organisation, a manager the organisations they manage), or makes a join code
  that anyone signed in may use, once they hold it, until it expires;
- wrong join codes are limited per person and per network address (`join_with_code`);
- a session is opened only by its facilitator and its participants; a participant acts only
  as the role they were given. Several people may play one role together (a control room's
  team), answering its decisions once. Roles nobody takes are played by the facilitator.
Every action is written to the audit log.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import AccountStatus, User
from jesip_learn.accounts.permissions import may_facilitate
from jesip_learn.accounts.throttle import GuessLimiter, Limited
from jesip_learn.core.columns import utcnow
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import Course, CourseVersion
from jesip_learn.exercises import access as exercise_access
from jesip_learn.exercises.live.log import (
    LiveError,
    append,
    catch_up,
    check_open,
    clock_at,
    is_due,
    locked,
    release,
    released_refs,
    script_of,
)
from jesip_learn.exercises.live.models import (
    ENDED,
    LOBBY,
    PAUSED,
    RUNNING,
    LiveJoinCode,
    LiveParticipant,
    LiveSession,
)
from jesip_learn.records.audit import record_event

JOIN_CODE_BYTES = 15  # 20 characters of base 32: guessing one is hopeless
JOIN_CODE_HOURS = 12
JOIN_CODE_MAX_HOURS = 72


# --- who may do what ---------------------------------------------------------------------


def is_facilitator(user: User, live: LiveSession) -> bool:
    return user.is_authenticated and live.facilitator_id == user.id


def participant_of(live: LiveSession, user: User) -> LiveParticipant | None:
    return next((p for p in live.participants if p.user_id == user.id), None)


def can_open(user: User, live: LiveSession) -> bool:
    """Only the facilitator and the participants: an administrator is neither."""
    return is_facilitator(user, live) or participant_of(live, user) is not None


def sessions_of(session: Session, user: User) -> list[LiveSession]:
    """The sessions the person facilitates or takes part in, newest first."""
    taking_part = select(LiveParticipant.session_id).where(LiveParticipant.user_id == user.id)
    return list(session.scalars(
        select(LiveSession).where((LiveSession.facilitator_id == user.id)
                                  | LiveSession.id.in_(taking_part))
        .order_by(LiveSession.created_at.desc(), LiveSession.id.desc())))


@dataclass(frozen=True, slots=True)
class ScriptChoice:
    version_id: int
    slug: str
    course_title: str
    title: str
    roles: int


def published_scripts(session: Session) -> list[ScriptChoice]:
    """Every exercise script of a published course version."""
    found = []
    versions = session.scalars(select(CourseVersion).join(
        Course, Course.published_version_id == CourseVersion.id).order_by(CourseVersion.title))
    for version in versions:
        for item in courses.version_outline(version):
            if item.kind == "exercise":
                script = courses.version_item(version, item.slug)
                found.append(ScriptChoice(version.id, item.slug, version.title, item.title,
                                          len(script.roles)))
    return found


# --- making a session ----------------------------------------------------------------------


def create_session(session: Session, actor: User, version_id: int | None, slug: str,
                   address: str = "") -> LiveSession:
    if not may_facilitate(actor):
        raise NotAllowed(reason="trainers, managers and administrators facilitate")
    chosen = next((c for c in published_scripts(session)
                   if c.version_id == version_id and c.slug == slug), None)
    if chosen is None:
        raise LiveError("Select a published exercise script", "script")
    live = LiveSession(version_id=chosen.version_id, item_slug=chosen.slug, title=chosen.title,
                       facilitator_id=actor.id, organisation_id=actor.organisation_id,
                       state=LOBBY, clock_seconds=0, last_seq=0)
    session.add(live)
    session.flush()
    _audit(session, actor, live, "live.created", f"Created the live exercise {live.title}",
           address)
    return live


def _audit(session: Session, actor: User | None, live: LiveSession, action: str, summary: str,
           address: str = "", subject: User | None = None, **details) -> None:
    record_event(session, action, actor=actor, subject=subject, address=address,
                 organisation_id=actor.organisation_id if actor else live.organisation_id,
                 summary=summary, details={"live_session_id": live.id, **details})


# --- participants and roles ------------------------------------------------------------------


def invitable_people(session: Session, viewer: User, live: LiveSession,
                     text: str) -> list[User]:
    """People the facilitator may already see whose name or email holds the text."""
    words = " ".join(text.split()).lower()
    scope = exercise_access.people_scope(session, viewer)
    if not words:
        return []
    pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    taken = {p.user_id for p in live.participants} | {live.facilitator_id}
    query = select(User).where(User.is_active, User.email_confirmed_at.is_not(None),
                               User.approved_at.is_not(None),
                               (User.name.ilike(pattern, escape="\\")
                                | User.email.ilike(pattern, escape="\\")))
    if scope is not None:
        query = query.where(User.organisation_id.in_(sorted(scope)))
    return [u for u in session.scalars(query.order_by(User.name, User.id).limit(40))
            if u.id not in taken][:20]


def invite(session: Session, actor: User, live: LiveSession, user: User | None,
           role_id: str = "", address: str = "") -> LiveParticipant:
    _check_facilitator(actor, live)
    check_open(live)
    scope = exercise_access.people_scope(session, actor)
    # One message for "no such person" and "not someone you may see".
    if (user is None or user.status != AccountStatus.ACTIVE
            or (scope is not None and user.organisation_id not in scope)):
        raise LiveError("Select a person from the search results", "user_id")
    if user.id == live.facilitator_id or participant_of(live, user) is not None:
        raise LiveError(f"{user.name} is already in this exercise", "user_id")
    participant = LiveParticipant(user=user, invited_by_id=actor.id)
    live.participants.append(participant)
    session.flush()
    _audit(session, actor, live, "live.invited", f"Invited to the live exercise {live.title}",
           address, subject=user)
    if role_id:
        assign_role(session, actor, live, participant, role_id, address)
    return participant


def assign_role(session: Session, actor: User, live: LiveSession,
                participant: LiveParticipant, role_id: str, address: str = "") -> str:
    """Give the participant a role (or none, with ""). Returns a warning when their
    service is not the role's, "" otherwise."""
    _check_facilitator(actor, live)
    check_open(live)
    script = script_of(live)
    if participant.session_id != live.id:
        raise LiveError("Select a participant of this exercise", "participant")
    role = script.role(role_id) if role_id else None
    if role_id and role is None:
        raise LiveError("Select one of the script's roles", "role")
    participant.role_id = role_id or None
    session.flush()
    _audit(session, actor, live, "live.role_assigned",
           f"Given the role {role.title if role else 'none'} in {live.title}", address,
           subject=participant.user, role=role_id)
    return service_warning(participant.user, role) if role else ""


def service_warning(user: User, role) -> str:
    service = user.organisation.service if user.organisation else ""
    if role is None or role.service == "other" or service == role.service:
        return ""
    return (f"{user.name} works for {user.organisation.name} ({service}), but "
            f"{role.title} is a {role.service} role")


def untaken_roles(live: LiveSession) -> list:
    """The script's roles nobody plays: the facilitator plays them."""
    taken = {p.role_id for p in live.participants if p.role_id}
    return [role for role in script_of(live).roles if role.id not in taken]


def remove_participant(session: Session, actor: User, live: LiveSession,
                       participant: LiveParticipant, address: str = "") -> None:
    _check_facilitator(actor, live)
    if live.state != LOBBY:
        raise LiveError("People can only be removed before the exercise starts")
    _audit(session, actor, live, "live.removed", f"Removed from the live exercise {live.title}",
           address, subject=participant.user)
    live.participants.remove(participant)
    session.flush()


# --- join codes ---------------------------------------------------------------------------


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


def make_join_code(session: Session, actor: User, live: LiveSession, hours: int = JOIN_CODE_HOURS,
                   address: str = "", now: datetime | None = None) -> str:
    """A new code for this session only, shown once; it works until it expires."""
    _check_facilitator(actor, live)
    check_open(live)
    if not 1 <= hours <= JOIN_CODE_MAX_HOURS:
        raise LiveError(f"A code lasts from 1 to {JOIN_CODE_MAX_HOURS} hours", "hours")
    raw = secrets.token_bytes(JOIN_CODE_BYTES)
    letters = base64.b32encode(raw).decode().rstrip("=")
    code = "-".join(letters[i:i + 4] for i in range(0, len(letters), 4))
    now = now or utcnow()
    session.add(LiveJoinCode(session_id=live.id, code_sha256=_digest(code),
                             expires_at=now + timedelta(hours=hours), created_by_id=actor.id,
                             created_at=now))
    session.flush()
    _audit(session, actor, live, "live.join_code_made",
           f"Made a join code for the live exercise {live.title}", address, hours=hours)
    return code


class TooManyWrongCodes(Exception):  # noqa: N818 - a refusal, said as the page says it
    """Too many wrong join codes lately, from this person or this network address: the code
    was not even looked at."""

    def __init__(self, limited: Limited):
        super().__init__(f"too many wrong join codes; try again in {limited.minutes} minutes")
        self.limited = limited


def join_with_code(session: Session, user: User, code: str, address: str = "",
                   now: datetime | None = None,
                   limiter: GuessLimiter | None = None) -> LiveSession:
    """Join the session whose code this is. With a limiter, the code counts as a wrong
    guess before it is looked at (in the same step as the count is read, so that codes sent
    together cannot all slip under the limit), and stops counting once found right."""
    now = now or utcnow()
    if not (code or "").strip():
        raise LiveError("Enter the join code the facilitator gave you", "code")
    guess = limiter.claim(session, user.id, address, now) if limiter else None
    if guess is not None and guess.limited:
        record_event(session, "live.join_code_refused", actor=user, subject=user,
                     address=address, summary="Too many wrong join codes lately: this one "
                     "was refused without being checked")
        raise TooManyWrongCodes(guess.limited)
    found = session.scalar(select(LiveJoinCode).where(LiveJoinCode.code_sha256 == _digest(code)))
    if found is None or found.expires_at <= now:
        # Never the code itself: a mistyped code is most of the right one.
        record_event(session, "live.join_code_wrong", actor=user, subject=user,
                     address=address, summary="A live exercise join code that is not right "
                     "or has expired", details={"expired": found is not None})
        raise LiveError("That code is not right, or it has expired: ask the facilitator for "
                        "a new one", "code")
    if guess is not None:
        limiter.release(session, guess)  # a right code is no wrong guess
    live = session.get(LiveSession, found.session_id)
    if live.state == ENDED:
        raise LiveError("That exercise has ended", "code")
    if is_facilitator(user, live):
        return live
    participant = participant_of(live, user)
    if participant is None:
        participant = LiveParticipant(user=user)
        live.participants.append(participant)
        session.flush()
        _audit(session, user, live, "live.joined_with_code",
               f"Joined the live exercise {live.title} with a code", address, subject=user)
    mark_joined(session, live, participant, now, address)
    return live


def mark_joined(session: Session, live: LiveSession, participant: LiveParticipant,
                now: datetime | None = None, address: str = "") -> None:
    """The person has opened the session: the lobby shows them as joined."""
    if participant.joined_at is None:
        participant.joined_at = now or utcnow()
        session.flush()
        _audit(session, participant.user, live, "live.joined",
               f"Joined the live exercise {live.title}", address, subject=participant.user)
        from jesip_learn.exercises.live.record import statement

        statement(session, live, participant.user, "attended", participant.joined_at)


# --- the clock -------------------------------------------------------------------------------


def _check_facilitator(actor: User, live: LiveSession) -> None:
    if not is_facilitator(actor, live):
        raise NotAllowed(reason="only the session's facilitator")


def _everyone(live: LiveSession) -> list[str]:
    return [role.id for role in script_of(live).roles]


def start(session: Session, actor: User, live: LiveSession, address: str = "",
          now: datetime | None = None) -> None:
    _check_facilitator(actor, live)
    locked(session, live)
    if live.state != LOBBY:
        raise LiveError("The exercise has already started")
    now = now or utcnow()
    live.state, live.running_since, live.started_at = RUNNING, now, now
    append(session, live, "state", audience=_everyone(live), actor=actor, text="started",
           clock=0, now=now)
    catch_up(session, live, end, now)
    _audit(session, actor, live, "live.started", f"Started the live exercise {live.title}",
           address)


def pause(session: Session, actor: User, live: LiveSession, address: str = "",
          now: datetime | None = None) -> None:
    _check_facilitator(actor, live)
    locked(session, live)
    now = now or utcnow()
    catch_up(session, live, end, now)
    if live.state != RUNNING:
        raise LiveError("The exercise is not running")
    live.clock_seconds, live.running_since = clock_at(live, now), None
    live.state = PAUSED
    append(session, live, "state", audience=_everyone(live), actor=actor, text="paused", now=now)
    _audit(session, actor, live, "live.paused", f"Paused the live exercise {live.title}",
           address)


def resume(session: Session, actor: User, live: LiveSession, address: str = "",
           now: datetime | None = None) -> None:
    _check_facilitator(actor, live)
    locked(session, live)
    if live.state != PAUSED:
        raise LiveError("The exercise is not paused")
    now = now or utcnow()
    live.state, live.running_since = RUNNING, now
    append(session, live, "state", audience=_everyone(live), actor=actor, text="resumed", now=now)
    _audit(session, actor, live, "live.resumed", f"Resumed the live exercise {live.title}",
           address)


def end(session: Session, live: LiveSession, actor: User | None, address: str = "",
        now: datetime | None = None, clock: int | None = None) -> None:
    """End the session (the facilitator, or the script's `.end` event with no actor) and
    write it into the multi-agency exercise record."""
    if actor is not None:
        _check_facilitator(actor, live)
        locked(session, live)
        catch_up(session, live, end, now)
    if live.state == ENDED:
        raise LiveError("The exercise has already ended")
    now = now or utcnow()
    seconds = clock_at(live, now) if clock is None else clock
    live.clock_seconds, live.running_since = seconds, None
    live.state, live.ended_at = ENDED, now
    append(session, live, "state", audience=_everyone(live), actor=actor, text="ended",
           clock=seconds, now=now)
    from jesip_learn.exercises.live.record import (
        write_record,  # the record reads the whole log, written just now
    )

    write_record(session, live, now)
    _audit(session, actor, live, "live.ended", f"Ended the live exercise {live.title}", address)


def release_manual(session: Session, actor: User, live: LiveSession, event_id: str,
                   address: str = "", now: datetime | None = None) -> None:
    _check_facilitator(actor, live)
    locked(session, live)
    catch_up(session, live, end, now)
    if live.state not in (RUNNING, PAUSED):
        raise LiveError("Events are released while the exercise runs")
    script_event = script_of(live).event(event_id)
    if script_event is None or not script_event.manual:
        raise LiveError("Select an event that waits to be released", "event_id")
    if event_id in released_refs(session, live):
        raise LiveError(f"{script_event.title} has already been released", "event_id")
    release(session, live, script_event, actor=actor, now=now)
    _audit(session, actor, live, "live.released", f"Released {script_event.title}", address,
           event=event_id)


def manual_waiting(session: Session, live: LiveSession) -> list:
    released = released_refs(session, live)
    return [e for e in script_of(live).events if e.manual and e.id not in released]


def bring_up_to_date(session: Session, live: LiveSession, now: datetime | None = None) -> bool:
    """Release what is due, when anything is: for pages that read the session. True when
    something was released (the caller's transaction must then commit)."""
    if not is_due(session, live, now):
        return False
    locked(session, live)
    return catch_up(session, live, end, now) > 0

