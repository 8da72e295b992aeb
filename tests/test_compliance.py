"""Compliance: requirement rules, each person's status as of a date, and the matrix, checked
against the same figures computed independently in plain Python."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from jesip_learn.compliance import acceptance as requirement_acceptance
from jesip_learn.compliance.dashboard import compliance_matrix, compliance_trend, month_ends
from jesip_learn.compliance.models import Requirement
from jesip_learn.compliance.person_status import iter_learner_statuses, learner_statuses
from jesip_learn.compliance.report_filters import ReportFilters, end_of_day
from jesip_learn.compliance.requirements import RuleError, add_rule, remove_rule, rules_in_scope
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import CourseVersion
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion, ItemProgress
from tests.support.factories import make_organisation, make_user

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
AS_OF = date(2026, 3, 31)
MOMENT = end_of_day(AS_OF)


@pytest.fixture
def course(session):
    outcome, = courses.import_parsed(session, courses.parse_folders(VALID))
    return courses.find_version(session, outcome.code).course


def _complete(session, user, course, when, *, months=12, source=""):
    completion = Completion(user_id=user.id, course_id=course.id,
                            version_id=None if source else course.published_version_id,
                            completed_at=when,
                            expires_at=progress.add_months(when, months) if months else None,
                            certificate_code=None if source else progress.new_certificate_code(),
                            source=source)
    session.add(completion)
    session.flush()
    return completion


def _start(session, user, course, when):
    session.add(ItemProgress(user_id=user.id, course_id=course.id, item_slug="x",
                             started_at=when))
    session.flush()


def _aged(user, days):
    user.created_at = user.joined_at = MOMENT - timedelta(days=days)
    user.approved_at = user.created_at


def test_end_of_day_is_the_last_moment_of_the_uk_day():
    summer = end_of_day(date(2026, 6, 30))
    assert summer == datetime(2026, 6, 30, 22, 59, 59, 999999, tzinfo=UTC)  # BST
    winter = end_of_day(date(2026, 1, 31))
    assert winter == datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)


def test_each_status_as_of_a_date(session, course):
    police = make_organisation(session, service="police")
    people = {name: make_user(session, organisation=police, name=name) for name in (
        "in date", "expiring", "expired", "in progress", "not started", "later completion")}
    for person in people.values():
        _aged(person, 900)
    _complete(session, people["in date"], course, MOMENT - timedelta(days=30))
    _complete(session, people["expiring"], course, MOMENT - timedelta(days=300))
    _complete(session, people["expired"], course, MOMENT - timedelta(days=400))
    _start(session, people["in progress"], course, MOMENT - timedelta(days=3))
    _start(session, people["not started"], course, MOMENT + timedelta(days=3))  # after as-of
    _complete(session, people["later completion"], course, MOMENT + timedelta(days=1))

    page = learner_statuses(session, None, ReportFilters(as_of=AS_OF))
    states = {row.name: row.state for row in page.rows}
    assert states == {"in date": "in-date", "expiring": "expiring", "expired": "expired",
                      "in progress": "in-progress", "not started": "not-started",
                      "later completion": "not-started"}


def test_the_expiring_window_is_configurable(session, course):
    person = make_user(session)
    _aged(person, 900)
    _complete(session, person, course, MOMENT - timedelta(days=300))  # ~65 days left
    def state(days):
        filters = ReportFilters(as_of=AS_OF, expiring_days=days)
        return learner_statuses(session, None, filters).rows[0].state
    assert state(90) == "expiring"
    assert state(30) == "in-date"


def test_a_version_that_needs_renewal_makes_earlier_completions_due(session, course):
    person = make_user(session)
    _aged(person, 900)
    _complete(session, person, course, MOMENT - timedelta(days=30))
    renewal = CourseVersion(course_id=course.id, number=99, content_hash="f" * 64,
                            title="Renewed", required_services=["police"],
                            required_roles=["operational"], needs_renewal=True,
                            published_at=MOMENT - timedelta(days=10))
    session.add(renewal)
    session.flush()
    as_of = learner_statuses(session, None, ReportFilters(as_of=AS_OF)).rows
    assert as_of[0].state == "expired"
    before = learner_statuses(
        session, None, ReportFilters(as_of=AS_OF - timedelta(days=15))).rows
    assert before[0].state == "in-date"  # the renewal was not yet published then


def test_people_count_only_while_they_held_an_approved_account(session, course):
    police = make_organisation(session)
    joined_later = make_user(session, organisation=police, name="joined later")
    joined_later.created_at = joined_later.joined_at = MOMENT + timedelta(days=1)
    left_later = make_user(session, organisation=police, name="left later")
    _aged(left_later, 500)
    left_later.is_active, left_later.deactivated_at = False, MOMENT + timedelta(days=5)
    left_before = make_user(session, organisation=police, name="left before")
    _aged(left_before, 500)
    left_before.is_active, left_before.deactivated_at = False, MOMENT - timedelta(days=5)
    pending = make_user(session, organisation=police, name="pending")
    _aged(pending, 500)
    pending.approved_at = None
    session.flush()
    names = {row.name for row in learner_statuses(
        session, None, ReportFilters(as_of=AS_OF)).rows}
    assert names == {"left later"}


def test_rules_add_requirements_to_what_the_course_requires(session, course):
    course.published_version.required_services = ["fire"]
    course.published_version.required_roles = ["strategic"]
    police, fire = make_organisation(session), make_organisation(session, service="fire")
    police_tactical = make_user(session, organisation=police, command_role="tactical")
    fire_strategic = make_user(session, organisation=fire, command_role="strategic")
    fire_staff = make_user(session, organisation=fire, command_role="staff")
    for person in (police_tactical, fire_strategic, fire_staff):
        _aged(person, 10)
    session.flush()

    def required():
        return {row.user_id for row in learner_statuses(
            session, None, ReportFilters(as_of=AS_OF)).rows}
    # The changed required_for is proposed again, and counts once accepted.
    assert required() == set()
    admin = make_user(session, permissions={"admin"})
    requirement_acceptance.decide(session, admin, course, None, True)
    assert required() == {fire_strategic.id}
    add_rule(session, admin, course_id=course.id, service=None,
                        organisation_id=police.id, command_role="tactical")
    assert required() == {fire_strategic.id, police_tactical.id}
    with pytest.raises(RuleError, match="already exists"):
        add_rule(session, admin, course_id=course.id, service=None,
                            organisation_id=police.id, command_role="tactical")
    # Overlapping requirements still count each person and course once.
    add_rule(session, admin, course_id=course.id, service="fire",
                        organisation_id=None, command_role=None)
    rows = learner_statuses(session, None, ReportFilters(as_of=AS_OF)).rows
    assert sorted(row.user_id for row in rows) == sorted(
        {fire_strategic.id, police_tactical.id, fire_staff.id})


def test_a_manager_adds_rules_only_for_organisations_they_manage(session, course):
    mine, theirs = make_organisation(session), make_organisation(session)
    manager = make_user(session, organisation=mine, permissions={"manager"})
    with pytest.raises(RuleError, match="organisations you manage"):
        add_rule(session, manager, course_id=course.id, service=None,
                            organisation_id=theirs.id, command_role=None)
    with pytest.raises(RuleError, match="organisations you manage"):
        add_rule(session, manager, course_id=course.id, service="police",
                            organisation_id=None, command_role=None)
    rule = add_rule(session, manager, course_id=course.id, service=None,
                               organisation_id=mine.id, command_role="staff")
    assert rules_in_scope(session, manager) == [rule]
    other_manager = make_user(session, organisation=theirs, permissions={"manager"})
    assert rules_in_scope(session, other_manager) == []
    with pytest.raises(PermissionError):
        remove_rule(session, other_manager, rule)
    remove_rule(session, manager, rule)
    assert session.get(Requirement, rule.id) is None


def test_a_manager_sees_only_their_organisations(session, course):
    mine, theirs = make_organisation(session), make_organisation(session)
    for organisation in (mine, theirs):
        _aged(make_user(session, organisation=organisation), 10)
    session.flush()
    rows = learner_statuses(session, {mine.id}, ReportFilters(as_of=AS_OF)).rows
    assert {row.organisation for row in rows} == {mine.name}
    # Asking for another organisation by filter finds nobody rather than widening scope.
    leak = ReportFilters(as_of=AS_OF, organisation_id=theirs.id)
    assert learner_statuses(session, {mine.id}, leak).total == 0
    assert compliance_matrix(session, {mine.id}, leak).is_empty
    assert compliance_matrix(session, set(), ReportFilters(as_of=AS_OF)).is_empty


def _expected_state(completions, starts, cutoff, moment, window_days):
    done = sorted((c for c in completions if c.completed_at <= moment),
                  key=lambda c: (c.completed_at, c.id))
    if not done:
        return "in-progress" if any(s <= moment for s in starts) else "not-started"
    latest = done[-1]
    if cutoff is not None and cutoff <= moment and latest.completed_at < cutoff:
        return "expired"
    if latest.expires_at is None:
        return "in-date"
    if latest.expires_at <= moment:
        return "expired"
    if latest.expires_at <= moment + timedelta(days=window_days):
        return "expiring"
    return "in-date"


def test_the_matrix_agrees_with_an_independent_count(session, course):
    chance = random.Random(20260331)
    organisations = [make_organisation(session, service=service)
                     for service in ("police", "fire", "ambulance", "police")]
    roles = ["operational", "tactical", "strategic", "control-room", "staff"]
    people, completions, starts = [], {}, {}
    for number in range(120):
        person = make_user(session, organisation=chance.choice(organisations),
                           command_role=chance.choice(roles))
        _aged(person, chance.randint(0, 1200))
        people.append(person)
        completions[person.id], starts[person.id] = [], []
        for _ in range(chance.choice([0, 0, 1, 1, 2, 3])):
            when = MOMENT - timedelta(days=chance.randint(-60, 1100))
            completions[person.id].append(_complete(session, person, course, when))
        if chance.random() < 0.3:
            when = MOMENT - timedelta(days=chance.randint(-30, 300))
            starts[person.id].append(when)
            session.add(ItemProgress(user_id=person.id, course_id=course.id,
                                     item_slug=f"item-{number}", started_at=when))
    session.flush()

    for as_of, group_by in ((AS_OF, "organisation"), (date(2025, 6, 30), "command-role")):
        filters = ReportFilters(as_of=as_of, group_by=group_by)
        moment = end_of_day(as_of)
        expected: dict[str, Counter] = {}
        for person in people:
            if person.joined_at > moment:
                continue
            state = _expected_state(completions[person.id], starts[person.id], None, moment, 90)
            key = str(person.organisation_id if group_by == "organisation"
                      else person.command_role)
            expected.setdefault(key, Counter())[state] += 1
        matrix = compliance_matrix(session, None, filters)
        got = {row.key: Counter({s: n for s, n in row.cells[course.id].counts.items() if n})
               for row in matrix.rows}
        assert got == expected
        assert matrix.total.total == sum(sum(c.values()) for c in expected.values())
        statuses = Counter(row.state for row in iter_learner_statuses(
            session, None, filters))
        assert statuses == sum(expected.values(), Counter())


def test_month_ends_run_back_from_the_as_of_date():
    assert month_ends(date(2026, 3, 15), 4) == [
        date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 15)]


def test_the_trend_counts_compliant_people_month_by_month(session, course):
    person = make_user(session)
    _aged(person, 400)
    _complete(session, person, course, end_of_day(date(2026, 1, 10)))
    filters = ReportFilters(as_of=AS_OF)
    trend = compliance_trend(session, None, filters, months=4)
    assert [(p.as_of, p.compliant, p.total) for p in trend] == [
        (date(2025, 12, 31), 0, 1), (date(2026, 1, 31), 1, 1), (date(2026, 2, 28), 1, 1),
        (date(2026, 3, 31), 1, 1)]


def test_an_imported_completion_counts_like_any_other(session, course):
    person = make_user(session)
    _aged(person, 900)
    _complete(session, person, course, MOMENT - timedelta(days=30), source="NCALT")
    row, = learner_statuses(session, None, ReportFilters(as_of=AS_OF)).rows
    assert (row.state, row.source) == ("in-date", "NCALT")
