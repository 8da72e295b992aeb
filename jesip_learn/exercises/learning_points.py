"""The learning points of an exercise's debrief, and those marked for Joint Organisational
Learning (JOL) as rows for a spreadsheet. Only the person who recorded the exercise, or an
administrator, adds and removes them; every change is written to the audit log.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.content import JDM_STAGES, PRINCIPLES
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.core.typed_text import control_character_problem
from jesip_learn.exercises.access import can_edit
from jesip_learn.exercises.models import Exercise, LearningPoint
from jesip_learn.exercises.recorded import KIND_LABELS, ExerciseError, exercises_for
from jesip_learn.learning.runs import JDM_STAGE_LABELS, PRINCIPLE_LABELS
from jesip_learn.records.audit import record_event

MAX_POINT = 2000


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
