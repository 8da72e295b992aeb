"""Two-step verification in Chromium: a manager sets it up, saves recovery codes, signs in
with a code; every page passes axe at desktop and phone widths."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import update

from jesip_learn.accounts.mfa import RECOVERY_CODE_COUNT, code_for, time_step
from jesip_learn.accounts.models import Permission, User
from jesip_learn.core.columns import utcnow
from tests.browser.conftest import check_accessibility, save_screenshots, sign_in


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def accessible_at_both_widths(page: Page, name: str) -> list[str]:
    problems = []
    for width, height in ((1280, 800), (375, 740)):
        page.set_viewport_size({"width": width, "height": height})
        problems += check_accessibility(page, f"{name} at {width}px")
    save_screenshots(page, name)
    page.set_viewport_size({"width": 1280, "height": 800})
    return problems


def test_a_manager_sets_up_two_step_verification_and_signs_in_with_it(
        axe_page, live_server, make_account):
    page = axe_page
    manager = make_account("Morwenna Manager", {Permission.MANAGER})
    with live_server.database.write_session() as session:  # a manager who has not set it up
        session.execute(update(User).where(User.id == manager.id)
                        .values(mfa_secret=None, mfa_enabled_at=None))
    problems = []

    sign_in(page, live_server.url, manager.email)
    expect(heading(page)).to_have_text("Set up two-step verification")
    expect(page.get_by_role("img", name="QR code to scan with your authenticator app")
           ).to_be_visible()
    problems += accessible_at_both_widths(page, "two-step-set-up")

    page.get_by_label("Security code").fill("12345")
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("The code is not right")
    problems += check_accessibility(page, "two-step-set-up with an error")

    secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
    page.get_by_label("Security code").fill(code_for(secret, time_step(utcnow())))
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(heading(page)).to_have_text("Save your recovery codes")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == RECOVERY_CODE_COUNT
    problems += accessible_at_both_widths(page, "two-step-recovery-codes")
    page.get_by_role("button", name="I have saved my recovery codes").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Two-step verification is on")

    page.goto("/account")
    page.get_by_role("link", name="Manage two-step verification").click()
    expect(heading(page)).to_have_text("Two-step verification")
    expect(page.get_by_text(f"You have {RECOVERY_CODE_COUNT} unused recovery codes")
           ).to_be_visible()
    expect(page.get_by_role("button", name="Turn off two-step verification")).to_have_count(0)
    problems += accessible_at_both_widths(page, "two-step-settings")

    page.get_by_role("button", name="Sign out").click()
    page.goto("/sign-in")
    page.get_by_label("Email address", exact=True).fill(manager.email)
    page.get_by_label("Password", exact=True).fill(manager.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(heading(page)).to_have_text("Enter your security code")
    problems += accessible_at_both_widths(page, "two-step-verify")
    page.get_by_text("I do not have my phone").click()
    page.get_by_label("Security code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(heading(page)).to_have_text("My training")
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        f"You have {RECOVERY_CODE_COUNT - 1} recovery codes left")
    assert not problems, "\n".join(problems)


def test_an_administrator_moves_their_own_two_step_from_their_settings(
        axe_page, live_server, make_account):
    """No reset button on their own account page (it gave an error before): a link to their
    settings, which ask for a code, and answer a code in another script with the form."""
    page = axe_page
    admin = make_account("Ada Administrator", {Permission.ADMIN})
    sign_in(page, live_server.url, admin.email)
    page.goto(f"/admin/users/{admin.id}")
    expect(heading(page)).to_have_text(f"Edit {admin.name}")
    expect(page.get_by_role("button", name="Reset two-step verification")).to_have_count(0)
    problems = accessible_at_both_widths(page, "admin-own-account")

    page.get_by_role("link", name="your two-step verification settings").click()
    expect(heading(page)).to_have_text("Two-step verification")
    page.get_by_label("Security code").fill("١٢٣٤٥٧")
    page.get_by_role("button", name="Make new recovery codes").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("The code is not right")
    problems += accessible_at_both_widths(page, "two-step-settings with an error")
    assert not problems, "\n".join(problems)
