"""Who must hold which course: the requirement lines, the columns of every report, and the
rules managers and administrators add and remove.

A course is required of a person by its own front matter (`required_for`: services and
command roles) where an administrator (site-wide) or a manager (for their organisation)
accepted it (see requirement_acceptance), or by a rule a manager or administrator adds
(service, organisation, command role → course).

A rule may also require a multi-agency exercise within some months (36 for commanders, say).
Each such period is a column beside the courses, under a negative id (minus the months) that
no course has."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import (
    COMMAND_ROLE_LABELS,
    SERVICE_LABELS,
    CommandRole,
    Organisation,
    Service,
    User,
)
from jesip_learn.accounts.permissions import managed_organisation_ids
from jesip_learn.compliance import acceptance as requirement_acceptance
from jesip_learn.compliance.models import Requirement
from jesip_learn.core.input_errors import InputError
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.courses.models import Course
from jesip_learn.exercises.models import ExerciseRequirement
from jesip_learn.records.audit import record_event


@dataclass(frozen=True, slots=True)
class RequirementLine:
    """One way a course is required: by the course itself (rule None) or by a rule."""

    course_id: int
    service: str | None
    organisation_id: int | None
    command_role: str | None
    rule: Requirement | None = None


def requirement_lines(session: Session, course_id: int | None = None) -> list[RequirementLine]:
    """Every requirement of every published course: its own `required_for`, then rules."""
    courses = select(Course).where(Course.published_version_id.is_not(None))
    if course_id is not None:
        courses = courses.where(Course.id == course_id)
    lines = []
    # A course's own required_for counts only where it was accepted: site-wide, or in the
    # organisations whose managers accepted it (see requirement_acceptance).
    accepted = requirement_acceptance.acceptances(session)
    for course in session.scalars(courses.order_by(Course.code)):
        version = course.published_version
        where = accepted.get(course.id)
        if where is None:
            continue
        organisation_ids = [None] if where.site else sorted(where.organisation_ids)
        for organisation_id in organisation_ids:
            for service in version.required_services or []:
                for role in version.required_roles or []:
                    lines.append(RequirementLine(course.id, service, organisation_id, role))
    rules = select(Requirement).join(Course, Course.id == Requirement.course_id).where(
        Course.published_version_id.is_not(None)).order_by(Requirement.id)
    if course_id is not None:
        rules = rules.where(Requirement.course_id == course_id)
    for rule in session.scalars(rules):
        lines.append(RequirementLine(rule.course_id, rule.service, rule.organisation_id,
                                     rule.command_role, rule))
    return lines


def required_courses(session: Session) -> list[Course]:
    """The published courses that at least one requirement names, in code order."""
    ids = {line.course_id for line in requirement_lines(session)}
    if not ids:
        return []
    return list(session.scalars(select(Course).where(Course.id.in_(ids)).order_by(Course.code)))


EXERCISE_CODE = "EXERCISE"


def exercise_column_id(months: int) -> int:
    return -months


def exercise_lines(session: Session, course_id: int | None = None) -> list[RequirementLine]:
    """The rules that require an exercise, as requirement lines of their column's id."""
    if course_id is not None and course_id >= 0:
        return []
    query = select(ExerciseRequirement).order_by(ExerciseRequirement.id)
    if course_id is not None:
        query = query.where(ExerciseRequirement.months == -course_id)
    return [RequirementLine(exercise_column_id(rule.months), rule.service,
                            rule.organisation_id, rule.command_role)
            for rule in session.scalars(query)]


def required_columns(session: Session) -> list[CourseColumn]:
    """The columns of every report: the required courses in code order, then one for each
    period of exercise some rule requires, shortest first."""
    columns = [CourseColumn(course.id, course.code, course.title)
               for course in required_courses(session)]
    months = sorted({-line.course_id for line in exercise_lines(session)})
    return columns + [exercise_column(number) for number in months]


def exercise_column(months: int) -> CourseColumn:
    return CourseColumn(exercise_column_id(months), f"{EXERCISE_CODE}-{months}",
                        f"Multi-agency exercise ({months} months)")


class RuleError(InputError, ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


def rules_in_scope(session: Session, viewer: User) -> list[Requirement]:
    """The rules a viewer may see: all for an administrator, their organisations' for a
    manager (service-wide rules too, since they apply to their people)."""
    scope = managed_organisation_ids(session, viewer)
    query = select(Requirement).order_by(Requirement.created_at.desc(), Requirement.id.desc())
    if scope is not None:
        query = query.where(or_(Requirement.organisation_id.is_(None),
                                Requirement.organisation_id.in_(scope)))
    return list(session.scalars(query))


def add_rule(session: Session, actor: User, *, course_id: int | None, service: str | None,
             organisation_id: int | None, command_role: str | None) -> Requirement:
    """A new rule. Managers may add rules only for an organisation they manage."""
    course = session.get(Course, course_id) if course_id else None
    if course is None or course.published_version_id is None:
        raise RuleError("course_id", "Select a published course")
    organisation = check_rule_scope(session, actor, service=service,
                                    organisation_id=organisation_id, command_role=command_role)
    duplicate = session.scalar(select(Requirement).where(
        Requirement.course_id == course.id,
        _same(Requirement.service, service or None),
        _same(Requirement.organisation_id, organisation.id if organisation else None),
        _same(Requirement.command_role, command_role or None)))
    if duplicate is not None:
        raise RuleError("course_id", "This rule already exists")
    rule = Requirement(course_id=course.id, service=service or None,
                       organisation_id=organisation.id if organisation else None,
                       command_role=command_role or None, created_by_id=actor.id)
    session.add(rule)
    session.flush()
    record_event(session, "requirement.added", actor=actor,
                 organisation_id=rule.organisation_id, summary=describe_rule(session, rule),
                 details={"after": _rule_snapshot(rule)})
    return rule


def check_rule_scope(session: Session, actor: User, *, service: str | None,
                     organisation_id: int | None,
                     command_role: str | None) -> Organisation | None:
    """Who a new rule applies to, checked: a manager names one of their organisations. The
    organisation named, if any."""
    if service and service not in set(Service):
        raise RuleError("service", "Select a service from the list")
    if command_role and command_role not in set(CommandRole):
        raise RuleError("command_role", "Select a command role from the list")
    scope = managed_organisation_ids(session, actor)
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    if organisation_id and organisation is None:
        raise RuleError("organisation_id", "Select an organisation from the list")
    if scope is not None and (organisation is None or organisation.id not in scope):
        raise RuleError("organisation_id", "Select one of the organisations you manage")
    if organisation is not None and service and organisation.service != service:
        kind = SERVICE_LABELS[Service(service)].lower()
        raise RuleError("service", f"{organisation.name} is not a {kind} organisation: leave "
                        "the service empty or choose another organisation")
    return organisation


def remove_rule(session: Session, actor: User, rule: Requirement) -> None:
    if not can_change_rule(session, actor, rule):
        raise NotAllowed(reason="not in the actor's scope")
    record_event(session, "requirement.removed", actor=actor,
                 organisation_id=rule.organisation_id, summary=describe_rule(session, rule),
                 details={"before": _rule_snapshot(rule)})
    session.delete(rule)
    session.flush()


def can_change_rule(session: Session, viewer: User, rule: Requirement) -> bool:
    scope = managed_organisation_ids(session, viewer)
    return scope is None or (rule.organisation_id is not None and rule.organisation_id in scope)


def describe_rule(session: Session, rule: Requirement) -> str:
    who = []
    if rule.organisation_id:
        who.append(session.get(Organisation, rule.organisation_id).name)
    if rule.service:
        who.append(SERVICE_LABELS[Service(rule.service)].lower())
    if rule.command_role:
        who.append(COMMAND_ROLE_LABELS[CommandRole(rule.command_role)].lower())
    course = session.get(Course, rule.course_id)
    return f"{course.code} required of {', '.join(who) if who else 'everyone'}"


def _same(column_, value):
    return column_.is_(None) if value is None else column_ == value


def _rule_snapshot(rule: Requirement) -> dict:
    return {"course_id": rule.course_id, "service": rule.service,
            "organisation_id": rule.organisation_id, "command_role": rule.command_role}


@dataclass(frozen=True, slots=True)
class CourseColumn:
    id: int
    code: str
    title: str
