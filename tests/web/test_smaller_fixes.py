"""Smaller things from the first-hour walk, each through the test client."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import attempt_answers, attempt_lookup, attempts, progress
from tests.support.quizzes import answer_values

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"
SLUG = "check-your-understanding"
OVERVIEW = f"/learn/JESIP-AWARE/quizzes/{SLUG}"


@pytest.fixture
def course_version(session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, "JESIP-AWARE")


def test_after_passing_a_quiz_continue_goes_to_the_next_part(browser, make, organisation,
                                                             course_version, session):
    learner = make.user(organisation=organisation)
    for item in course_version.items:
        if item.kind == "module":
            progress.complete_item(session, learner, course_version, item.slug)
    session.commit()
    browser.sign_in(learner.email)
    page = browser.submit(f"{OVERVIEW}/start", {}, form_url=OVERVIEW)
    attempt = attempt_lookup.open_attempt(session, learner, course_version.course, SLUG)
    page = browser.submit(f"{OVERVIEW}/attempts/{attempt.id}",
                          {**answer_values(attempt_answers.attempt_questions(attempt)),
                           "action": "submit"})
    assert page.status == 200 and page.h1 == "You passed"
    button = page.soup.find("a", class_="govuk-button")
    assert button.get_text(strip=True) == "Continue to Rising water at Riverside"
    assert button["href"].startswith("/learn/JESIP-AWARE/scenarios/")
    assert browser.get(button["href"]).status == 200


def test_the_last_failed_attempt_says_whom_to_ask(browser, make, organisation, course_version,
                                                  session):
    learner = make.user(organisation=organisation)
    make.user(organisation=organisation, name="Mo Manager", permissions={"manager"})
    quiz = courses.version_item(course_version, SLUG)
    for number in range(quiz.max_attempts - 1):
        done = attempts.start_attempt(session, learner, course_version, quiz,
                                      random.Random(number))
        attempts.submit_attempt(session, done,
                                answer_values(attempt_answers.attempt_questions(done),
                                              right=False))
    session.commit()
    browser.sign_in(learner.email)
    browser.submit(f"{OVERVIEW}/start", {}, form_url=OVERVIEW)
    attempt = attempt_lookup.open_attempt(session, learner, course_version.course, SLUG)
    page = browser.submit(f"{OVERVIEW}/attempts/{attempt.id}",
                          {**answer_values(attempt_answers.attempt_questions(attempt), right=False),
                           "action": "submit"})
    assert page.status == 200 and page.h1 == "You did not pass"
    assert "Mo Manager, your manager" in page.text
    assert not page.soup.find("a", class_="govuk-button")


def test_people_has_one_place_in_the_navigation(browser, make, organisation, session):
    admin = make.user(organisation=organisation, permissions={"admin"})
    waiting = make.user(organisation=organisation, name="Wendy Waiting")
    waiting.approved_at = None
    session.commit()
    browser.sign_in(admin.email)
    page = browser.get("/manage/people")
    assert page.status == 200 and page.h1 == "People"
    links = [a.get_text(strip=True) for a in page.soup.select(".govuk-service-navigation__link")
             if a.name == "a"]
    assert links[1:] == ["My training", "Courses", "Compliance", "People", "Exercises",
                     "Administration", "Your account"]
    assert "1 account waits for you." in page.text
    for target in ("/manage/approvals", "/manage/transfers", "/manage/people/new",
                   "/manage/imports", "/admin/users"):
        assert page.soup.find("a", href=target), target
    # The pages below it mark it as where you are.
    added = browser.get("/manage/people/new")
    assert added.soup.select_one(".govuk-service-navigation__item--active a").get_text(
        strip=True) == "People"


def test_learners_and_trainers_have_no_people_page(browser, make, organisation):
    browser.sign_in(make.user(organisation=organisation, permissions={"trainer"}).email)
    assert browser.get("/manage/people").status == 403
