"""Who accepted a course's own `required_for`.

Any trainer can write `required_for: police, ambulance / control-room` in a course; that
alone must not make the course compulsory in every police and ambulance service. It takes
effect site-wide once an administrator accepts it, or in one organisation once a manager of
that organisation (or an administrator) accepts it there. Until then it is a *proposed
requirement*: the dashboards of those who may decide list it, to accept or decline.

Each decision holds for the `required_for` it was made on (`rule_key`): a new version that
changes whom the course is required for is proposed again. Courses published from the
course folder by the command line (the shipped JESIP courses, and whatever the people who
run the site put there) are accepted site-wide as they are imported: whoever runs the
command line runs the site.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import (
    COMMAND_ROLE_LABELS,
    SERVICE_LABELS,
    Organisation,
    Permission,
    User,
)
from jesip_learn.accounts.permissions import managed_organisation_ids
from jesip_learn.compliance.models import RequirementAcceptance
from jesip_learn.core.columns import utcnow
from jesip_learn.core.input_errors import InputError
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.courses.models import Course, CourseVersion
from jesip_learn.records.audit import record_event

SITE = "site"


class DecisionRefused(InputError):
    """The decision cannot be made; `message` says why, for the person deciding."""


def rule_key(version: CourseVersion) -> str:
    """The version's `required_for` in one canonical string (as the migration words it)."""
    services = ",".join(sorted(version.required_services or []))
    roles = ",".join(sorted(version.required_roles or []))
    return f"services={services};roles={roles}"


def proposes_requirement(version: CourseVersion | None) -> bool:
    return bool(version is not None and version.required_services and version.required_roles)


def scope_key(organisation_id: int | None) -> str:
    return SITE if organisation_id is None else f"org:{organisation_id}"


@dataclass(frozen=True, slots=True)
class Acceptance:
    """Where the published `required_for` of a course is in effect."""

    site: bool
    organisation_ids: frozenset[int]

    def covers(self, organisation_id: int) -> bool:
        return self.site or organisation_id in self.organisation_ids


NOWHERE = Acceptance(site=False, organisation_ids=frozenset())


def acceptances(session: Session) -> dict[int, Acceptance]:
    """Course id → where its published `required_for` has been accepted (courses with no
    `required_for`, or accepted nowhere, are left out)."""
    rows = session.execute(
        select(RequirementAcceptance, CourseVersion)
        .join(Course, Course.id == RequirementAcceptance.course_id)
        .join(CourseVersion, CourseVersion.id == Course.published_version_id)
        .where(RequirementAcceptance.accepted.is_(True))).all()
    site: set[int] = set()
    organisations: dict[int, set[int]] = {}
    for row, version in rows:
        if row.rule != rule_key(version) or not proposes_requirement(version):
            continue
        if row.organisation_id is None:
            site.add(row.course_id)
        else:
            organisations.setdefault(row.course_id, set()).add(row.organisation_id)
    return {course_id: Acceptance(course_id in site,
                                  frozenset(organisations.get(course_id, ())))
            for course_id in site | set(organisations)}


def acceptance_of(session: Session, course: Course) -> Acceptance:
    return acceptances(session).get(course.id, NOWHERE)


def in_effect_for(session: Session, version: CourseVersion, organisation_id: int) -> bool:
    """Whether the version's own `required_for` applies in this organisation."""
    if not proposes_requirement(version):
        return False
    return acceptance_of(session, version.course).covers(organisation_id)


# --- deciding ------------------------------------------------------------------------------


def may_decide(session: Session, actor: User, organisation_id: int | None) -> bool:
    """Administrators decide site-wide and for any organisation; managers for the
    organisations they manage."""
    if not actor.is_active:
        return False
    if actor.is_admin:
        return True
    if organisation_id is None or not actor.has_permission(Permission.MANAGER):
        return False
    scope = managed_organisation_ids(session, actor)
    return scope is not None and organisation_id in scope


def decide(session: Session, actor: User | None, course: Course, organisation_id: int | None,
           accept: bool, *, address: str = "") -> RequirementAcceptance:
    """Accept or decline the course's published `required_for`, site-wide (no organisation)
    or for one organisation. `actor` None is the command line."""
    if actor is not None and not may_decide(session, actor, organisation_id):
        raise NotAllowed("Only an administrator, or a manager of the organisation, can "
                         "decide this.")
    version = course.published_version
    if not proposes_requirement(version):
        raise DecisionRefused(f"{course.code} is not required of anyone by its own settings.")
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    if organisation_id is not None and organisation is None:
        raise DecisionRefused("Select an organisation from the list.")
    key, rule = scope_key(organisation_id), rule_key(version)
    query = select(RequirementAcceptance).where(RequirementAcceptance.course_id == course.id,
                                                RequirementAcceptance.scope_key == key)
    row = session.scalar(query)
    before = None if row is None else {"accepted": row.accepted, "rule": row.rule}
    if row is None:
        try:
            with session.begin_nested():
                row = RequirementAcceptance(course_id=course.id, scope_key=key,
                                            organisation_id=organisation_id, rule=rule,
                                            accepted=accept)
                session.add(row)
        except IntegrityError:  # decided at the same moment elsewhere: this one stands
            row = session.scalar(query)
    row.rule, row.accepted = rule, accept
    row.decided_at, row.decided_by_id = utcnow(), actor.id if actor else None
    session.flush()
    where = organisation.name if organisation else "every organisation"
    action = "course_requirement.accepted" if accept else "course_requirement.declined"
    record_event(session, action, actor=actor, organisation_id=organisation_id,
                 summary=f"{course.code} required of {describe(version)}: "
                         f"{'accepted' if accept else 'declined'} for {where}",
                 details={"code": course.code, "rule": rule, "scope": key, "before": before,
                          "after": {"accepted": accept, "rule": rule}})
    return row


def accept_from_command_line(session: Session, course: Course) -> None:
    """A course published from the course folder by the command line: accepted site-wide,
    unless that `required_for` was already decided site-wide."""
    version = course.published_version
    if not proposes_requirement(version):
        return
    row = session.scalar(select(RequirementAcceptance).where(
        RequirementAcceptance.course_id == course.id,
        RequirementAcceptance.scope_key == SITE))
    if row is not None and row.rule == rule_key(version):
        return
    decide(session, None, course, None, True)


def describe(version: CourseVersion) -> str:
    services = ", ".join(SERVICE_LABELS[s] for s in version.required_services or [])
    roles = ", ".join(COMMAND_ROLE_LABELS[r].lower() for r in version.required_roles or [])
    return f"{services}; {roles}"


# --- what waits for a decision -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Proposal:
    """A course's `required_for` that nobody has decided on for this scope."""

    course: Course
    version: CourseVersion
    organisation: Organisation | None  # None: site-wide (administrators)
    declined: bool  # declined before: shown so it can be accepted after all

    @property
    def described(self) -> str:
        return describe(self.version)


def proposals(session: Session, viewer: User, *, include_declined: bool = False
              ) -> list[Proposal]:
    """What the viewer may accept or decline: for an administrator, each course's
    `required_for` not yet decided site-wide; for a manager, each one not accepted
    site-wide that applies to a service of an organisation they manage and that nobody
    has decided for that organisation."""
    scope = managed_organisation_ids(session, viewer)
    if scope is not None and (not scope or not viewer.has_permission(Permission.MANAGER)):
        return []
    published = session.scalars(select(Course).where(Course.published_version_id.is_not(None))
                                .order_by(Course.code))
    decided = {(row.course_id, row.scope_key): row
               for row in session.scalars(select(RequirementAcceptance))}
    found = []
    organisations = (list(session.scalars(select(Organisation).where(
        Organisation.id.in_(sorted(scope))).order_by(Organisation.name)))
        if scope is not None else [])
    for course in published:
        version = course.published_version
        if not proposes_requirement(version):
            continue
        rule = rule_key(version)
        site = decided.get((course.id, SITE))
        site_current = site is not None and site.rule == rule
        if site_current and site.accepted:
            continue
        if scope is None:
            if not site_current or (include_declined and not site.accepted):
                found.append(Proposal(course, version, None, declined=site_current))
            continue
        for organisation in organisations:
            if organisation.service not in version.required_services:
                continue
            mine = decided.get((course.id, scope_key(organisation.id)))
            current = mine is not None and mine.rule == rule
            if not current or (include_declined and not mine.accepted):
                found.append(Proposal(course, version, organisation, declined=current))
    return found


def last_decided_at(session: Session):
    """When a requirement was last accepted or declined: reports kept for a while are
    worked out again after a decision."""
    return session.scalar(select(func.max(RequirementAcceptance.decided_at)))
