"""The dashboard's trend, worked out for every month in one statement, against the matrix
worked out month by month: the same figures on invented histories with people who joined,
left and moved, completions that expired, were renewed or never expire, versions that need
renewal, rules for one organisation or role, and exercises."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from jesip_learn.accounts.models import PreviousMembership
from jesip_learn.compliance.dashboard import compliance_matrix, compliance_trend, month_ends
from jesip_learn.compliance.models import Requirement
from jesip_learn.compliance.report_filters import ReportFilters, end_of_day
from jesip_learn.compliance.requirements import exercise_column_id
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import Course, CourseVersion
from jesip_learn.exercises.models import Exercise, ExerciseParticipant, ExerciseRequirement
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion, ItemProgress
from tests.support.factories import make_organisation, make_user

VALID = __import__("pathlib").Path(__file__).parent / "content" / "fixtures" / "valid-course"
AS_OF = date(2026, 3, 31)
ROLES = ("operational", "tactical", "strategic", "control-room", "staff")


@pytest.fixture
def course(session):
    outcome, = courses.import_parsed(session, courses.parse_folders(VALID))
    return courses.find_version(session, outcome.code).course


def _second_course(session) -> Course:
    """A course required of tactical and strategic police commanders only."""
    course = Course(code="TACTICAL", slug="tactical")
    session.add(course)
    session.flush()
    version = CourseVersion(course_id=course.id, number=1, content_hash="a" * 64,
                            title="Tactical", required_services=["police"],
                            required_roles=["tactical", "strategic"],
                            published_at=datetime(2023, 1, 1, tzinfo=UTC))
    session.add(version)
    session.flush()
    course.published_version_id = version.id
    session.flush()
    return course


def _moment(rng: random.Random, start: datetime, days: int) -> datetime:
    return start + timedelta(days=rng.uniform(0, days))


def _history(session, course, seed: int, people: int = 40):
    """Organisations, rules and people with random histories over about two years."""
    rng = random.Random(seed)
    start = datetime(2024, 6, 1, tzinfo=UTC)
    span = (end_of_day(AS_OF) - start).days + 30
    police = [make_organisation(session, service="police") for _ in range(2)]
    fire = make_organisation(session, service="fire")
    council = make_organisation(session, service="other")
    organisations = [*police, fire, council]
    second = _second_course(session)
    everyone = [course, second]
    # Rules: the awareness course for the council's staff; the second course for one fire
    # service's control room; an exercise every 12 months for police commanders and every
    # 24 months for the fire service.
    session.add_all([
        Requirement(course_id=course.id, organisation_id=council.id, command_role="staff"),
        Requirement(course_id=second.id, organisation_id=fire.id, command_role="control-room"),
        Requirement(course_id=course.id, service="police"),  # overlaps front matter
        ExerciseRequirement(months=12, service="police", command_role="tactical"),
        ExerciseRequirement(months=24, organisation_id=fire.id),
    ])
    # Versions needing renewal, published during the period.
    for number, course_ in enumerate(everyone, start=10):
        session.add(CourseVersion(course_id=course_.id, number=number, content_hash="b" * 64,
                                  title="Renewed", needs_renewal=True,
                                  published_at=_moment(rng, start, span)))
    exercises = [Exercise(title=f"Exercise {n}", kind="live",
                          held_on=(start + timedelta(days=rng.uniform(-400, span))).date())
                 for n in range(4)]
    session.add_all(exercises)
    session.flush()

    for _ in range(people):
        organisation = rng.choice(organisations)
        person = make_user(session, organisation=organisation, command_role=rng.choice(ROLES))
        person.joined_at = person.created_at = _moment(rng, start - timedelta(days=200), span)
        person.approved_at = None if rng.random() < 0.05 else person.created_at
        if rng.random() < 0.15:
            person.is_active = False
            person.deactivated_at = _moment(rng, person.joined_at, span)
        if rng.random() < 0.3:  # moved, once or twice: their current membership starts later
            began = person.joined_at
            for _ in range(rng.choice((1, 1, 2))):
                ended = _moment(rng, began, 300)
                session.add(PreviousMembership(
                    user_id=person.id, organisation_id=rng.choice(organisations).id,
                    command_role=rng.choice(ROLES), started_at=began, ended_at=ended))
                began = ended
            if rng.random() < 0.7:  # else an imported history overlaps the current membership
                person.joined_at = began
        for course_ in everyone:
            when = _moment(rng, start - timedelta(days=400), span + 300)
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                months = rng.choice((12, 12, 6, None))
                session.add(Completion(
                    user_id=person.id, course_id=course_.id, completed_at=when,
                    expires_at=progress.add_months(when, months) if months else None,
                    source="NCALT"))
                if rng.random() < 0.2:  # the same moment twice: the later id decides
                    session.add(Completion(user_id=person.id, course_id=course_.id,
                                           completed_at=when, expires_at=None, source="NCALT"))
                when += timedelta(days=rng.uniform(30, 500))
            if rng.random() < 0.3:
                session.add(ItemProgress(user_id=person.id, course_id=course_.id,
                                         item_slug="x", started_at=_moment(rng, start, span)))
        for exercise in rng.sample(exercises, rng.choice((0, 1, 2))):
            confirmed = (None if rng.random() < 0.2 else datetime.combine(
                exercise.held_on, datetime.min.time(), tzinfo=UTC)
                + timedelta(days=rng.uniform(0, 60)))
            session.add(ExerciseParticipant(exercise_id=exercise.id, user_id=person.id,
                                            role="staff", confirmed_at=confirmed))
    session.flush()
    return organisations, everyone


def _month_by_month(session, scope, filters, months=12):
    """The matrix's total at each month-end: the status computation the trend must equal."""
    figures = []
    for day in month_ends(filters.as_of, months):
        total = compliance_matrix(session, scope, replace(filters, as_of=day)).total
        figures.append((day, total.compliant, total.total))
    return figures


def _trend(session, scope, filters, months=12):
    return [(point.as_of, point.compliant, point.total)
            for point in compliance_trend(session, scope, filters, months)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_trend_equals_the_status_of_each_month(session, course, seed):
    _history(session, course, seed)
    filters = ReportFilters(as_of=AS_OF)
    expected = _month_by_month(session, None, filters)
    assert _trend(session, None, filters) == expected
    assert any(compliant for _, compliant, _ in expected)  # the history is not trivial
    assert len({figures[1:] for figures in expected}) > 3  # and it changes over time


def test_the_trend_equals_the_status_of_each_month_within_filters_and_scope(session, course):
    organisations, everyone = _history(session, course, seed=7, people=50)
    police, _, fire, council = organisations
    base = ReportFilters(as_of=date(2026, 2, 14), expiring_days=30)
    cases = [
        ({police.id, council.id}, base),
        (set(), base),
        (None, replace(base, service="police")),
        (None, replace(base, organisation_id=fire.id)),
        (None, replace(base, command_role="tactical")),
        (None, replace(base, course_id=everyone[1].id)),
        (None, replace(base, course_id=exercise_column_id(12))),
        (None, replace(base, group_by="command-role", state="expired")),
    ]
    for scope, filters in cases:
        assert _trend(session, scope, filters, months=6) == _month_by_month(
            session, scope, filters, months=6), (scope, filters)


def test_the_last_point_is_the_matrix_total_given(session, course):
    _history(session, course, seed=4, people=20)
    filters = ReportFilters(as_of=AS_OF)
    matrix = compliance_matrix(session, None, filters)
    trend = compliance_trend(session, None, filters, last=matrix.total)
    assert (trend[-1].as_of, trend[-1].compliant, trend[-1].total) == (
        AS_OF, matrix.total.compliant, matrix.total.total)
    assert _trend(session, None, filters) == [
        (point.as_of, point.compliant, point.total) for point in trend]


def test_nothing_required_gives_empty_months(session):
    make_user(session)
    trend = compliance_trend(session, None, ReportFilters(as_of=AS_OF), months=3)
    assert [(point.compliant, point.total) for point in trend] == [(0, 0)] * 3
