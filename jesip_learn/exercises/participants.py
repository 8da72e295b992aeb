"""The participants of a recorded exercise: finding the people one may add, adding and
removing them, confirming their attendance, and adding many at once from a CSV file of
email addresses. Who may add whom is decided in `jesip_learn.exercises.access`; every
change is written to the audit log.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import CommandRole, User
from jesip_learn.core.columns import utcnow
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.exercises.access import (
    addable_organisation_ids,
    can_confirm,
    can_edit,
    may_take_part,
    visible_organisation_ids,
)
from jesip_learn.exercises.models import Exercise, ExerciseParticipant
from jesip_learn.exercises.recorded import ExerciseError
from jesip_learn.records.audit import record_event

MAX_UPLOAD_ROWS = 1000
SEARCH_LIMIT = 20


def participants_seen_by(session: Session, viewer: User,
                         exercise: Exercise) -> list[ExerciseParticipant]:
    visible = visible_organisation_ids(session, viewer, exercise)
    shown = [p for p in exercise.participants
             if visible is None or p.user.organisation_id in visible]
    return sorted(shown, key=lambda p: (p.user.organisation.name, p.user.name.lower(), p.id))


def find_people(session: Session, viewer: User, exercise: Exercise, text: str) -> list[User]:
    """People the viewer may add whose name or email contains the text, not yet added."""
    words = " ".join(text.split()).lower()
    allowed = addable_organisation_ids(session, viewer, exercise)
    if not words or not allowed:
        return []
    pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    added = select(ExerciseParticipant.user_id).where(
        ExerciseParticipant.exercise_id == exercise.id)
    return list(session.scalars(
        select(User).where(User.organisation_id.in_(sorted(allowed)), User.is_active,
                           User.email_confirmed_at.is_not(None), User.approved_at.is_not(None),
                           User.id.not_in(added),
                           or_(func.lower(User.name).like(pattern, escape="\\"),
                               func.lower(User.email).like(pattern, escape="\\")))
        .order_by(User.name, User.id).limit(SEARCH_LIMIT)))


def _check_addable(session: Session, viewer: User, exercise: Exercise, user: User | None,
                   role: str) -> None:
    # One message for "no such person" and "not someone you may add": the form must not
    # tell who has an account in another organisation.
    if (user is None or not may_take_part(user)
            or user.organisation_id not in addable_organisation_ids(session, viewer, exercise)):
        raise ExerciseError("user", "Select a person from the search results")
    if any(p.user_id == user.id for p in exercise.participants):
        raise ExerciseError("user", f"{user.name} has already been added")
    if role not in set(CommandRole):
        raise ExerciseError("role", "Select the role they played in the exercise")


def add_participant(session: Session, actor: User, exercise: Exercise, user: User | None,
                    role: str, address: str = "") -> ExerciseParticipant:
    _check_addable(session, actor, exercise, user, role)
    participant = ExerciseParticipant(user=user, role=role, added_by_id=actor.id)
    exercise.participants.append(participant)
    session.flush()
    record_event(session, "exercise.participant_added", actor=actor, subject=user,
                 address=address, summary=f"Added to the exercise {exercise.title}",
                 details={"exercise_id": exercise.id, "role": role})
    return participant


def remove_participant(session: Session, actor: User, participant: ExerciseParticipant,
                       address: str = "") -> None:
    exercise = participant.exercise
    if not (can_edit(actor, exercise) or can_confirm(session, actor, participant)):
        raise NotAllowed(reason="the person who recorded it, or a manager of the person")
    record_event(session, "exercise.participant_removed", actor=actor, subject=participant.user,
                 address=address, summary=f"Removed from the exercise {exercise.title}",
                 details={"exercise_id": exercise.id, "role": participant.role,
                          "was_confirmed": participant.confirmed_at is not None})
    exercise.participants.remove(participant)
    session.flush()


def confirm_attendance(session: Session, actor: User, participant: ExerciseParticipant,
                       address: str = "") -> bool:
    """Confirm that the person took part. False when it was already confirmed."""
    if not can_confirm(session, actor, participant):
        raise NotAllowed(reason="managers confirm attendance of their own staff only")
    if participant.user_id == actor.id:
        raise NotAllowed(reason="nobody confirms their own attendance")
    if participant.confirmed_at is not None:
        return False
    participant.confirmed_at, participant.confirmed_by_id = utcnow(), actor.id
    session.flush()
    record_event(session, "exercise.attendance_confirmed", actor=actor,
                 subject=participant.user, address=address,
                 summary=f"Attendance at the exercise {participant.exercise.title} confirmed",
                 details={"exercise_id": participant.exercise_id})
    return True


# --- a file of participants ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParticipantRow:
    """One line of an uploaded file: who it adds, or what is wrong with it."""

    line: int
    email: str
    role: str
    user: User | None
    error: str = ""

    @property
    def role_label(self) -> str:
        return CommandRole(self.role).label if self.role in set(CommandRole) else self.role


def _role_from_text(text: str, user: User | None) -> str | None:
    """A command role code or label; blank means the person's own command role."""
    cleaned = " ".join(text.split()).lower()
    if not cleaned:
        return user.command_role if user is not None else None
    for role in CommandRole:
        if cleaned in {role.value, role.label.lower()}:
            return role.value
    return None


def plan_participants(session: Session, viewer: User, exercise: Exercise,
                      text: str) -> list[ParticipantRow]:
    """What each line of a CSV (columns: email, and optionally role) would do. Nothing is
    changed: `add_planned` adds the rows without errors."""
    reader = csv.reader(io.StringIO(text))
    lines = [(number, row) for number, row in enumerate(reader, start=1)
             if any(cell.strip() for cell in row)]
    if not lines:
        raise ExerciseError("file", "The selected file is empty")
    header = [cell.strip().lower() for cell in lines[0][1]]
    if "email" not in header:
        raise ExerciseError("file", "The first line must name the columns: email, and "
                            "optionally role")
    if len(lines) - 1 > MAX_UPLOAD_ROWS:
        raise ExerciseError("file", f"The file must have {MAX_UPLOAD_ROWS} rows or fewer")
    email_at, role_at = header.index("email"), header.index("role") if "role" in header else None
    rows = [(number, (row[email_at] if email_at < len(row) else "").strip().lower(),
             row[role_at] if role_at is not None and role_at < len(row) else "")
            for number, row in lines[1:]]
    emails = {email for _, email, _ in rows if email}
    people = {user.email.lower(): user for user in session.scalars(
        select(User).where(func.lower(User.email).in_(sorted(emails))))} if emails else {}
    allowed = addable_organisation_ids(session, viewer, exercise)
    planned, seen = [], set()
    for number, email, role_text in rows:
        user = people.get(email)
        if user is not None and not (may_take_part(user) and user.organisation_id in allowed):
            # Someone the viewer may not add reads exactly as an unknown address (no name, no
            # command role): the file must not tell who has an account elsewhere.
            user = None
        role = _role_from_text(role_text, user)
        error = ""
        if not email:
            error = "Enter an email address"
        elif user is None:
            error = (f"{email} is not someone you can add: their own organisation's manager "
                     "adds them")
        elif email in seen:
            error = "This email address is on an earlier line"
        elif role is None:
            error = f"{role_text.strip()} is not a command role"
        else:
            try:
                _check_addable(session, viewer, exercise, user, role)
            except ExerciseError as problem:
                error = problem.message
        seen.add(email)
        planned.append(ParticipantRow(number, email, role or role_text.strip(), user, error))
    return planned


def add_planned(session: Session, actor: User, exercise: Exercise, text: str,
                address: str = "") -> int:
    """Add every row of the file that has no error, checked again now. Returns how many."""
    added = 0
    for row in plan_participants(session, actor, exercise, text):
        if not row.error:
            add_participant(session, actor, exercise, row.user, row.role, address)
            added += 1
    return added
