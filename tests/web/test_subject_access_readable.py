"""The readable subject access page: what is held about the person in plain words, section
by section, with the JSON download beside it, and nothing of anyone else."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from jesip_learn.accounts.models import LoginFailure
from jesip_learn.core.columns import utcnow
from jesip_learn.courses import catalogue as courses
from jesip_learn.exercises import participants as exercise_participants
from jesip_learn.exercises import recorded as exercises
from jesip_learn.learning import progress, runs
from jesip_learn.learning.models import Completion, ItemProgress, QuizAttempt
from jesip_learn.notifications.reports import subscribe
from jesip_learn.records import personal_data as records
from jesip_learn.records import readable as records_readable
from tests.web.test_records_pages import VALID

NOW = utcnow()


@pytest.fixture
def course(session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, "JESIP-AWARE")


@pytest.fixture
def person(session, make, organisation, other_organisation, course):
    """A manager with a record of nearly every kind."""
    person = make.user(organisation=organisation, name="Rhiannon Records",
                       command_role="tactical", permissions={"manager"})
    make.user(organisation=organisation, name="Oscar Other")  # never on the page
    session.add(Completion(user_id=person.id, course_id=course.course_id, version_id=course.id,
                           completed_at=NOW - timedelta(days=30),
                           expires_at=progress.add_months(NOW - timedelta(days=30), 12),
                           certificate_code="JL-READA-BLE01"))
    session.add(ItemProgress(user_id=person.id, course_id=course.course_id,
                             item_slug="introduction", started_at=NOW - timedelta(days=32),
                             completed_at=NOW - timedelta(days=31)))
    quiz = next(item for item in courses.version_outline(course) if item.kind == "quiz")
    session.add(QuizAttempt(user_id=person.id, course_id=course.course_id, version_id=course.id,
                            item_slug=quiz.slug, started_at=NOW - timedelta(days=31),
                            question_ids=["q1"], option_order={"q1": ["b", "a"]},
                            answers={"q1": ["a"]}, submitted_at=NOW - timedelta(days=31),
                            correct=7, total=8, percent=87.5, passed=True))
    scenario = next(item for item in courses.version_outline(course) if item.kind == "scenario")
    run = runs.start_run(session, person, course, courses.version_item(course, scenario.slug))
    run.methane = {"step": ["Major incident declared"] + [""] * 6}
    recorder = make.user(organisation=organisation, name="Morgan Manager",
                         permissions={"manager"})
    exercise = exercises.record_exercise(session, recorder, exercises.ExerciseDetails(
        title="Operation Riverbank", held_on=date(2026, 3, 14), kind="table-top",
        location="Maidstone", organisation_ids=(organisation.id, other_organisation.id)))
    exercise_participants.add_participant(session, recorder, exercise, person, "tactical")
    subscribe(session, person, name="Monthly figures", query="", file_format="csv",
              frequency="monthly")
    session.commit()
    return person


def _section(page, key):
    heading = page.soup.find("h2", id=key)
    assert heading is not None, f"no section {key}"
    return " ".join(heading.find_parent("section").get_text(" ", strip=True).split())


def test_the_page_says_in_plain_words_what_is_held(browser, session, person, organisation):
    browser.sign_in(person.email)  # which clears earlier failed sign-ins
    session.add(LoginFailure(email=person.email, address="192.0.2.7", at=NOW))
    session.commit()
    page = browser.get("/account/my-data")
    assert page.status == 200 and page.h1 == "Your data"
    contents = [a.get_text(strip=True) for a in page.soup.select(".app-contents a")]
    assert contents[:3] == ["About you", "Where you have worked", "What you may do"]
    for a in page.soup.select(".app-contents a"):
        assert page.soup.find(id=a["href"].lstrip("#")) is not None

    about = _section(page, "account")
    assert "Name Rhiannon Records" in about and f"Email address {person.email}" in about
    assert "Command role Tactical commander" in about
    assert "Northshire Police (Police), tactical commander, from" in _section(
        page, "organisations")
    assert "Manager for Northshire Police, since" in _section(page, "permissions")
    completed = _section(page, "completions")
    assert "JESIP Awareness (JESIP-AWARE), completed on" in completed
    assert "certificate JL-READA-BLE01" in completed
    assert "2 items started, 1 finished" in _section(page, "progress")  # the scenario too
    assert "7 of 8 right (87.5%), passed" in _section(page, "quiz_attempts")
    assert "your M/ETHANE message: “Major incident declared”" in _section(page, "scenario_runs")
    assert ("Operation Riverbank (Table-top, 14 March 2026), as tactical commander; "
            "attendance not yet confirmed") in _section(page, "exercises")
    assert "Scheduled report “Monthly figures”, monthly, as CSV" in _section(
        page, "email_choices")
    assert "from network address 192.0.2.7" in _section(page, "security")
    assert "None held." in _section(page, "anonymisation")

    # No database dump: no column names, counters or JSON.
    for raw in ("session_epoch", "Session epoch", "option_order", "Option order", "{", "}",
                "_id", "password_hash", "Oscar"):
        assert raw not in page.soup.select_one("main").get_text(" "), raw
    download = page.soup.select_one(".app-related a[download]")
    assert download["href"] == "/account/my-data.json"
    assert browser.client.get(download["href"]).status_code == 200


def test_the_administrators_copy_is_the_persons_page(browser, make, organisation, person):
    admin = make.user(organisation=organisation, permissions={"admin"})
    browser.sign_in(admin.email)
    page = browser.get(f"/admin/users/{person.id}/subject-access")
    assert page.status == 200 and page.h1 == "Everything held about Rhiannon Records"
    assert "as they read it on their own “Your data” page" in page.text
    assert "7 of 8 right" in page.text
    assert page.soup.select_one(".app-related a[download]")["href"] == (
        f"/admin/users/{person.id}/subject-access.json")


def test_long_sections_list_the_newest_and_point_to_the_download(session, make, organisation,
                                                                  monkeypatch):
    monkeypatch.setattr(records_readable, "LISTED", 2)
    person = make.user(organisation=organisation, name="Frequent Failer")
    for minutes in range(5):
        session.add(LoginFailure(email=person.email, address=f"192.0.2.{minutes}",
                                 at=NOW - timedelta(minutes=minutes)))
    session.commit()
    export = records.subject_access(session, person)
    security = next(section for section in records_readable.readable_sections(session, export)
                    if section.key == "security")
    assert security.more == 3 and len(security.lines) == 2
    assert "192.0.2.0" in security.lines[0]  # newest first


def test_every_section_of_the_export_is_told(session, make, organisation):
    """A kind of record added to the export must be told on the page too."""
    person = make.user(organisation=organisation)
    export = records.subject_access(session, person)
    told = {section.key for section in records_readable.readable_sections(session, export)}
    folded = {"previous_memberships": "organisations", "notification_preferences":
              "email_choices", "report_subscriptions": "email_choices",
              "recovery_codes": "security", "links_sent": "security",
              "sign_in_failures": "security"}
    missing = {key for key in export["sections"] if folded.get(key, key) not in told}
    assert missing == set()
