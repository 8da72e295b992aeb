"""Live exercise scripts on learners' and trainers' pages: listed, never linked to a page
that does not exist, and never in the way of a course's other items."""

from __future__ import annotations

import pytest

from jesip_learn.content import parse_course_files
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import CourseEditor
from tests.test_exercise_items import EXAMPLE, mixed_course


@pytest.fixture
def mixed(session, tmp_path):
    courses.import_parsed(session, courses.parse_folders(mixed_course(tmp_path / "mixed")))
    courses.import_parsed(session, courses.parse_folders(EXAMPLE))
    session.commit()
    return courses.find_version(session, "LIVE-MIX")


@pytest.fixture
def learner(browser, make, organisation, mixed):
    browser.sign_in(make.user(organisation=organisation).email)
    return browser


def test_the_course_page_lists_an_exercise_without_a_link(learner):
    page = learner.get("/learn/LIVE-MIX")
    assert page.status == 200
    rows = page.soup.select(".govuk-task-list__item")
    assert [row.select_one(".govuk-task-list__name-and-hint").get_text(" ", strip=True)
            for row in rows] == [
        "Before the exercise Reading",
        "Shots fired at Central Station Live exercise — run by a facilitator, 40 minutes",
        "After the exercise Reading",
    ]
    assert rows[1].select("a") == []
    assert "Not needed to complete" in rows[1].get_text()
    links = [a["href"] for a in page.soup.select("main a[href]")]
    assert not any("central-station" in href for href in links)
    start = page.soup.find("a", string=lambda s: s and s.strip() == "Start")
    assert start["href"] == "/learn/LIVE-MIX/modules/before"


def test_the_last_module_finishes_the_course_past_the_exercise(learner, session):
    learner.submit("/learn/LIVE-MIX/modules/before/complete", {},
                   form_url="/learn/LIVE-MIX/modules/before")
    page = learner.get("/learn/LIVE-MIX/modules/after")
    assert page.status == 200
    previous = page.soup.select_one(".govuk-pagination__prev a")
    assert previous["href"] == "/learn/LIVE-MIX/modules/before"  # not the exercise
    page = learner.submit("/learn/LIVE-MIX/modules/after/complete", {},
                          form_url="/learn/LIVE-MIX/modules/after")
    assert page.status == 200 and page.h1 == "Working together live"
    assert any("You have completed Working together live" in note
               for note in page.notifications)
    assert "In date until" in page.text


def test_a_course_of_only_exercises_has_nothing_to_start(learner):
    page = learner.get("/learn/EXERCISE-EXAMPLE")
    assert page.status == 200
    assert page.soup.find("a", string=lambda s: s and s.strip() in ("Start", "Continue")) is None
    assert "Live exercises, run by a facilitator: nothing to complete on your own" in page.text
    assert page.soup.select_one(".govuk-inset-text .govuk-tag") is None  # not "Not started"
    training = learner.get("/learn")
    assert training.status == 200 and "Live exercises, run by a facilitator" in training.text


def test_exercise_scripts_have_no_learner_pages(learner):
    for kind in ("modules", "quizzes", "scenarios"):
        assert learner.get(f"/learn/LIVE-MIX/{kind}/central-station").status == 404


@pytest.fixture
def trainer(browser, make, organisation, session, mixed):
    user = make.user(organisation=organisation, permissions={"trainer"})
    session.add(CourseEditor(course_id=mixed.course_id, user_id=user.id, role="editor"))
    session.commit()
    browser.sign_in(user.email)
    return browser


def test_the_trainers_course_page_lists_the_exercise_script(trainer):
    page = trainer.get("/author/courses/LIVE-MIX")
    assert page.status == 200
    row = next(tr for tr in page.soup.select("tbody tr") if "Shots fired" in tr.get_text())
    assert [td.get_text(strip=True) for td in row.select("td")] == [
        "Shots fired at Central Station", "Live exercise script", "–"]
    for analysis in ("quizzes", "scenarios"):
        assert trainer.get(
            f"/author/courses/LIVE-MIX/{analysis}/central-station/analysis").status == 404


def test_the_editor_lists_and_previews_an_exercise_script(trainer):
    page = trainer.get("/author/courses/LIVE-MIX/draft")
    assert page.status == 200 and "Live exercise script" in page.text
    page = trainer.get("/author/courses/LIVE-MIX/draft/pages/02-central-station.exercise.md")
    assert page.status == 200
    text = page.text
    assert "Police control room supervisor" in text and "Inter-control talk group" in text
    assert "released by the facilitator" in text and "at 00:08" in text
    assert "Expected from police-control to inter-control within 05:00" in text
    assert "Bus depot on King Street" in text and "(2 points)" in text


def test_a_trainer_adds_an_exercise_script_that_validates(browser, make, organisation):
    browser.sign_in(make.user(organisation=organisation, permissions={"trainer"}).email)
    browser.submit("/author/new", {"title": "Live drills", "code": "DRILLS",
                                   "summary": "Joint exercises."})
    page = browser.submit("/author/courses/DRILLS/draft/items",
                          {"kind": "exercise", "title": "Smoke at the depot"},
                          form_url="/author/courses/DRILLS/draft")
    assert page.status == 200
    assert page.h1.startswith("Edit 02-smoke-at-the-depot.exercise.md")
    assert "Joint decision" in page.text and "Key fact" in page.text
    draft = browser.get("/author/courses/DRILLS/draft")
    assert "None: the draft can be published." in draft.text



def test_the_format_reference_example_of_a_script_validates(trainer):
    page = trainer.get("/author/format")
    assert page.status == 200
    example = next(pre.get_text() for pre in page.soup.select("pre")
                   if "Smoke at the depot" in pre.get_text())
    result = parse_course_files({"course.md": b"---\ntitle: T\ncode: T\n---\n",
                                 "01-smoke.exercise.md": example.encode()})
    assert result.ok, [str(problem) for problem in result.problems]
    assert result.course.items[0].kind == "exercise"
