"""Who may do what with a recorded multi-agency exercise, and whose people each person may
find and add to one.

- trainers, managers and administrators record exercises
  (`accounts.permissions.may_record_exercises`);
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
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from jesip_learn.accounts.models import AccountStatus, Permission, User
from jesip_learn.accounts.permissions import managed_organisation_ids
from jesip_learn.exercises.models import Exercise, ExerciseParticipant


def can_edit(viewer: User, exercise: Exercise) -> bool:
    return viewer.is_admin or exercise.recorded_by_id == viewer.id


def organisation_ids(exercise: Exercise) -> set[int]:
    return {organisation.id for organisation in exercise.organisations}


def visible_organisation_ids(session: Session, viewer: User,
                             exercise: Exercise) -> set[int] | None:
    """The organisations whose participants the viewer sees; None means all of them."""
    if can_edit(viewer, exercise):
        return None
    scope = managed_organisation_ids(session, viewer)
    return organisation_ids(exercise) if scope is None else organisation_ids(exercise) & scope


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
    taking_part = organisation_ids(exercise)
    return taking_part if scope is None else taking_part & scope


def shows_contact(session: Session, viewer: User, participant: ExerciseParticipant) -> bool:
    """Whether the viewer sees the participant's email address: only for people they may
    already see. The person who recorded the exercise sees every participant's name and
    organisation, but not the addresses of other organisations' staff."""
    scope = people_scope(session, viewer)
    return scope is None or participant.user.organisation_id in scope


def may_take_part(user: User) -> bool:
    """Only accounts in use: confirmed, approved and active."""
    return user.status == AccountStatus.ACTIVE
