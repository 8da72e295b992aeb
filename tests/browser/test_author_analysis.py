"""An administrator (who may edit every course) reads a shipped scenario's map and a quiz's
item analysis in Chromium; axe checks both at desktop and phone widths."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOT_WIDTHS, check_accessibility, save_screenshots, sign_in


def test_the_map_and_the_item_analysis_of_a_shipped_course(new_context, live_server, admin):
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, live_server.url, admin.email)
    page.get_by_role("link", name="Courses").click()
    page.get_by_role("link", name="JESIP-CMD").click()
    page.get_by_role("link", name="Map and choices taken").first.click()
    expect(page.locator("svg.app-scenario-map__svg")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Every step can be reached from the start")
    problems = []
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        problems += check_accessibility(page, f"scenario map at {width}px")
    save_screenshots(page, "author-scenario-map")
    page.go_back()
    page.get_by_role("link", name="Item analysis").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        problems += check_accessibility(page, f"item analysis at {width}px")
    save_screenshots(page, "author-quiz-analysis")
    assert problems == []


def test_history_and_the_difference_between_two_versions(new_context, live_server, admin,
                                                          example_course):
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, live_server.url, admin.email)
    page.goto(f"{live_server.url}/author/courses/{example_course}/history")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    problems = check_accessibility(page, "history")
    save_screenshots(page, "author-history")
    page.goto(f"{live_server.url}/author/courses/{example_course}/diff?old=1&new=2")
    expect(page.locator("main")).to_contain_text("course.md")
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        problems += check_accessibility(page, f"diff at {width}px")
    save_screenshots(page, "author-diff", full_page=False)
    assert problems == []
