"""Rules that require people to have taken part in a multi-agency exercise within a number
of months, by service, organisation or command role: adding, describing, listing and
removing them. Managers change only the rules of the organisations they manage, as for
course rules (`jesip_learn.compliance.requirements`).
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import SERVICE_LABELS, CommandRole, Service, User
from jesip_learn.accounts.permissions import managed_organisation_ids
from jesip_learn.compliance.requirements import RuleError, check_rule_scope
from jesip_learn.core.numbers import whole_number
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.exercises.models import ExerciseRequirement
from jesip_learn.records.audit import record_event

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
