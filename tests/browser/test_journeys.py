"""Journeys through a real Chromium, each checking what a person sees on the page."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from jesip_learn.accounts.administration import issue_first_administrator_token
from jesip_learn.accounts.mfa import code_for, time_step
from jesip_learn.core.columns import utcnow
from tests.browser.conftest import home_organisation, save_screenshots, sign_in
from tests.support.factories import PASSWORD

CONFIRMATION_LINK = re.compile(r"https?://\S+/confirm-email/[\w-]+")


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def fill_account_fields(page: Page, *, name: str, email: str, organisation: str,
                        role: str = "Tactical commander", password: str = PASSWORD) -> None:
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Work email address").fill(email)
    page.get_by_label("Organisation", exact=True).select_option(label=organisation)
    page.get_by_role("radio", name=role).check()
    page.get_by_label("Create a password", exact=True).fill(password)


def success_banner(page: Page):
    return page.locator(".govuk-notification-banner")


def watch_console(page: Page) -> list[str]:
    """Console errors (a CSP refusal shows up here), collected as the page runs."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_register_confirm_email_sign_in_and_out(page, live_server):
    _, organisation, domain = home_organisation(live_server.database)
    name = "Priya Registrant"
    email = f"priya.{uuid.uuid4().hex[:8]}@{domain}"

    page.goto("/register")
    expect(heading(page)).to_have_text("Create an account")
    save_screenshots(page, "register")
    fill_account_fields(page, name=name, email=email, organisation=organisation)
    page.get_by_role("button", name="Create account").click()

    expect(heading(page)).to_have_text("Check your email")
    expect(page.get_by_text(email)).to_be_visible()
    messages = [m for m in live_server.outbox if m.to == email]
    assert len(messages) == 1, f"expected one email to {email}, found {len(messages)}"
    link = CONFIRMATION_LINK.search(messages[0].text)
    assert link, f"no confirmation link in:\n{messages[0].text}"
    assert urlsplit(link.group()).netloc == urlsplit(live_server.url).netloc

    page.goto(link.group())
    expect(heading(page)).to_have_text("Confirm your email address")
    page.get_by_role("button", name="Confirm email address").click()
    expect(heading(page)).to_have_text("Sign in to JESIP Learn")
    expect(success_banner(page)).to_contain_text("Your email address is confirmed")

    sign_in(page, live_server.url, email)
    expect(heading(page)).to_have_text("My training")

    navigation = page.get_by_role("navigation", name="Menu")
    navigation.get_by_role("button", name="Sign out").click()
    expect(heading(page)).to_have_text("Sign in to JESIP Learn")
    expect(success_banner(page)).to_contain_text("You have signed out.")
    page.goto("/account")
    expect(heading(page)).to_have_text("Sign in to JESIP Learn")  # signed out for real

    sign_in(page, live_server.url, email)
    expect(heading(page)).to_have_text("My training")


def test_wrong_password_shows_the_error_summary(page, live_server, make_account):
    person = make_account("Walter Wrongpassword")
    page.goto("/sign-in")
    expect(heading(page)).to_have_text("Sign in to JESIP Learn")
    save_screenshots(page, "sign-in")

    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your email address")
    save_screenshots(page, "sign-in-errors")

    sign_in(page, live_server.url, person.email, "not the right password at all")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(summary).to_be_focused()  # GOV.UK Frontend moves focus to the summary
    error_link = summary.get_by_role("link", name="Enter a correct email address and password")
    expect(error_link).to_have_attribute("href", "#email")
    expect(page.locator("#email-error")).to_contain_text(
        "Enter a correct email address and password")
    error_link.click()
    expect(page.get_by_label("Email address", exact=True)).to_be_focused()
    expect(page.get_by_label("Email address", exact=True)).to_have_value(person.email)


def test_first_administrator_sets_up_the_site(page, fresh_live_server):
    with fresh_live_server.database.write_session() as session:
        token = issue_first_administrator_token(session)
    assert token, "the fresh database already has an administrator"
    _, organisation, domain = home_organisation(fresh_live_server.database)

    page.goto(f"{fresh_live_server.url}/setup/{token}")
    expect(heading(page)).to_have_text("Create the first administrator")
    fill_account_fields(page, name="Farah First", email=f"farah.first@{domain}",
                        organisation=organisation, role="Strategic commander")
    page.get_by_role("button", name="Create administrator account").click()

    # An administrator sets up two-step verification before anything else.
    expect(heading(page)).to_have_text("Set up two-step verification")
    expect(success_banner(page).filter(has_text="Your administrator account is ready")
           ).to_be_visible()
    secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
    page.get_by_label("Security code").fill(code_for(secret, time_step(utcnow())))
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(heading(page)).to_have_text("Save your recovery codes")
    page.get_by_role("button", name="I have saved my recovery codes").click()

    expect(heading(page)).to_have_text("Users")
    expect(success_banner(page)).to_contain_text("Two-step verification is on")
    expect(page.get_by_role("link", name="Farah First")).to_be_visible()

    response = page.goto(f"{fresh_live_server.url}/setup/{token}")
    assert response.status == 410
    expect(heading(page)).to_have_text("There is a problem with this link")
    expect(page.get_by_text("This link has already been used")).to_be_visible()


def test_administrator_finds_a_user_and_makes_them_a_trainer(page, live_server, admin,
                                                             make_account):
    person = make_account(f"Saoirse Searchable {uuid.uuid4().hex[:6]}")
    sign_in(page, live_server.url, admin.email)
    page.goto("/admin/users")
    expect(heading(page)).to_have_text("Users")
    save_screenshots(page, "admin-users")

    page.get_by_label("Name or email").fill(person.name)
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("1 user found")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=person.name)
    expect(row).to_contain_text(person.organisation)
    expect(row).not_to_contain_text("Trainer")

    row.get_by_role("link", name=person.name).click()
    expect(heading(page)).to_have_text(f"Edit {person.name}")
    page.get_by_role("checkbox", name="Trainer", exact=True).check()
    page.get_by_role("button", name="Save changes").click()

    expect(heading(page)).to_have_text("Users")
    expect(success_banner(page)).to_contain_text(f"Changes to {person.name}’s account")
    page.get_by_label("Name or email").fill(person.name)
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("row").filter(has_text=person.name)).to_contain_text("Trainer")


def test_menu_button_toggles_navigation_on_a_phone(new_context, live_server):
    page = new_context(viewport={"width": 375, "height": 740}).new_page()
    errors = watch_console(page)
    page.goto("/")
    navigation = page.get_by_role("navigation", name="Menu")
    menu = navigation.get_by_role("button", name="Menu")
    links = page.locator("#navigation")

    expect(menu).to_be_visible()  # only shown once the JavaScript has run, under the CSP
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(links).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(links.get_by_role("link", name="Create an account")).to_be_visible()
    menu.click()
    expect(links).to_be_hidden()
    assert not errors, f"console errors: {errors}"
    save_screenshots(page, "start", widths=(375,))


def test_sign_in_and_out_without_javascript(new_context, live_server, learner):
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, live_server.url, learner.email)
    expect(heading(page)).to_have_text("My training")
    page.get_by_role("navigation", name="Menu").get_by_role("button", name="Sign out").click()
    expect(heading(page)).to_have_text("Sign in to JESIP Learn")
    expect(success_banner(page)).to_contain_text("You have signed out.")

    phone = new_context(java_script_enabled=False,
                        viewport={"width": 375, "height": 740}).new_page()
    phone.goto("/")
    # Without JavaScript there is no Menu button: the links are simply shown.
    expect(phone.get_by_role("button", name="Menu")).to_be_hidden()
    expect(phone.locator("#navigation").get_by_role("link", name="Sign in")).to_be_visible()
