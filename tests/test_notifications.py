"""What notifications are due, worked out day by day: reminders at 90, 30 and 7 days, on
the day training runs out and monthly while it is overdue; never for people the course is
not required of, deactivated people, or kinds a person has turned off; recorded once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.compliance.report_filters import today_in_london
from jesip_learn.courses import catalogue as courses
from jesip_learn.learning.models import Completion
from jesip_learn.notifications import notices, planning, preferences
from jesip_learn.notifications.models import Notice, NotificationPreference
from jesip_learn.notifications.settings import (
    NotificationSettings,
    NotificationSettingsError,
    reminder_days,
    settings_from_config,
)
from tests.support.factories import make_organisation, make_user

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
TODAY = date(2027, 3, 1)
SETTINGS = NotificationSettings(site_url="https://learn.example", secret_key="k")


@pytest.fixture
def course(session):
    outcome, = courses.import_parsed(session, courses.parse_folders(VALID))
    return courses.find_version(session, outcome.code).course


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _person(session, *, service="police", **kwargs):
    person = make_user(session, organisation=make_organisation(session, service=service),
                       **kwargs)
    person.created_at = person.approved_at = person.joined_at = _noon(
        TODAY - timedelta(days=800))
    return person


def _due_on(session, person, course, day: date) -> Completion:
    completion = Completion(user_id=person.id, course_id=course.id,
                            version_id=course.published_version_id,
                            completed_at=_noon(day - timedelta(days=365)),
                            expires_at=_noon(day), certificate_code=None, source="")
    session.add(completion)
    session.flush()
    return completion


def _notices_today(session, today=TODAY, settings=SETTINGS):
    return {(notice.user_id, notice.kind, notice.period)
            for notice in planning.learner_notices(session, settings, today)}


@pytest.mark.parametrize(("days_left", "expected"), [
    (120, None), (91, None), (90, "reminder:90d"), (45, "reminder:90d"), (31, "reminder:90d"),
    (30, "reminder:30d"), (8, "reminder:30d"), (7, "reminder:7d"), (1, "reminder:7d"),
    (0, "overdue:overdue-0"), (-27, "overdue:overdue-0"), (-28, "overdue:overdue-1"),
    (-60, "overdue:overdue-2"),
])
def test_the_notice_for_each_number_of_days_left(session, course, days_left, expected):
    person = _person(session)
    due = TODAY + timedelta(days=days_left)
    _due_on(session, person, course, due)
    found = _notices_today(session)
    if expected is None:
        assert found == set()
    else:
        kind, step = expected.split(":")
        assert found == {(person.id, kind, f"{due.isoformat()}/{step}")}


def test_a_year_day_by_day_brings_each_notice_once(session, course):
    """From 100 days before to 70 days after: three reminders, the day itself and two
    monthly overdue notices, each recorded once however often the days are run."""
    person = _person(session)
    due = TODAY + timedelta(days=100)
    _due_on(session, person, course, due)
    for offset in range(0, 171):
        day = TODAY + timedelta(days=offset)
        for _ in range(2):  # cron runs many times a day
            for draft in planning.due_drafts(session, SETTINGS, _noon(day)):
                if draft.kind != "digest":
                    notices.record(session, draft, _noon(day))
    rows = session.execute(select(Notice.kind, Notice.period, Notice.created_at)
                           .where(Notice.recipient_id == person.id)
                           .order_by(Notice.created_at)).all()
    stamp = due.isoformat()
    assert [(kind, period) for kind, period, _ in rows] == [
        ("reminder", f"{stamp}/90d"), ("reminder", f"{stamp}/30d"), ("reminder", f"{stamp}/7d"),
        ("overdue", f"{stamp}/overdue-0"), ("overdue", f"{stamp}/overdue-1"),
        ("overdue", f"{stamp}/overdue-2")]
    days = [today_in_london(created) for _, _, created in rows]
    assert days == [due - timedelta(days=90), due - timedelta(days=30), due - timedelta(days=7),
                    due, date(2027, 7, 9), date(2027, 8, 9)]


def test_renewing_starts_the_reminders_again(session, course):
    person = _person(session)
    _due_on(session, person, course, TODAY + timedelta(days=20))
    first = _notices_today(session)
    session.add(Completion(user_id=person.id, course_id=course.id,
                           version_id=course.published_version_id,
                           completed_at=_noon(TODAY - timedelta(days=300)),
                           expires_at=_noon(TODAY + timedelta(days=65)), source=""))
    session.flush()
    second = _notices_today(session)
    assert first != second
    assert second == {(person.id, "reminder",
                       f"{(TODAY + timedelta(days=65)).isoformat()}/90d")}


def test_nothing_for_people_the_course_is_not_required_of(session, course):
    person = _person(session, service="other")
    _due_on(session, person, course, TODAY + timedelta(days=7))
    assert _notices_today(session) == set()


def test_nothing_for_deactivated_people(session, course):
    person = _person(session)
    _due_on(session, person, course, TODAY + timedelta(days=7))
    person.is_active = False
    person.deactivated_at = _noon(TODAY - timedelta(days=2))
    session.flush()
    assert _notices_today(session) == set()


def test_nothing_for_training_never_completed_or_never_expiring(session, course):
    _person(session)  # required, never completed: no due date to remind of
    lifelong = _person(session)
    session.add(Completion(user_id=lifelong.id, course_id=course.id,
                           completed_at=_noon(TODAY - timedelta(days=3)), expires_at=None,
                           source="paper record"))
    session.flush()
    assert _notices_today(session) == set()


def test_preferences_turn_off_each_kind_on_its_own(session, course):
    no_reminders, no_overdue = _person(session), _person(session)
    for person in (no_reminders, no_overdue):
        _due_on(session, person, course, TODAY + timedelta(days=7))
    session.add(NotificationPreference(user_id=no_reminders.id, expiry_reminders=False,
                                       overdue_notices=True))
    session.add(NotificationPreference(user_id=no_overdue.id, expiry_reminders=True,
                                       overdue_notices=False))
    session.flush()
    assert {user_id for user_id, _, _ in _notices_today(session)} == {no_overdue.id}
    later = TODAY + timedelta(days=8)
    assert {user_id for user_id, _, _ in _notices_today(session, later)} == {no_reminders.id}


def test_a_version_that_needs_renewal_makes_training_overdue(session, course):
    person = _person(session)
    _due_on(session, person, course, TODAY + timedelta(days=200))
    version = course.published_version
    version.needs_renewal = True
    version.published_at = _noon(TODAY - timedelta(days=2))
    session.flush()
    due = (TODAY - timedelta(days=2)).isoformat()
    assert _notices_today(session) == {(person.id, "overdue", f"{due}/overdue-0")}


def test_recording_a_notice_twice_keeps_one(session, course):
    person = _person(session)
    _due_on(session, person, course, TODAY + timedelta(days=7))
    now = _noon(TODAY)
    drafts = list(planning.due_drafts(session, SETTINGS, now))
    assert len(drafts) == 1
    assert notices.record(session, drafts[0], now) is True
    assert notices.record(session, drafts[0], now) is False
    assert list(planning.due_drafts(session, SETTINGS, now)) == []
    assert session.scalar(select(func.count()).select_from(Notice)) == 1


def test_the_email_says_what_is_due_when_and_where_to_go(session, course):
    person = _person(session, name="Ann Example")
    _due_on(session, person, course, TODAY + timedelta(days=30))
    draft, = planning.due_drafts(session, SETTINGS, _noon(TODAY))
    assert draft.to_address == person.email
    assert draft.mail_subject == f"{course.title}: your training runs out on 31 March 2027"
    for body in (draft.text_body, draft.html_body):
        assert "Ann Example" in body and "31 March 2027" in body
        assert "https://learn.example/learn/JESIP-AWARE" in body
        assert "https://learn.example/unsubscribe/" in body
    assert "<h1" in draft.html_body and "<h2" in draft.html_body


def test_unsubscribe_tokens_are_signed_and_name_one_kind(session):
    person = make_user(session)
    request = preferences.UnsubscribeRequest(person.id, "reminder")
    token = preferences.unsubscribe_token("k", request)
    assert preferences.read_unsubscribe_token("k", token) == request
    assert preferences.read_unsubscribe_token("other key", token) is None
    assert preferences.read_unsubscribe_token("k", token[:-2] + "xx") is None
    assert preferences.unsubscribe(session, request) is True
    assert preferences.preferences_for(session, person).expiry_reminders is False
    assert preferences.preferences_for(session, person).overdue_notices is True
    assert preferences.unsubscribe(session, request) is False  # off already


def test_settings_are_checked():
    assert reminder_days("7, 90,30") == (90, 30, 7)
    for bad in ("", "ninety", "0,30", "400"):
        with pytest.raises(NotificationSettingsError):
            reminder_days(bad)
    with pytest.raises(NotificationSettingsError, match="SITE_URL"):
        settings_from_config({"SECRET_KEY": "k"})
    with pytest.raises(NotificationSettingsError, match="weekly or monthly"):
        settings_from_config({"SECRET_KEY": "k", "SITE_URL": "https://a.example",
                              "NOTIFY_DIGEST_FREQUENCY": "daily"})
    settings = settings_from_config({"SECRET_KEY": "k", "SERVER_NAME": "jesip.test"})
    assert settings.site_url == "https://jesip.test"


def test_backoff_doubles_up_to_the_cap():
    settings = NotificationSettings(site_url="x", secret_key="k", retry_base_seconds=60,
                                    retry_max_seconds=600)
    assert [notices.backoff(n, settings).total_seconds() for n in range(1, 6)] == [
        60, 120, 240, 480, 600]


def test_period_keys():
    assert planning.period_key("weekly", date(2027, 4, 7)) == "2027-W14"
    assert planning.period_key("monthly", date(2027, 4, 7)) == "2027-04"
    assert planning.period_key("weekly", date(2027, 1, 1)) == "2026-W53"


def test_a_claimed_notice_is_nobody_elses_and_is_given_up_after_the_last_try(session,
                                                                            course):
    person = _person(session)
    _due_on(session, person, course, TODAY + timedelta(days=7))
    now = _noon(TODAY)
    draft, = planning.due_drafts(session, SETTINGS, now)
    notices.record(session, draft, now)
    settings = NotificationSettings(site_url="x", secret_key="k", max_attempts=2)
    held = notices.claim(session, "first", 10, 300, now)
    assert len(held) == 1 and notices.claim(session, "second", 10, 300, now) == []
    notices.mark_failed(session, "first", held[0].id, "refused", settings, now)
    assert (held[0].status, held[0].attempts) == ("queued", 1)
    assert notices.claim(session, "second", 10, 300, now + timedelta(seconds=59)) == []
    again = notices.claim(session, "second", 10, 300, now + timedelta(seconds=60))
    notices.mark_failed(session, "second", again[0].id, "refused", settings, now)
    session.flush()
    assert (again[0].status, again[0].attempts) == ("failed", 2)
    assert notices.notice_summary(session).counts["failed"] == 1
    assert notices.retry(session) == 1


def test_an_exercise_a_rule_requires_is_reminded_like_a_course(session):
    from jesip_learn.exercises import participants as exercise_participants
    from jesip_learn.exercises import recorded as exercises
    from jesip_learn.exercises import rules as exercise_rules
    from jesip_learn.exercises.recorded import ExerciseDetails

    police = make_organisation(session, service="police")
    fire = make_organisation(session, service="fire")
    admin = make_user(session, organisation=police, permissions={"admin"})
    commander = make_user(session, organisation=police, name="Cara Commander",
                          command_role="tactical")
    commander.created_at = commander.approved_at = commander.joined_at = _noon(
        TODAY - timedelta(days=800))
    exercise_rules.add_exercise_rule(session, admin, months="12", service=None,
                                     organisation_id=None, command_role="tactical")
    held = TODAY + timedelta(days=19) - timedelta(days=365)  # runs out in 19 days
    exercise = exercises.record_exercise(session, admin, ExerciseDetails(
        title="Operation Harbour", held_on=held, kind="table-top", location="Westshire HQ",
        organisation_ids=(police.id, fire.id), command_roles=("tactical",),
        principles=("co-locate",), jdm_stages=("information",)))
    exercise_participants.confirm_attendance(session, admin, exercise_participants.add_participant(
        session, admin, exercise, commander, "tactical"))
    session.flush()

    notice, = [n for n in planning.learner_notices(session, SETTINGS, TODAY)
               if n.user_id == commander.id]
    assert (notice.kind, notice.threshold, notice.subject_key) == ("reminder", 30,
                                                                   "exercise:12")
    draft = planning.learner_draft(session, SETTINGS, notice)
    assert draft.mail_subject == ("Multi-agency exercise (12 months): your training runs out "
                                  "on 20 March 2027")
    for body in (draft.text_body, draft.html_body):
        assert "take part in a multi-agency exercise" in body.lower()
        assert "https://learn.example/learn" in body and "complete the course" not in body

    # The manager's digest names the exercise column among what runs out soon.
    figures = planning.digest_figures(session, {police.id}, SETTINGS,
                                      since=_noon(TODAY - timedelta(days=7)),
                                      now=_noon(TODAY), previous_percent=None)
    assert [(line.name, line.course) for line in figures.expiring_soon] == [
        ("Cara Commander", "EXERCISE-12: Multi-agency exercise (12 months)")]


def test_a_manager_who_turned_the_digest_off_gets_none(session, course):
    manager = _person(session, permissions={"manager"})
    session.flush()
    now = _noon(TODAY)

    def digests():
        return [d for d in planning.due_drafts(session, SETTINGS, now)
                if d.kind == "digest" and d.recipient_id == manager.id]
    assert len(digests()) == 1
    preferences.save_preferences(session, manager, expiry_reminders=True,
                                 overdue_notices=True, digest_frequency="off")
    assert digests() == []
