"""The pages around emails sent on request, in a real Chromium at 1280 and 375 px: "Check
your email" after registering an address that already has an account, and the page that
says too many emails were asked for. Each passes axe and never scrolls sideways."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import add_account, check_accessibility, home_organisation
from tests.support.factories import PASSWORD

WIDTHS = (1280, 375)


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def problems_at_each_width(page: Page, label: str) -> list[str]:
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        problems += check_accessibility(page, f"{label} at {width} px")
        if page.evaluate("document.documentElement.scrollWidth") > width:
            problems.append(f"{label} scrolls sideways at {width} px")
    return problems


def test_registering_an_address_with_an_account_says_check_your_email(axe_page, live_server):
    _, organisation, domain = home_organisation(live_server.database)
    owner = add_account(live_server.database, name="Olu Owner",
                        email=f"olu.{uuid.uuid4().hex[:8]}@{domain}")
    axe_page.goto(f"{live_server.url}/register")
    axe_page.get_by_label("Full name").fill("Someone Else")
    axe_page.get_by_label("Work email address").fill(owner.email)
    axe_page.get_by_label("Organisation", exact=True).select_option(label=organisation)
    axe_page.get_by_role("radio", name="Tactical commander").check()
    axe_page.get_by_label("Create a password", exact=True).fill(PASSWORD)
    axe_page.get_by_role("button", name="Create account").click()

    expect(heading(axe_page)).to_have_text("Check your email")
    expect(axe_page.get_by_text(owner.email)).to_be_visible()
    assert not problems_at_each_width(axe_page, "check your email")
    told = [m for m in live_server.outbox if m.to == owner.email]
    assert len(told) == 1 and "Someone tried to create a JESIP Learn account" in told[0].text


def test_too_many_emails_says_when_to_try_again(axe_page, live_server):
    config = live_server.app.config
    before = config["EMAIL_REQUESTS_PER_ACCOUNT"]
    config["EMAIL_REQUESTS_PER_ACCOUNT"] = 1
    email = f"nobody.{uuid.uuid4().hex[:8]}@example.org"
    try:
        for _ in range(2):
            axe_page.goto(f"{live_server.url}/forgot-password")
            axe_page.get_by_label("Email address").fill(email)
            axe_page.get_by_role("button", name="Send reset link").click()
    finally:
        config["EMAIL_REQUESTS_PER_ACCOUNT"] = before
    expect(heading(axe_page)).to_have_text("Too many requests")
    expect(axe_page.get_by_text("Wait 60 minutes, then try again.", exact=False)).to_be_visible()
    assert not problems_at_each_width(axe_page, "too many emails")
