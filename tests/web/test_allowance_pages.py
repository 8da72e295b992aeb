"""More quiz attempts through the test client: the learner out of attempts is told so and
whom to ask (no "Continue" for ever); a manager of the person or a trainer of the course
gives more, once per form; nobody else reaches the page, another organisation's manager
included."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.courses import authoring
from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import attempt_answers, attempts, progress
from jesip_learn.learning.models import QuizAllowance
from jesip_learn.records.models import AuditEvent
from tests.support.quizzes import answer_values

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"
SLUG = "check-your-understanding"
OVERVIEW = f"/learn/JESIP-AWARE/quizzes/{SLUG}"


@pytest.fixture
def people(session, make, organisation, other_organisation):
    courses.import_parsed(session, courses.parse_folders(VALID))
    version = courses.find_version(session, "JESIP-AWARE")
    quiz = courses.version_item(version, SLUG)
    found = {
        "learner": make.user(organisation=organisation, name="Lee Learner"),
        "manager": make.user(organisation=organisation, name="Mo Manager",
                             permissions={"manager"}),
        "other_manager": make.user(organisation=other_organisation, name="Oz Manager",
                                   permissions={"manager"}),
        "trainer": make.user(organisation=other_organisation, name="Tia Trainer",
                             permissions={"trainer"}),
        "other_trainer": make.user(organisation=organisation, name="Ola Trainer",
                                   permissions={"trainer"}),
    }
    authoring.editors.make_owner(session, version.course, found["trainer"])
    for item in version.items:
        if item.slug != SLUG:
            progress.complete_item(session, found["learner"], version, item.slug)
    for number in range(quiz.max_attempts):
        attempt = attempts.start_attempt(session, found["learner"], version, quiz,
                                         random.Random(number))
        attempts.submit_attempt(session, attempt, answer_values(
            attempt_answers.attempt_questions(attempt), right=False))
    session.commit()
    return found


def grant_url(learner) -> str:
    return f"/people/{learner.id}/quizzes/JESIP-AWARE/{SLUG}/attempts"


def test_the_learner_out_of_attempts_is_told_whom_to_ask(browser, people):
    browser.sign_in(people["learner"].email)
    overview = browser.get(OVERVIEW)
    assert overview.status == 200
    assert "You have used all 3 attempts at this quiz without passing it" in overview.text
    assert "Mo Manager, your manager" in overview.text
    assert overview.soup.find("a", href=f"mailto:{people['manager'].email}")
    assert "Tia Trainer, trainer of this course" in overview.text
    assert people["trainer"].email not in overview.text
    course = browser.get("/learn/JESIP-AWARE")
    assert course.status == 200
    assert "Attempts used up" in course.text
    assert "You have used every attempt at Check your understanding" in course.text
    assert course.soup.find("a", string="See who can give you more attempts")["href"] == OVERVIEW
    # Every other part is done: the quiz was the next part, and "Continue" led nowhere.
    assert not course.soup.find("a", class_="govuk-button")


@pytest.mark.parametrize("who", ["manager", "trainer"])
def test_a_manager_or_trainer_gives_more_attempts_once_per_form(browser, people, session, who):
    learner = people["learner"]
    browser.sign_in(people[who].email)
    page = browser.get(grant_url(learner))
    assert page.status == 200
    assert page.h1 == "More attempts for Lee Learner"
    assert "3 of 3 used" in page.text and "has used every attempt" in page.text
    token = page.csrf_token()
    form = {"csrf_token": token, "number": "2", "seen": "0"}
    first = browser.client.post(grant_url(learner), data=form)
    assert first.status_code == 302
    again = browser.client.post(grant_url(learner), data=form, follow_redirects=True)
    assert again.status_code == 200
    assert "already been given: nothing has changed" in again.get_data(as_text=True)
    session.expire_all()
    row = session.scalar(select(QuizAllowance))
    assert (row.extra_attempts, row.grants) == (2, 1)
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "quiz.attempts_granted")) == 1
    shown = browser.get(grant_url(learner))
    assert "3 of 5 used (2 given beyond the quiz’s 3), 2 left" in shown.text
    browser.sign_out()
    browser.sign_in(learner.email)
    overview = browser.get(OVERVIEW)
    assert overview.soup.find("button", string=re.compile("Start quiz"))
    assert "2 given to you beyond the quiz’s 3" in overview.text


def test_the_grant_page_is_listed_where_the_helpers_look(browser, people):
    browser.sign_in(people["manager"].email)
    record = browser.get(f"/manage/learners/{people['learner'].id}")
    assert record.status == 200
    link = record.soup.find("a", href=grant_url(people["learner"]))
    assert link and "Check your understanding" in link.get_text()
    browser.sign_out()
    browser.sign_in(people["trainer"].email)
    course = browser.get("/author/courses/JESIP-AWARE")
    assert course.status == 200
    assert course.soup.find("a", href=grant_url(people["learner"]))


@pytest.mark.parametrize(("who", "status"), [
    ("other_manager", 404), ("other_trainer", 404), ("learner", 403)])
def test_nobody_else_reaches_it(browser, people, session, who, status):
    browser.sign_in(people[who].email)
    url = grant_url(people["learner"])
    assert browser.get(url).status == status
    token = browser.get("/account").csrf_token()
    response = browser.client.post(url, data={"csrf_token": token, "number": "1", "seen": "0"})
    assert response.status_code == status
    assert session.scalar(select(QuizAllowance)) is None


def test_unknown_people_courses_and_quizzes_are_not_found(browser, people):
    browser.sign_in(people["manager"].email)
    learner = people["learner"]
    assert browser.get(f"/people/{learner.id + 1000}/quizzes/JESIP-AWARE/{SLUG}/attempts"
                       ).status == 404
    assert browser.get(f"/people/{learner.id}/quizzes/NOPE/{SLUG}/attempts").status == 404
    assert browser.get(f"/people/{learner.id}/quizzes/JESIP-AWARE/why-interoperability"
                       "/attempts").status == 404


def test_a_number_out_of_range_changes_nothing(browser, people, session):
    browser.sign_in(people["manager"].email)
    url = grant_url(people["learner"])
    page = browser.submit(url, {"number": "9", "seen": "0"})
    assert page.status == 200
    assert session.scalar(select(QuizAllowance)) is None


def test_granting_needs_the_csrf_token(browser, people, session):
    browser.sign_in(people["manager"].email)
    response = browser.client.post(grant_url(people["learner"]), data={"number": "1",
                                                                        "seen": "0"})
    assert response.status_code in (200, 400)
    assert session.scalar(select(QuizAllowance)) is None
