"""The learner experience from end to end: a new learner walks every item of the example
course (tests/content/fixtures/valid-course, JESIP-AWARE) in order from the course page,
fails the quiz and passes it, fails the scenario and passes it after "Start again" with a
browser closed half way, and ends with a certificate: its PDF, and a public /verify page
that names nobody.

The whole journey runs at desktop width, at phone width (375 px) and without JavaScript,
each with a learner of its own. axe checks every page visited (a page without JavaScript
is checked as a copy of its HTML in a page that can run script), no page scrolls sideways,
and each kind of page is saved as a screenshot to look at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from jesip_learn.content import Quiz
from jesip_learn.courses import catalogue as courses
from tests.browser.conftest import (
    FIXTURE_COURSE,
    SCREENSHOT_WIDTHS,
    Account,
    answer_quiz,
    check_accessibility,
    save_screenshots,
    sign_in,
)

CODE = "JESIP-AWARE"
COURSE = f"/learn/{CODE}"
COURSE_TITLE = "JESIP Awareness"
QUIZ_SLUG = "check-your-understanding"
FIRST_CHOICE = "Ask the caller for an exact location and what they can see"
SHARE_CHOICE = "Share the call with police and ambulance control rooms now"
WAIT_CHOICE = "Wait until the first crew reports back"
# Written as a person would, not copied: other case, punctuation and word order.
METHANE = {
    "M – Major incident declared?": "Major incident not declared yet.",
    "E – Exact location": "Riverside, 14 Mill Lane",
    "T – Type of incident": "Residential properties flooding",
    "H – Hazards present or suspected": "ELECTRICITY in flooded homes; fast-flowing water",
    "A – Access routes that are safe to use":
        "Approach from Station Road - Mill Lane is closed at the bridge",
    "N – Number, type and severity of casualties": "1 elderly resident unaccounted for (one)",
    "E – Emergency services present and those required":
        "Water rescue team requested, one fire appliance on scene",
}
CERTIFICATE_CODE = re.compile(r"JL-[A-Z0-9]{5}-[A-Z0-9]{5}")

MODES = {
    "desktop": {"width": 1280, "javascript": True},
    "phone": {"width": 375, "javascript": True},
    "no-javascript": {"width": 375, "javascript": False},
}


@pytest.fixture(scope="module")
def quiz() -> Quiz:
    (_slug, parsed), = courses.parse_folders(FIXTURE_COURSE)
    return parsed.course.item(QUIZ_SLUG)


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def banner(page: Page) -> Locator:
    return page.locator(".govuk-notification-banner")


def menu_link(page: Page, name: str) -> Locator:
    """A link of the service navigation, opening it first where it is folded (a phone
    with JavaScript shows a "Menu" button; without JavaScript the links are always out)."""
    navigation = page.get_by_role("navigation", name="Menu")
    toggle = navigation.get_by_role("button", name="Menu")
    if toggle.is_visible():
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
    return navigation.get_by_role("link", name=name, exact=True)


@dataclass
class Journey:
    """One learner's browser, and what the checks of every page found along the way."""

    mode: str
    width: int
    javascript: bool
    open_context: object  # the `new_context` fixture
    base_url: str
    checker: Page | None = None
    violations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    screenshots: set[str] = field(default_factory=set)
    visited: list[str] = field(default_factory=list)

    def context(self) -> BrowserContext:
        height = 800 if self.width > 600 else 740
        return self.open_context(bypass_csp=True, java_script_enabled=self.javascript,
                                 viewport={"width": self.width, "height": height})

    def page(self) -> Page:
        page = self.context().new_page()
        page.on("response", lambda response: self.problems.append(
            f"{response.url} answered {response.status}")
            if response.request.resource_type == "document" and response.status >= 400
            else None)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        return page

    def look(self, page: Page, name: str) -> None:
        """axe on the page as it is, no sideways scrolling, and one screenshot per kind."""
        label = f"{self.mode} {name} ({page.url.removeprefix(self.base_url)})"
        self.visited.append(label)
        if self.javascript:
            self.violations.extend(check_accessibility(page, label))
            self.check_width(page, label, self.width)
        else:
            # axe is script, which this page will not run: check a copy of its HTML, at
            # both widths, in a page that runs script (with the site's own kept out).
            checker = self.axe_checker()
            checker.set_content(page.content(), wait_until="load")
            for width in SCREENSHOT_WIDTHS:
                checker.set_viewport_size({"width": width,
                                           "height": 800 if width > 600 else 740})
                self.violations.extend(check_accessibility(checker, f"{label} at {width}px"))
                self.check_width(checker, label, width)
        if name not in self.screenshots:
            self.screenshots.add(name)
            save_screenshots(page, f"journey-{self.mode}-{name}", widths=(self.width,))

    def check_width(self, page: Page, label: str, width: int) -> None:
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            self.problems.append(f"{label}: the page is {scroll_width}px wide at {width}px, "
                                 "so it scrolls sideways")

    def axe_checker(self) -> Page:
        if self.checker is None:
            self.checker = self.open_context(bypass_csp=True).new_page()
            self.checker.route("**/static/js/*.js", lambda route: route.abort())
            self.checker.goto(f"{self.base_url}/accessibility")  # the site's origin, for CSS
        return self.checker

    def sign_in(self, page: Page, person: Account) -> None:
        page.goto("/sign-in")
        expect(heading(page)).to_have_text("Sign in to JESIP Learn")
        self.look(page, "sign-in")
        sign_in(page, self.base_url, person.email)
        expect(heading(page)).to_have_text("My training")


# --- the pieces of the journey ------------------------------------------------------------


def continue_from_course_page(journey: Journey, page: Page, *, done: int, name: str) -> None:
    """On the course page with `done` of its 4 items finished, press Start or Continue."""
    expect(heading(page)).to_have_text(COURSE_TITLE)
    expect(page).to_have_title(f"{COURSE_TITLE} – JESIP Learn")
    items = page.locator(".govuk-task-list__item")
    expect(items).to_have_count(4)
    expect(items.filter(has_text="Completed")).to_have_count(done)
    if done:
        expect(page.locator(".govuk-inset-text")).to_contain_text(f"{done} of 4 parts done")
    journey.look(page, name)
    page.get_by_role("button", name="Continue" if done else "Start", exact=True).click()


def read_modules(journey: Journey, page: Page) -> None:
    expect(heading(page)).to_have_text("Why interoperability matters")
    expect(page).to_have_title(f"Why interoperability matters – {COURSE_TITLE} – JESIP Learn")
    expect(page.get_by_text("Say why the services must work jointly")).to_be_visible()
    expect(page.get_by_role("navigation", name="Course pages")).to_contain_text(
        "The five principles")
    journey.look(page, "module")
    page.get_by_role("button", name="Mark as complete and continue").click()

    expect(heading(page)).to_have_text("The five principles")
    expect(page.get_by_text("Name the five principles for joint working")).to_be_visible()
    pages = page.get_by_role("navigation", name="Course pages")
    expect(pages).to_contain_text("Why interoperability matters")  # previous
    expect(pages).to_contain_text("Check your understanding")  # next
    journey.look(page, "module-2")
    page.get_by_role("button", name="Mark as complete and continue").click()


def fail_then_pass_quiz(journey: Journey, page: Page, quiz: Quiz) -> None:
    expect(heading(page)).to_have_text("Check your understanding")
    expect(page.get_by_text("0 of 3 used, 3 left")).to_be_visible()
    journey.look(page, "quiz-overview")
    page.get_by_role("button", name="Start quiz").click()

    expect(page).to_have_title(
        f"Check your understanding, attempt 1 – {COURSE_TITLE} – JESIP Learn")
    html = page.content()
    for question in quiz.questions:
        assert question.explanation_html not in html, "an explanation is in the attempt page"
    journey.look(page, "quiz-attempt")
    answer_quiz(page, quiz, right=False)
    page.get_by_role("button", name="Submit answers").click()

    expect(heading(page)).to_have_text("You did not pass")
    expect(page.get_by_text("You scored 0 out of 3 (0%). The pass mark is 80%.")).to_be_visible()
    cards = page.locator(".govuk-summary-card")
    expect(cards).to_have_count(3)
    for question in quiz.questions:
        card = cards.filter(has_text=question.title)
        expect(card.locator(".govuk-tag")).to_have_text("Wrong")
        expect(card).to_contain_text(
            " ".join(re.sub("<[^>]+>", " ", question.explanation_html).split()))
    expect(page.get_by_text("You have 2 attempts left.")).to_be_visible()
    journey.look(page, "quiz-result-fail")

    page.get_by_role("button", name="Try again").click()
    expect(page).to_have_title(
        f"Check your understanding, attempt 2 – {COURSE_TITLE} – JESIP Learn")
    journey.look(page, "quiz-attempt")
    answer_quiz(page, quiz, right=True)
    page.get_by_role("button", name="Submit answers").click()

    expect(heading(page)).to_have_text("You passed")
    expect(page.get_by_text("You scored 3 out of 3 (100%).")).to_be_visible()
    expect(cards.locator(".govuk-tag").filter(has_text="Right")).to_have_count(3)
    journey.look(page, "quiz-result-pass")
    page.get_by_role("link", name=f"Back to {COURSE_TITLE}").click()


def choose(page: Page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()


def fail_the_scenario(journey: Journey, page: Page) -> None:
    expect(heading(page)).to_have_text("Rising water at Riverside")
    journey.look(page, "scenario-overview")
    page.get_by_role("button", name="Start", exact=True).click()

    expect(heading(page)).to_have_text("02:10, the first call")
    journey.look(page, "scenario-step")
    choose(page, FIRST_CHOICE)
    expect(heading(page)).to_have_text("Feedback on your choice")
    expect(page.get_by_text("the first things every service needs")).to_be_visible()
    journey.look(page, "scenario-feedback")
    page.get_by_role("button", name="Continue", exact=True).click()

    expect(heading(page)).to_have_text("Location confirmed")
    journey.look(page, "scenario-step-2")
    choose(page, WAIT_CHOICE)
    expect(page.get_by_text("Waiting leaves the other services")).to_be_visible()
    expect(page.get_by_role("heading", name="What happened next: A slow start")).to_be_visible()
    journey.look(page, "scenario-feedback-fail-ending")
    page.get_by_role("button", name="See your debrief").click()

    expect(heading(page)).to_have_text("Your debrief")
    results = page.locator(".govuk-summary-list").first
    expect(results).to_contain_text("Not passed")
    expect(results).to_contain_text("2 out of a best possible 4")
    expect(results).to_contain_text("A slow start")
    expect(page.locator("ol.govuk-list--number > li")).to_have_count(2)
    journey.look(page, "scenario-debrief-fail")
    page.get_by_role("button", name="Start again").click()


def start_the_pass_path(journey: Journey, page: Page) -> str:
    """From the first step of a fresh run to the METHANE step; returns that step's URL."""
    expect(heading(page)).to_have_text("02:10, the first call")
    journey.look(page, "scenario-step")
    choose(page, FIRST_CHOICE)
    expect(heading(page)).to_have_text("Feedback on your choice")
    journey.look(page, "scenario-feedback")
    page.get_by_role("button", name="Continue", exact=True).click()
    expect(heading(page)).to_have_text("Location confirmed")
    journey.look(page, "scenario-step-2")
    choose(page, SHARE_CHOICE)
    expect(heading(page)).to_have_text("Tell the other control rooms")
    for label in METHANE:
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    journey.look(page, "scenario-methane")
    return page.url


def resume(journey: Journey, person: Account, step_url: str) -> Page:
    """A new browser: sign in, and find the walkthrough waiting where it was left."""
    page = journey.page()
    journey.sign_in(page, person)
    required = page.locator(".govuk-summary-card").filter(has_text=COURSE_TITLE)
    expect(required.locator(".govuk-tag")).to_have_text("In progress")
    expect(required).to_contain_text("3 of 4 parts done")
    journey.look(page, "my-training-in-progress")
    required.get_by_role("link", name=COURSE_TITLE).click()
    continue_from_course_page(journey, page, done=3, name="course-in-progress")

    expect(heading(page)).to_have_text("Rising water at Riverside")
    history = page.locator("table tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("In progress")
    expect(history.nth(1)).to_contain_text("Not passed")
    journey.look(page, "scenario-overview-in-progress")
    page.get_by_role("button", name="Continue", exact=True).click()
    expect(heading(page)).to_have_text("Tell the other control rooms")
    assert page.url == step_url, f"resumed at {page.url}, not {step_url}"
    return page


def finish_the_pass_path(journey: Journey, page: Page) -> None:
    for label, text in METHANE.items():
        page.get_by_label(label, exact=True).fill(text)
    page.get_by_role("button", name="Continue", exact=True).click()

    expect(heading(page)).to_have_text("Everyone safe")
    expect(banner(page)).to_contain_text(
        f"You have completed {COURSE_TITLE}. Your certificate is ready.")
    journey.look(page, "scenario-pass-ending")
    page.get_by_role("button", name="See your debrief").click()

    expect(heading(page)).to_have_text("Your debrief")
    results = page.locator(".govuk-summary-list").first
    expect(results).to_contain_text("Passed")
    expect(results).to_contain_text("4 out of a best possible 4")
    expect(page.locator("ol.govuk-list--number > li")).to_have_count(3)
    expect(page.get_by_text("You covered 7 of 7 parts")).to_be_visible()
    rows = page.get_by_role("table").locator("tbody tr")
    expect(rows).to_have_count(7)
    expect(rows.filter(has_text="Covered")).to_have_count(7)
    journey.look(page, "scenario-debrief-pass")
    page.get_by_role("link", name=f"Back to {COURSE_TITLE}").click()


def check_completion(journey: Journey, page: Page, person: Account) -> str:
    """The course page, My training, history and the certificate, and the certificate's PDF;
    returns the certificate's verification code."""
    expires = datetime.now(UTC).year + 1  # validity_months: 12
    in_date = re.compile(rf"In date until \d{{1,2}} [A-Z][a-z]+ {expires}")
    expect(heading(page)).to_have_text(COURSE_TITLE)
    status = page.locator(".govuk-inset-text")
    expect(status).to_contain_text(in_date)
    expect(page.locator(".govuk-task-list__item").filter(has_text="Completed")).to_have_count(4)
    expect(page.get_by_role("button", name=re.compile("^(Start|Continue)$"))).to_have_count(0)
    journey.look(page, "course-completed")
    until = in_date.search(status.inner_text()).group()

    menu_link(page, "My training").click()
    expect(heading(page)).to_have_text("My training")
    required = page.locator(".govuk-summary-card").filter(has_text=COURSE_TITLE)
    expect(required.locator(".govuk-tag")).to_have_text("In date")
    expect(required).to_contain_text(until)
    expect(required).to_contain_text("4 of 4 parts done")
    journey.look(page, "my-training-completed")

    page.get_by_role("link", name="Your training history").click()
    expect(heading(page)).to_have_text("Your training history")
    main = page.get_by_role("main")
    expect(main).to_contain_text(re.compile(rf"\(certificate {CERTIFICATE_CODE.pattern}\)"))
    attempts = main.locator("h3:has-text('Quiz attempts') + ul > li")
    expect(attempts).to_have_text([re.compile("3 out of 3 .*, passed"),
                                   re.compile("0 out of 3 .*, not passed")])
    walkthroughs = main.locator("h3:has-text('Scenario walkthroughs') + ul > li")
    expect(walkthroughs).to_have_text([re.compile("good ending, 4 out of"),
                                       re.compile("poor ending, 2 out of")])
    journey.look(page, "history")

    page.goto(COURSE)
    page.get_by_role("link", name="View your certificate").click()
    expect(heading(page)).to_have_text("Certificate of completion")
    certificate = page.locator(".app-certificate")
    expect(certificate).to_contain_text(person.name)
    expect(certificate).to_contain_text(person.organisation)
    expect(certificate).to_contain_text(COURSE_TITLE)
    expect(certificate).to_contain_text(until.removeprefix("In date until "))
    journey.look(page, "certificate")
    code = CERTIFICATE_CODE.search(certificate.inner_text())
    assert code, "no verification code on the certificate"

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download as PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{CODE}-certificate.pdf"
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF"), f"the download is not a PDF: {pdf[:20]!r}"
    return code.group()


def verify_anonymously(journey: Journey, person: Account, code: str) -> None:
    page = journey.page()  # a fresh context: nobody signed in
    page.goto(f"/verify/{code}")
    expect(heading(page)).to_have_text("Check a JESIP Learn certificate")
    expect(page.locator(".govuk-panel")).to_contain_text("Genuine and in date")
    expect(page.locator(".govuk-panel")).to_contain_text(COURSE_TITLE)
    text = page.locator("body").inner_text()
    assert person.name in text  # to match the certificate to the person showing it
    assert person.email not in text, "/verify shows the holder's email address"
    journey.look(page, "verify")


# --- the test -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(MODES))
def test_a_new_learner_completes_the_course(mode, new_context, live_server, make_account,
                                            example_course, quiz):
    person = make_account(f"Jordan Journey{mode.title().replace('-', '')}")
    journey = Journey(mode=mode, open_context=new_context, base_url=live_server.url,
                      **MODES[mode])

    first = journey.page()
    journey.sign_in(first, person)
    required = first.locator(".govuk-summary-card").filter(has_text=COURSE_TITLE)
    expect(required.locator(".govuk-tag")).to_have_text("Not started")
    journey.look(first, "my-training")
    required.get_by_role("link", name=COURSE_TITLE).click()

    continue_from_course_page(journey, first, done=0, name="course")
    read_modules(journey, first)
    fail_then_pass_quiz(journey, first, quiz)
    continue_from_course_page(journey, first, done=3, name="course-in-progress")
    fail_the_scenario(journey, first)
    step_url = start_the_pass_path(journey, first)
    first.context.close()  # the browser closes half way along the pass path

    page = resume(journey, person, step_url)
    finish_the_pass_path(journey, page)
    code = check_completion(journey, page, person)
    verify_anonymously(journey, person, code)

    assert len(journey.visited) >= 30, journey.visited
    assert not journey.problems, "\n".join(journey.problems)
    assert not journey.violations, (
        f"{len(journey.violations)} accessibility violation(s):\n"
        + "\n".join(journey.violations))
