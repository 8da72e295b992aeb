"""A learner takes the example course's quiz in Chromium: submits it empty and sees what is
missing, fails it with wrong answers and reads the explanations, saves a second attempt
half done and comes back to it, then passes. With and without JavaScript (the ordering
question is a position select per item, which needs none), under the site's
Content-Security-Policy, with axe on every page at desktop and phone widths."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Locator, Page, expect

from jesip_learn.content import Quiz
from jesip_learn.courses import catalogue as courses
from tests.browser.conftest import (
    FIXTURE_COURSE,
    answer_quiz,
    look_at,
    sign_in,
)

SLUG = "check-your-understanding"
OVERVIEW = f"/learn/JESIP-AWARE/quizzes/{SLUG}"


@pytest.fixture(scope="module")
def quiz() -> Quiz:
    (_slug, parsed), = courses.parse_folders(FIXTURE_COURSE)
    return parsed.course.item(SLUG)


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def question_group(page: Page, title: str) -> Locator:
    return page.get_by_role("group", name=re.compile(re.escape(title)))


def axe_checker(new_context, live_server) -> Page:
    """A page to run axe on a copy of another page's HTML: axe is script, which the site's
    CSP (and a page without JavaScript) would refuse; the site's own script is kept out."""
    checker = new_context(bypass_csp=True).new_page()
    checker.route("**/static/js/*.js", lambda route: route.abort())
    checker.goto(f"{live_server.url}/accessibility")  # the site's origin, for its CSS
    return checker


def watch_console(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_learner_fails_the_quiz_then_passes_it(javascript, new_context, live_server,
                                                 make_account, example_course, quiz):
    person = make_account(f"Quinn Quiz {uuid.uuid4().hex[:6]}")
    suffix = "" if javascript else "-nojs"
    page = new_context(java_script_enabled=javascript).new_page()  # the site's CSP applies
    console_errors = watch_console(page)
    checker = axe_checker(new_context, live_server)
    violations: list[str] = []

    def look(name: str) -> None:
        look_at(page, f"{name}{suffix}", violations, checker=checker)

    sign_in(page, live_server.url, person.email)
    page.goto("/learn/JESIP-AWARE")
    page.get_by_role("link", name="Check your understanding").click()
    expect(heading(page)).to_have_text("Check your understanding")
    expect(page).to_have_title("Check your understanding – JESIP Awareness – JESIP Learn")
    expect(page.get_by_text("0 of 3 used, 3 left")).to_be_visible()
    look("quiz-overview")
    page.get_by_role("button", name="Start quiz").click()

    # The attempt: every question on one page, and no answer anywhere in it.
    expect(page).to_have_title(
        "Check your understanding, attempt 1 – JESIP Awareness – JESIP Learn")
    expect(page.get_by_role("group")).to_have_count(3)
    html = page.content()
    for question in quiz.questions:
        assert question.explanation_html not in html
        expect(question_group(page, question.title)).to_be_visible()
    assert not re.search(r"correct|right answer", html, re.IGNORECASE)
    look("quiz-attempt")

    # Submitted with nothing chosen: an error summary linking to each question.
    page.get_by_role("button", name="Submit answers").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("link")).to_have_count(3)
    expect(summary).to_contain_text("Select all the answers that apply")
    expect(summary).to_contain_text("Give each item a different position, from 1 to 3")
    expect(page).to_have_title(re.compile(r"^Error: Check your understanding"))
    if javascript:
        expect(summary).to_be_focused()
    look("quiz-attempt-errors")
    ordering = next(q for q in quiz.questions if q.kind == "ordering")
    summary.get_by_role("link", name=re.compile("Give each item")).click()
    if javascript:  # GOV.UK Frontend moves focus to the first control of the question
        first_select = question_group(page, ordering.title).get_by_role("combobox").first
        expect(first_select).to_be_focused()

    # Wrong answers: a fail, saying which questions were wrong and why, but not the right
    # answers (the quiz leaves show_answers at its default: after a pass).
    answer_quiz(page, quiz, right=False)
    page.get_by_role("button", name="Submit answers").click()
    expect(heading(page)).to_have_text("You did not pass")
    expect(page.get_by_text("You scored 0 out of 3 (0%). The pass mark is 80%.")).to_be_visible()
    cards = page.locator(".govuk-summary-card")
    expect(cards).to_have_count(3)
    for index in range(3):
        expect(cards.nth(index).locator(".govuk-tag")).to_have_text("Wrong")
    for question in quiz.questions:
        card = cards.filter(has_text=question.title)
        explanation = " ".join(re.sub("<[^>]+>", " ", question.explanation_html).split())
        expect(card).to_contain_text(explanation)
    expect(page.locator(".govuk-summary-list__key", has_text="Right answer")).to_have_count(0)
    expect(page.locator("main .govuk-inset-text")).to_contain_text(
        "The right answers will be shown once you pass this quiz.")
    failed_url = page.url
    page.get_by_role("link", name="question 3").click()  # the list of wrong questions
    expect(page.locator("#question-3")).to_be_in_viewport()
    expect(page.get_by_text("You have 2 attempts left.")).to_be_visible()
    look("quiz-result-fail")

    # Try again: save half of it, come back to it, then pass.
    page.get_by_role("button", name="Try again").click()
    expect(page).to_have_title(
        "Check your understanding, attempt 2 – JESIP Awareness – JESIP Learn")
    single = next(q for q in quiz.questions if q.kind == "single")
    right_option = next(o for o in single.options if o.correct)
    question_group(page, single.title).get_by_role("radio", name=right_option.html).check()
    page.get_by_role("button", name="Save and come back later").click()
    expect(heading(page)).to_have_text("Check your understanding")
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Your answers have been saved")
    look("quiz-overview-in-progress")
    page.get_by_role("button", name="Continue quiz").click()
    expect(question_group(page, single.title).get_by_role(
        "radio", name=right_option.html)).to_be_checked()

    answer_quiz(page, quiz, right=True)
    page.get_by_role("button", name="Submit answers").click()
    expect(heading(page)).to_have_text("You passed")
    expect(page.get_by_text("You scored 3 out of 3 (100%).")).to_be_visible()
    for index in range(3):
        expect(cards.nth(index).locator(".govuk-tag")).to_have_text("Right")
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)
    ordering_card = cards.filter(has_text=ordering.title)
    right_order = ordering_card.locator(".govuk-summary-list__row").filter(
        has_text="Right answer").locator("li")
    expect(right_order).to_have_text(["Major incident declared?", "Exact location",
                                      "Type of incident"])
    look("quiz-result-pass")

    # Passed, the failed attempt's page shows the right answers too.
    page.goto(failed_url)
    expect(heading(page)).to_have_text("You did not pass")
    expect(page.locator(".govuk-summary-list__key", has_text="Right answer")).to_have_count(3)
    look("quiz-result-fail-after-pass")

    # Both attempts are on the overview, and the course shows the quiz done.
    page.get_by_role("link", name="Back to the quiz overview").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("3 out of 3 (100%)")
    expect(rows.nth(0)).to_contain_text("Passed")
    expect(rows.nth(1)).to_contain_text("Not passed")
    expect(page.get_by_text("You have passed this quiz.")).to_be_visible()
    look("quiz-overview-history")
    page.goto("/learn/JESIP-AWARE")
    quiz_row = page.locator(".govuk-task-list__item").filter(has_text="Check your understanding")
    expect(quiz_row).to_contain_text("Completed")

    assert not console_errors, f"console errors: {console_errors}"
    assert not violations, f"{len(violations)} accessibility violation(s):\n" + "\n".join(
        violations)
