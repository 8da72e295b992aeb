"""Multi-agency exercises: what was exercised, which organisations and people took part, and
the lessons of the debrief.

Who may do what:
- trainers, managers and administrators record exercises;
- the person who recorded an exercise and administrators change it: its details, the
  organisations taking part, its participants and its learning points;
- a manager of a participating organisation sees the exercise, with the participants of the
  organisations they manage only, and may add, confirm and remove those people only;
- recording an exercise opens no one's staff list: each person finds and adds only the
  people they may already see (an administrator everyone; a manager the people of the
  organisations they manage; a trainer the people of their own organisation), and only
  accounts that are confirmed, approved and active. The other organisations' participants
  are added by their own managers;
- attendance counts once it is confirmed by a manager of the person's organisation (or an
  administrator). The person who recorded it cannot confirm it unless they manage them.
Every change is written to the audit log.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from jesip_learn.accounts.models import (
    SERVICE_LABELS,
    CommandRole,
    Organisation,
    Permission,
    Service,
    User,
)
from jesip_learn.accounts.permissions import managed_organisation_ids, may_record_exercises
from jesip_learn.compliance.status import RuleError, check_rule_scope, today_in_london
from jesip_learn.content import JDM_STAGES, PRINCIPLES
from jesip_learn.core.columns import utcnow
from jesip_learn.core.numbers import whole_number
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.core.typed_text import control_character_problem
from jesip_learn.exercises.models import (
    EXERCISE_KIND_LABELS,
    Exercise,
    ExerciseOrganisation,
    ExerciseParticipant,
    ExerciseRequirement,
    LearningPoint,
)
from jesip_learn.learning.runs import JDM_STAGE_LABELS, PRINCIPLE_LABELS
from jesip_learn.records.audit import record_event

KIND_LABELS = EXERCISE_KIND_LABELS
MAX_TITLE = 200
MAX_LOCATION = 200
MAX_POINT = 2000
MAX_UPLOAD_ROWS = 1000
SEARCH_LIMIT = 20
EARLIEST_EXERCISE = date(2000, 1, 1)


class ExerciseError(ValueError):
    """A problem the person can fix, named by the form field it belongs to."""

    def __init__(self, field: str, message: str,
                 problems: list[ExerciseError] | None = None):
        super().__init__(message)
        self.field = field
        self.message = message
        # Every problem found, this one first, when a form was checked as a whole.
        self.problems = problems or [self]


@dataclass(frozen=True, slots=True)
class ExerciseDetails:
    title: str
    # A date, or the day, month and year as typed into a form (checked with the rest).
    held_on: date | tuple[str, str, str] | None
    kind: str
    location: str
    organisation_ids: tuple[int, ...]
    command_roles: tuple[str, ...] = ()
    principles: tuple[str, ...] = ()
    jdm_stages: tuple[str, ...] = ()


# --- who may do what ---------------------------------------------------------------------


can_record = may_record_exercises


def can_edit(viewer: User, exercise: Exercise) -> bool:
    return viewer.is_admin or exercise.recorded_by_id == viewer.id


def _organisation_ids(exercise: Exercise) -> set[int]:
    return {organisation.id for organisation in exercise.organisations}


def visible_organisation_ids(session: Session, viewer: User,
                             exercise: Exercise) -> set[int] | None:
    """The organisations whose participants the viewer sees; None means all of them."""
    if can_edit(viewer, exercise):
        return None
    scope = managed_organisation_ids(session, viewer)
    return _organisation_ids(exercise) if scope is None else _organisation_ids(exercise) & scope


def can_view(session: Session, viewer: User, exercise: Exercise) -> bool:
    visible = visible_organisation_ids(session, viewer, exercise)
    return visible is None or bool(visible)


def can_confirm(session: Session, viewer: User, participant: ExerciseParticipant) -> bool:
    scope = managed_organisation_ids(session, viewer)
    return scope is None or participant.user.organisation_id in scope


def can_confirm_attendance(session: Session, viewer: User,
                           participant: ExerciseParticipant) -> bool:
    """Within scope, and never one's own: attendance counts towards compliance, so someone
    else vouches for it."""
    return participant.user_id != viewer.id and can_confirm(session, viewer, participant)


def people_scope(session: Session, viewer: User) -> set[int] | None:
    """The organisations whose people the viewer may find and add to any exercise; None
    means every organisation (an administrator). A manager's are the organisations they
    manage; a trainer's, their own organisation. Naming an organisation on an exercise adds
    nothing to this: its people are added by its own managers."""
    scope = managed_organisation_ids(session, viewer)
    if scope is None:
        return None
    scope = set(scope)
    if viewer.has_permission(Permission.TRAINER):
        scope.add(viewer.organisation_id)
    return scope


def addable_organisation_ids(session: Session, viewer: User, exercise: Exercise) -> set[int]:
    """The participating organisations whose people the viewer may add."""
    if not can_view(session, viewer, exercise):
        return set()
    scope = people_scope(session, viewer)
    taking_part = _organisation_ids(exercise)
    return taking_part if scope is None else taking_part & scope


def shows_contact(session: Session, viewer: User, participant: ExerciseParticipant) -> bool:
    """Whether the viewer sees the participant's email address: only for people they may
    already see. The person who recorded the exercise sees every participant's name and
    organisation, but not the addresses of other organisations' staff."""
    scope = people_scope(session, viewer)
    return scope is None or participant.user.organisation_id in scope


def _may_take_part(user: User) -> bool:
    """Only accounts in use: confirmed, approved and active."""
    return user.status == "active"


# --- recording and changing an exercise ----------------------------------------------------


def _held_on(value: date | tuple[str, str, str] | None) -> date:
    held_on = parse_held_on(*value) if isinstance(value, tuple) else value
    if held_on is None:
        raise ExerciseError("held_on", "Enter the date the exercise was held")
    if not EARLIEST_EXERCISE <= held_on <= today_in_london():
        raise ExerciseError("held_on", "The date must be in the past, and after 1 January 2000")
    return held_on


def _checked(session: Session, details: ExerciseDetails) -> tuple[date, list[Organisation]]:
    """The date and the organisations, once every detail is right; otherwise an error
    holding every problem found, so that the form can show them all at once."""
    problems: list[ExerciseError] = []
    title = " ".join(details.title.split())
    if refused := control_character_problem(details.title, "Title"):
        problems.append(ExerciseError("title", refused))
    elif not title:
        problems.append(ExerciseError("title", "Enter the exercise's title"))
    elif len(title) > MAX_TITLE:
        problems.append(ExerciseError("title", f"Title must be {MAX_TITLE} characters or fewer"))
    held_on = None
    try:
        held_on = _held_on(details.held_on)
    except ExerciseError as problem:
        problems.append(problem)
    if details.kind not in KIND_LABELS:
        problems.append(ExerciseError("kind", "Select the type of exercise"))
    if refused := control_character_problem(details.location, "Location"):
        problems.append(ExerciseError("location", refused))
    elif len(details.location) > MAX_LOCATION:
        problems.append(ExerciseError("location",
                                      f"Location must be {MAX_LOCATION} characters or fewer"))
    organisations = list(session.scalars(select(Organisation).where(
        Organisation.id.in_(sorted(set(details.organisation_ids)))).order_by(Organisation.name)))
    if len(organisations) < 2:
        problems.append(ExerciseError("organisation_ids",
                                      "Select at least two organisations: a multi-agency "
                                      "exercise brings more than one together"))
    for field, values, allowed in (("command_roles", details.command_roles, set(CommandRole)),
                                   ("principles", details.principles, set(PRINCIPLES)),
                                   ("jdm_stages", details.jdm_stages, set(JDM_STAGES))):
        if not set(values) <= allowed:
            problems.append(ExerciseError(field, "Select from the options shown"))
    if problems:
        raise ExerciseError(problems[0].field, problems[0].message, problems)
    return held_on, organisations


def _apply(exercise: Exercise, details: ExerciseDetails, held_on: date,
           organisations: list[Organisation]) -> None:
    exercise.title = " ".join(details.title.split())
    exercise.held_on = held_on
    exercise.kind = details.kind
    exercise.location = details.location.strip()
    exercise.organisations = organisations
    exercise.command_roles = [role for role in CommandRole if role in details.command_roles]
    exercise.principles = [code for code in PRINCIPLES if code in details.principles]
    exercise.jdm_stages = [code for code in JDM_STAGES if code in details.jdm_stages]
    exercise.updated_at = utcnow()


def _snapshot(exercise: Exercise) -> dict:
    return {"title": exercise.title, "held_on": exercise.held_on.isoformat(),
            "kind": exercise.kind, "location": exercise.location,
            "organisation_ids": sorted(_organisation_ids(exercise)),
            "command_roles": list(exercise.command_roles), "principles": list(exercise.principles),
            "jdm_stages": list(exercise.jdm_stages)}


def record_exercise(session: Session, actor: User, details: ExerciseDetails,
                    address: str = "") -> Exercise:
    if not can_record(actor):
        raise NotAllowed(reason="only trainers, managers and administrators record exercises")
    held_on, organisations = _checked(session, details)
    exercise = Exercise(recorded_by_id=actor.id)
    _apply(exercise, details, held_on, organisations)
    session.add(exercise)
    session.flush()
    record_event(session, "exercise.recorded", actor=actor, address=address,
                 organisation_id=actor.organisation_id,
                 summary=f"Recorded the exercise {exercise.title}",
                 details={"exercise_id": exercise.id, "after": _snapshot(exercise)})
    return exercise


def update_exercise(session: Session, actor: User, exercise: Exercise, details: ExerciseDetails,
                    address: str = "") -> None:
    if not can_edit(actor, exercise):
        raise NotAllowed(reason="only the person who recorded it, or an administrator")
    held_on, organisations = _checked(session, details)
    kept = {organisation.id for organisation in organisations}
    left = sorted({p.user.organisation.name for p in exercise.participants
                   if p.user.organisation_id not in kept})
    if left:
        raise ExerciseError("organisation_ids", "Remove the participants from "
                            f"{', '.join(left)} before removing the organisation")
    before = _snapshot(exercise)
    _apply(exercise, details, held_on, organisations)
    session.flush()
    record_event(session, "exercise.updated", actor=actor, address=address,
                 organisation_id=actor.organisation_id,
                 summary=f"Changed the exercise {exercise.title}",
                 details={"exercise_id": exercise.id, "before": before,
                          "after": _snapshot(exercise)})


def exercises_for(session: Session, viewer: User) -> list[Exercise]:
    """The exercises the viewer may open, newest first."""
    query = (select(Exercise).options(selectinload(Exercise.organisations))
             .order_by(Exercise.held_on.desc(), Exercise.id.desc()))
    scope = managed_organisation_ids(session, viewer)
    if scope is not None:
        in_scope = select(ExerciseOrganisation.exercise_id).where(
            ExerciseOrganisation.organisation_id.in_(sorted(scope)))
        query = query.where(or_(Exercise.recorded_by_id == viewer.id, Exercise.id.in_(in_scope)))
    return list(session.scalars(query))


# --- participants --------------------------------------------------------------------------


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
    if (user is None or not _may_take_part(user)
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
        if user is not None and not (_may_take_part(user) and user.organisation_id in allowed):
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


# --- learning points ---------------------------------------------------------------------------


def add_learning_point(session: Session, actor: User, exercise: Exercise, *, text: str,
                       principle: str | None, jdm_stage: str | None, for_jol: bool,
                       address: str = "") -> LearningPoint:
    if not can_edit(actor, exercise):
        raise NotAllowed(reason="only the person who recorded it, or an administrator")
    cleaned = text.strip()
    if refused := control_character_problem(cleaned, "The learning point", multi_line=True):
        raise ExerciseError("text", refused)
    if not cleaned:
        raise ExerciseError("text", "Enter the learning point")
    if len(cleaned) > MAX_POINT:
        raise ExerciseError("text", f"The learning point must be {MAX_POINT} characters "
                            "or fewer")
    if principle and principle not in PRINCIPLES:
        raise ExerciseError("principle", "Select a principle from the list")
    if jdm_stage and jdm_stage not in JDM_STAGES:
        raise ExerciseError("jdm_stage", "Select a stage from the list")
    point = LearningPoint(text=cleaned, principle=principle or None,
                          jdm_stage=jdm_stage or None, for_jol=for_jol,
                          created_by_id=actor.id)
    exercise.learning_points.append(point)
    session.flush()
    record_event(session, "exercise.learning_point_added", actor=actor, address=address,
                 organisation_id=actor.organisation_id,
                 summary=f"Added a learning point to the exercise {exercise.title}",
                 details={"exercise_id": exercise.id, "learning_point_id": point.id,
                          "for_jol": for_jol})
    return point


def remove_learning_point(session: Session, actor: User, point: LearningPoint,
                          address: str = "") -> None:
    exercise = point.exercise
    if not can_edit(actor, exercise):
        raise NotAllowed(reason="only the person who recorded it, or an administrator")
    record_event(session, "exercise.learning_point_removed", actor=actor, address=address,
                 organisation_id=actor.organisation_id,
                 summary=f"Removed a learning point from the exercise {exercise.title}",
                 details={"exercise_id": exercise.id, "text": point.text})
    exercise.learning_points.remove(point)
    session.flush()


JOL_HEADER = ("Exercise", "Date", "Type", "Location", "Organisations", "Principle",
              "JDM stage", "Learning point")


def jol_rows(session: Session, viewer: User) -> list[tuple]:
    """The learning points marked for Joint Organisational Learning, of the exercises the
    viewer may open, newest exercise first."""
    rows = []
    for exercise in exercises_for(session, viewer):
        for point in exercise.learning_points:
            if point.for_jol:
                rows.append((exercise.title, exercise.held_on, KIND_LABELS[exercise.kind],
                             exercise.location,
                             "; ".join(o.name for o in exercise.organisations),
                             PRINCIPLE_LABELS.get(point.principle or "", ""),
                             JDM_STAGE_LABELS.get(point.jdm_stage or "", ""), point.text))
    return rows


# --- a learner's exercises -------------------------------------------------------------------


def exercises_of(session: Session, user: User) -> list[ExerciseParticipant]:
    """The exercises the person took part in, newest first, confirmed or not."""
    return list(session.scalars(
        select(ExerciseParticipant).join(Exercise)
        .options(selectinload(ExerciseParticipant.exercise).selectinload(Exercise.organisations))
        .where(ExerciseParticipant.user_id == user.id)
        .order_by(Exercise.held_on.desc(), Exercise.id.desc())))


def parse_held_on(day: str, month: str, year: str) -> date | None:
    """The date from the three boxes of a GOV.UK date input; None when all are blank."""
    parts = [(part or "").strip() for part in (day, month, year)]
    if not any(parts):
        return None
    day, month, year = (whole_number(part) for part in parts)
    if day is None or month is None or year is None:
        raise ExerciseError("held_on", "The date must include a day, month and year in "
                            "numbers, for example 14 3 2026")
    try:
        return date(year, month, day)
    except ValueError as error:
        raise ExerciseError("held_on", "The date must be a real date") from error


# --- rules that require an exercise ------------------------------------------------------------

MAX_RULE_MONTHS = 120


def add_exercise_rule(session: Session, actor: User, *, months: str, service: str | None,
                      organisation_id: int | None,
                      command_role: str | None) -> ExerciseRequirement:
    """A rule that people must have taken part in an exercise within `months` (as typed).
    Managers add rules only for an organisation they manage, as for courses."""
    number = whole_number(months or "")
    if number is None or not 1 <= number <= MAX_RULE_MONTHS:
        raise RuleError("months", f"Enter the number of months, from 1 to {MAX_RULE_MONTHS}")
    organisation = check_rule_scope(session, actor, service=service,
                                    organisation_id=organisation_id, command_role=command_role)
    values = {"months": number, "service": service or None,
              "organisation_id": organisation.id if organisation else None,
              "command_role": command_role or None}
    duplicate = session.scalar(select(ExerciseRequirement).where(*(
        getattr(ExerciseRequirement, key).is_(None) if value is None
        else getattr(ExerciseRequirement, key) == value for key, value in values.items())))
    if duplicate is not None:
        raise RuleError("course_id", "This rule already exists")
    rule = ExerciseRequirement(**values, created_by_id=actor.id)
    session.add(rule)
    session.flush()
    record_event(session, "requirement.added", actor=actor,
                 organisation_id=rule.organisation_id, summary=describe_exercise_rule(rule),
                 details={"after": {"exercise_within_months": rule.months, **values}})
    return rule


def describe_exercise_rule(rule: ExerciseRequirement) -> str:
    who = []
    if rule.organisation is not None:
        who.append(rule.organisation.name)
    if rule.service:
        who.append(SERVICE_LABELS[Service(rule.service)].lower())
    if rule.command_role:
        who.append(CommandRole(rule.command_role).label.lower())
    return (f"A multi-agency exercise within {rule.months} months required of "
            f"{', '.join(who) if who else 'everyone'}")


def exercise_rules_in_scope(session: Session, viewer: User) -> list[ExerciseRequirement]:
    """As for course rules: all for an administrator; for a manager, their organisations'
    rules and those for everyone, which apply to their people."""
    scope = managed_organisation_ids(session, viewer)
    query = select(ExerciseRequirement).order_by(ExerciseRequirement.created_at.desc(),
                                                 ExerciseRequirement.id.desc())
    if scope is not None:
        query = query.where(or_(ExerciseRequirement.organisation_id.is_(None),
                                ExerciseRequirement.organisation_id.in_(sorted(scope))))
    return list(session.scalars(query))


def can_change_exercise_rule(session: Session, viewer: User, rule: ExerciseRequirement) -> bool:
    scope = managed_organisation_ids(session, viewer)
    return scope is None or (rule.organisation_id is not None and rule.organisation_id in scope)


def remove_exercise_rule(session: Session, actor: User, rule: ExerciseRequirement) -> None:
    if not can_change_exercise_rule(session, actor, rule):
        raise NotAllowed(reason="not in the actor's scope")
    record_event(session, "requirement.removed", actor=actor,
                 organisation_id=rule.organisation_id, summary=describe_exercise_rule(rule),
                 details={"before": {"exercise_within_months": rule.months,
                                     "service": rule.service,
                                     "organisation_id": rule.organisation_id,
                                     "command_role": rule.command_role}})
    session.delete(rule)
    session.flush()
