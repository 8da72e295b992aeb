"""A learner walks the scenario of the example course in Chromium: a path that fails, then
"Start again" and the best path with a METHANE message; a closed browser that resumes; the
debrief. With and without JavaScript, axe on every page at desktop and phone widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    look_at,
    save_screenshots,
    sign_in,
)

OVERVIEW = "/learn/JESIP-AWARE/scenarios/flooding"
FIRST_CHOICE = "Ask the caller for an exact location and what they can see"
MESSAGE = {
    "M – Major incident declared?": "Not declared yet",
    "E – Exact location": "14 Mill Lane, Riverside",
    "T – Type of incident": "Residential properties flooding",
    "H – Hazards present or suspected": "Fast-flowing water and electricity in the homes",
    "A – Access routes that are safe to use": "Mill Lane closed at the bridge; use Station Road",
    "N – Number, type and severity of casualties": "",
    "E – Emergency services present and those required":
        "One fire appliance on scene, water rescue team requested",
}


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def choose(page: Page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()


def axe_checker(new_context, live_server) -> Page:
    """A page for running axe on what a page without JavaScript shows: axe needs script, so
    it runs here on a copy of that page's HTML, with the site's own script kept out."""
    checker = new_context(bypass_csp=True).new_page()
    checker.route("**/static/js/*.js", lambda route: route.abort())
    checker.goto(f"{live_server.url}/accessibility")  # the site's origin, for its CSS
    return checker


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_learner_fails_starts_again_and_passes(javascript, new_context, live_server,
                                                 make_account, example_course):
    person = make_account()
    suffix = "" if javascript else "-nojs"
    page = new_context(bypass_csp=True, java_script_enabled=javascript).new_page()
    checker = None if javascript else axe_checker(new_context, live_server)
    violations: list[str] = []

    def look(name: str) -> None:
        look_at(page, f"{name}{suffix}", violations, checker)
    sign_in(page, live_server.url, person.email)

    page.goto(OVERVIEW)
    expect(heading(page)).to_have_text("Rising water at Riverside")
    look("scenario-overview")
    page.get_by_role("button", name="Start", exact=True).click()

    # A path that fails: a good first call, then waiting for the crew.
    expect(heading(page)).to_have_text("02:10, the first call")
    expect(page).to_have_title("02:10, the first call – Rising water at Riverside – JESIP Learn")
    look("scenario-step")
    choose(page, FIRST_CHOICE)

    expect(heading(page)).to_have_text("Feedback on your choice")
    expect(page.get_by_text("the first things every service needs")).to_be_visible()
    look("scenario-feedback")
    page.get_by_role("button", name="Continue", exact=True).click()

    expect(heading(page)).to_have_text("Location confirmed")
    choose(page, "Wait until the first crew reports back")
    expect(page.get_by_text("Waiting leaves the other services")).to_be_visible()
    expect(page.get_by_role("heading", name="What happened next: A slow start")).to_be_visible()
    look("scenario-feedback-ending")
    page.get_by_role("button", name="See your debrief").click()

    expect(heading(page)).to_have_text("Your debrief")
    expect(page.locator(".govuk-summary-list").first).to_contain_text("Not passed")
    expect(page.get_by_text("2 out of a best possible 4")).to_be_visible()
    look("scenario-debrief-fail")

    # Start again, and take the best path with a METHANE message.
    page.get_by_role("button", name="Start again").click()
    expect(heading(page)).to_have_text("02:10, the first call")
    choose(page, FIRST_CHOICE)
    page.get_by_role("button", name="Continue", exact=True).click()
    choose(page, "Share the call with police and ambulance control rooms now")

    expect(heading(page)).to_have_text("Tell the other control rooms")
    look("scenario-methane")
    page.get_by_role("button", name="Continue", exact=True).click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Write at least one part of your METHANE message")
    expect(page).to_have_title(re.compile(r"^Error: Tell the other control rooms"))
    if javascript:
        expect(summary).to_be_focused()
    look("scenario-methane-errors")
    summary.get_by_role("link").click()
    if javascript:
        expect(page.get_by_label("M – Major incident declared?")).to_be_focused()

    for label, text in MESSAGE.items():
        page.get_by_label(label, exact=True).fill(text)
    page.get_by_role("button", name="Continue", exact=True).click()

    expect(heading(page)).to_have_text("Everyone safe")
    look("scenario-ending")
    page.get_by_role("button", name="See your debrief").click()

    expect(heading(page)).to_have_text("Your debrief")
    results = page.locator(".govuk-summary-list").first
    expect(results).to_contain_text("Passed")
    expect(results).to_contain_text("4 out of a best possible 4")
    path = page.locator("ol.govuk-list--number > li")
    expect(path).to_have_count(3)
    expect(path.nth(0)).to_contain_text("the first things every service needs")
    table = page.get_by_role("table")
    exact = table.get_by_role("row").filter(has_text="E – Exact location")
    expect(exact).to_contain_text("Covered")
    casualties = table.get_by_role("row").filter(has_text="N – Number, type and severity")
    expect(casualties).to_contain_text("You left this empty")
    expect(casualties).to_contain_text("Missed")
    look("scenario-debrief-pass")

    # Both walkthroughs stay in the history on the overview.
    page.get_by_role("link", name="About this scenario").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Passed")
    expect(rows.nth(1)).to_contain_text("Not passed")
    expect(page.get_by_text("Completed", exact=True)).to_be_visible()
    look("scenario-overview-history")

    assert not violations, f"{len(violations)} accessibility violation(s):\n" + "\n".join(
        violations)


def test_a_closed_browser_resumes_where_it_stopped(new_context, live_server, make_account,
                                                    example_course):
    person = make_account()
    first = new_context()
    page = first.new_page()
    sign_in(page, live_server.url, person.email)
    page.goto(OVERVIEW)
    page.get_by_role("button", name="Start", exact=True).click()
    choose(page, FIRST_CHOICE)
    page.get_by_role("button", name="Continue", exact=True).click()
    expect(heading(page)).to_have_text("Location confirmed")
    step_url = page.url
    first.close()  # the learner closes the browser mid-walkthrough

    page = new_context(viewport={"width": 375, "height": 740}).new_page()
    sign_in(page, live_server.url, person.email)
    page.goto(OVERVIEW)
    expect(page.get_by_role("row").filter(has_text="In progress")).to_be_visible()
    page.get_by_role("button", name="Continue", exact=True).click()
    expect(heading(page)).to_have_text("Location confirmed")
    assert page.url == step_url
    save_screenshots(page, "scenario-resumed", widths=(375,))
    choose(page, "Share the call with police and ambulance control rooms now")
    expect(heading(page)).to_have_text("Tell the other control rooms")


def test_pressing_a_choice_twice_moves_on_once(new_context, live_server, make_account,
                                              example_course):
    """Without JavaScript nothing stops the second press reaching the server: the run
    must still move on once (a second "choice 1" would go on past "Location confirmed")."""
    person = make_account()
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, live_server.url, person.email)
    page.goto(OVERVIEW)
    page.get_by_role("button", name="Start", exact=True).click()
    step_url = page.url
    page.get_by_role("button", name=FIRST_CHOICE).dblclick()
    expect(heading(page)).to_have_text("Feedback on your choice")
    page.goto(step_url)
    expect(heading(page)).to_have_text("Location confirmed")


def test_a_choice_in_a_second_tab_after_the_first_says_the_step_was_answered(
        new_context, live_server, make_account, example_course):
    """Two tabs on the same step: the first tab's choice is kept; the second tab's is not
    saved, and its page says so and shows the step the run has got to."""
    person = make_account()
    context = new_context(bypass_csp=True)  # axe runs as a script
    first = context.new_page()
    sign_in(first, live_server.url, person.email)
    first.goto(OVERVIEW)
    first.get_by_role("button", name="Start", exact=True).click()
    second = context.new_page()
    second.goto(first.url)
    expect(heading(second)).to_have_text("02:10, the first call")

    choose(first, FIRST_CHOICE)
    expect(heading(first)).to_have_text("Feedback on your choice")
    choose(second, 'Send the nearest appliance to "the river"')
    banner = second.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("This step was already answered in another tab")
    expect(heading(second)).to_have_text("Location confirmed")

    violations: list[str] = []
    look_at(second, "scenario-answered-in-another-tab", violations)
    assert not violations, f"{len(violations)} accessibility violation(s):\n" + "\n".join(
        violations)
