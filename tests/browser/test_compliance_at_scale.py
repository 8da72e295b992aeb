"""The compliance dashboard in Chromium at 1280 and 375 px with axe: an administrator sorts
the organisations by a column's heading and chooses the courses shown, with the page's
filters form; no page scrolls sideways."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_authoring import look_at


def test_an_administrator_sorts_the_dashboard_and_chooses_its_courses(new_context, live_server,
                                                                      admin):
    problems: list[str] = []
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, live_server.url, admin.email)
    page.goto(f"{live_server.url}/manage/compliance")
    expect(page.get_by_role("heading", level=1)).to_have_text("Training compliance")
    look_at(page, "compliance-dashboard", problems)

    page.get_by_role("link", name="All required courses", exact=True).click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("All required courses")
    expect(page.get_by_role("status").filter(has_text="sorted by")).to_contain_text(
        "fewest compliant first")
    page.get_by_role("link", name="All required courses", exact=True).click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("All required courses")
    look_at(page, "compliance-dashboard-sorted", problems)

    page.get_by_text(re.compile(r"^Courses shown: all of \d+$")).click()
    page.get_by_label(re.compile("^JESIP-CMD: ")).check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("Courses shown: 1 of")).to_be_visible()
    headers = page.locator("table.app-matrix thead th").all_inner_texts()
    assert [h.strip(" ▲▼\n") for h in headers][1:] == ["All required courses", "JESIP-CMD"]
    look_at(page, "compliance-dashboard-one-course", problems)
    assert not problems, "\n".join(problems)
