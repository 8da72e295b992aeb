"""The shipped live exercise scripts in Chromium: a learner's course page lists them without
a link, and an administrator previews one in the editor; axe checks both at desktop and
phone widths, and neither scrolls sideways."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOT_WIDTHS, check_accessibility, save_screenshots, sign_in


def checked_at_each_width(page: Page, label: str) -> list[str]:
    problems = []
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        problems += check_accessibility(page, f"{label} at {width}px")
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            problems.append(f"{label} is {scroll_width}px wide at {width}px: it scrolls sideways")
    return problems


def test_a_learner_sees_the_live_exercises_listed_without_links(new_context, live_server,
                                                                 learner):
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, live_server.url, learner.email)
    page.goto(f"{live_server.url}/learn/JESIP-LIVE")
    expect(page.get_by_role("heading", level=1)).to_have_text("JESIP Live Exercises")
    items = page.locator(".govuk-task-list__item")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Live exercise — run by a facilitator")
    expect(page.locator(".govuk-task-list a")).to_have_count(0)
    expect(page.get_by_role("button", name="Start")).to_have_count(0)
    problems = checked_at_each_width(page, "live exercises course page")
    save_screenshots(page, "learn-live-exercises")
    assert problems == []


def test_an_administrator_previews_an_exercise_script(new_context, live_server, admin):
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, live_server.url, admin.email)
    page.goto(f"{live_server.url}/author/courses/JESIP-LIVE")
    expect(page.locator("main")).to_contain_text("Live exercise script")
    page.goto(f"{live_server.url}/author/courses/JESIP-LIVE/draft/pages/"
              "02-rising-water-at-wenlow.exercise.md")
    preview = page.locator("main")
    expect(preview).to_contain_text("Fire operational commander")
    expect(preview).to_contain_text("Joint decision")
    problems = checked_at_each_width(page, "exercise script preview")
    save_screenshots(page, "editor-exercise-preview", full_page=False)
    assert problems == []
