"""A recorded multi-agency exercise itself: its details (what was exercised, when, where,
and which organisations took part) checked, recorded and changed; the exercises a person
may open; and the exercises a learner took part in.

Who may do what is decided in `jesip_learn.exercises.access`; the people taking part are in
`jesip_learn.exercises.participants`, the debrief's lessons in
`jesip_learn.exercises.learning_points`, and the rules requiring an exercise in
`jesip_learn.exercises.rules`. Every change is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from jesip_learn.accounts.models import CommandRole, Organisation, User
from jesip_learn.accounts.permissions import managed_organisation_ids, may_record_exercises
from jesip_learn.compliance.report_filters import today_in_london
from jesip_learn.content import JDM_STAGES, PRINCIPLES
from jesip_learn.core.columns import utcnow
from jesip_learn.core.input_errors import InputError
from jesip_learn.core.numbers import whole_number
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.core.typed_text import control_character_problem
from jesip_learn.exercises.access import can_edit, organisation_ids
from jesip_learn.exercises.models import (
    EXERCISE_KIND_LABELS,
    Exercise,
    ExerciseOrganisation,
    ExerciseParticipant,
)
from jesip_learn.records.audit import record_event

KIND_LABELS = EXERCISE_KIND_LABELS
MAX_TITLE = 200
MAX_LOCATION = 200
EARLIEST_EXERCISE = date(2000, 1, 1)


class ExerciseError(InputError, ValueError):
    """A problem the person can fix, named by the form field it belongs to."""

    def __init__(self, field: str, message: str,
                 problems: list[ExerciseError] | None = None):
        super().__init__(message)
        self.field = field
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
            "organisation_ids": sorted(organisation_ids(exercise)),
            "command_roles": list(exercise.command_roles), "principles": list(exercise.principles),
            "jdm_stages": list(exercise.jdm_stages)}


def record_exercise(session: Session, actor: User, details: ExerciseDetails,
                    address: str = "") -> Exercise:
    if not may_record_exercises(actor):
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
