"""Signing in and out, registering and passwords, through the Flask test client."""

import re

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import User
from tests.support.factories import PASSWORD
from tests.support.web import Browser

LINK = re.compile(r"http://jesip\.test(/\S+)")


def link_in(mail) -> str:
    return LINK.search(mail.text).group(1)


def registration(org, **overrides):
    data = {"name": "Sam Jones", "email": "sam.jones@northshire.police.uk",
            "organisation": str(org.id), "command_role": "tactical",
            "password": PASSWORD}
    data.update(overrides)
    return data


def test_sign_in_page(browser):
    page = browser.get("/sign-in")
    assert page.status == 200
    assert page.title == "Sign in – JESIP Learn"
    assert page.h1 == "Sign in to JESIP Learn"
    assert page.errors == []


def test_empty_sign_in_lists_both_problems(browser):
    page = browser.submit("/sign-in", {"email": "", "password": ""})
    assert page.title.startswith("Error: ")
    assert page.errors == ["Enter your email address", "Enter your password"]
    assert set(page.error_links().values()) == {"email", "password"}


def test_wrong_password_is_refused_with_a_clear_message(browser, make, organisation):
    user = make.user(organisation=organisation)
    page = browser.sign_in(user.email, "not the password at all")
    assert page.errors == ["Enter a correct email address and password"]
    assert page.soup.find("input", attrs={"name": "password"}).get("value") in (None, "")


def test_register_confirm_sign_out_and_in(browser, organisation, outbox, session):
    page = browser.submit("/register", registration(organisation))
    assert page.h1 == "Check your email"
    assert "sam.jones@northshire.police.uk" in page.text
    assert len(outbox) == 1 and outbox[0].to == "sam.jones@northshire.police.uk"
    refused = browser.sign_in("sam.jones@northshire.police.uk")
    assert "Confirm your email address first" in refused.errors[0]

    confirm_path = link_in(outbox[0])
    assert browser.get(confirm_path).h1 == "Confirm your email address"
    page = browser.submit(confirm_path, {})
    assert "Your email address is confirmed. You can now sign in." in page.notifications[0]

    page = browser.sign_in("sam.jones@northshire.police.uk")
    assert page.h1 == "My training" and "Sam Jones" in page.text
    page = browser.sign_out()
    assert page.h1 == "Sign in to JESIP Learn" and "You have signed out." in page.notifications
    assert browser.client.get("/account").status_code == 302
    assert browser.sign_in("sam.jones@northshire.police.uk").h1 == "My training"


def test_registration_outside_the_domain_waits_for_approval(browser, organisation, outbox):
    page = browser.submit("/register", registration(organisation, email="sam@example.org"))
    assert "a manager there will also need to approve your account" in page.text
    page = browser.submit(link_in(outbox[0]), {})
    assert "now needs to approve your account" in page.notifications[0]
    refused = browser.sign_in("sam@example.org")
    assert "waiting for a manager at Northshire Police" in refused.errors[0]


@pytest.mark.parametrize(("overrides", "error"), [
    ({"password": "short"}, "Password must be 12 characters or more"),
    ({"password": "password12345"}, "Password is too common"),
    ({"organisation": "99999"}, "Select your organisation from the list"),
    ({"organisation": ""}, "Select your organisation from the list"),
    ({"email": "nonsense"}, "Enter an email address in the correct format"),
    ({"command_role": ""}, "Select your command role"),
])
def test_bad_registrations_show_the_problem_and_save_nothing(
        browser, organisation, session, overrides, error):
    page = browser.submit("/register", registration(organisation, **overrides))
    assert page.title.startswith("Error: ")
    assert any(e.startswith(error) for e in page.errors), page.errors
    page.error_links()
    assert session.scalar(select(func.count()).select_from(User)) == 0
    # What the person typed is kept, except the password.
    assert page.soup.find("input", attrs={"name": "name"})["value"] == "Sam Jones"


def _without(text: str, email: str) -> str:
    return text.replace(email, "EMAIL")


def test_registering_an_address_with_an_account_looks_the_same_and_emails_its_owner(
        app, make, organisation, other_organisation, outbox, session):
    owner = make.user(organisation=other_organisation, email="sam.jones@northshire.police.uk",
                      name="Sam Owner")
    taken = Browser(app.test_client()).submit("/register", registration(organisation))
    fresh = Browser(app.test_client()).submit("/register", registration(
        organisation, email="new.person@northshire.police.uk"))
    assert taken.status == fresh.status == 200 and taken.h1 == "Check your email"
    assert _without(taken.text, owner.email) == _without(fresh.text,
                                                         "new.person@northshire.police.uk")
    assert other_organisation.name not in taken.text
    assert session.scalar(select(func.count()).select_from(User)) == 2  # the owner, the new one

    told = next(mail for mail in outbox if mail.to == owner.email)
    assert told.subject == "Someone tried to register for JESIP Learn with your email address"
    assert "Dear Sam Owner" in told.text and "nothing has changed" in told.text
    assert "http://jesip.test/sign-in" in told.text
    assert "http://jesip.test/forgot-password" in told.text


def test_a_weak_password_is_refused_the_same_whether_or_not_the_address_has_an_account(
        browser, make, organisation):
    make.user(organisation=organisation, email="sam.jones@northshire.police.uk")
    taken = browser.submit("/register", registration(organisation, password="short"))
    fresh = browser.submit("/register", registration(organisation, password="short",
                                                     email="new@northshire.police.uk"))
    assert taken.errors == fresh.errors == ["Password must be 12 characters or more"]


def test_asking_for_a_confirmation_link_does_not_reveal_a_pending_accounts_organisation(
        app, make, other_organisation, session):
    pending = make.user(organisation=other_organisation, email="pat@example.org")
    pending.email_confirmed_at = pending.approved_at = None
    session.commit()
    for_pending = Browser(app.test_client()).submit("/confirm-email", {"email": pending.email})
    for_nobody = Browser(app.test_client()).submit("/confirm-email",
                                                   {"email": "nobody@example.org"})
    assert for_pending.status == for_nobody.status == 200
    assert for_pending.h1 == "Check your email"
    assert other_organisation.name not in for_pending.text
    assert _without(for_pending.text, pending.email) == _without(for_nobody.text,
                                                                "nobody@example.org")


def test_posts_without_a_csrf_token_are_refused(client, make, organisation, session):
    user = make.user(organisation=organisation)
    response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert b"Nothing was saved" in response.data
    response = client.post("/register", data={"name": "X", "email": "x@example.org"})
    assert response.status_code == 400
    assert session.scalar(select(func.count()).select_from(User)) == 1


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(browser, make, organisation):
    user = make.user(organisation=organisation)
    token = browser.get("/sign-in").csrf_token()
    response = browser.client.post("/sign-in?next=/account",
                                   data={"email": user.email, "password": PASSWORD,
                                         "csrf_token": token})
    assert response.headers["Location"] == "/account"
    browser.sign_out()
    token = browser.get("/sign-in").csrf_token()
    response = browser.client.post("/sign-in?next=https://evil.example/",
                                   data={"email": user.email, "password": PASSWORD,
                                         "csrf_token": token})
    assert response.headers["Location"] == "/"  # the home page, which leads to My training


def test_the_eleventh_attempt_is_locked_out(browser, make, organisation):
    user = make.user(organisation=organisation)
    for _ in range(10):
        browser.sign_in(user.email, "wrong password again")
    page = browser.sign_in(user.email)
    assert "too many failed attempts" in page.errors[0]


def test_password_reset_by_email_link(browser, make, organisation, outbox):
    user = make.user(organisation=organisation)
    page = browser.submit("/forgot-password", {"email": user.email})
    assert page.h1 == "Check your email"
    reset_path = link_in(outbox[0])
    page = browser.submit(reset_path, {"password": "short"})
    assert page.errors == ["Password must be 12 characters or more"]
    page = browser.submit(reset_path, {"password": "a brand new passphrase here"})
    assert "Your password has been changed" in page.notifications[0]
    assert browser.sign_in(user.email, "a brand new passphrase here").h1 == "My training"
    reused = browser.get(reset_path)
    assert reused.status == 410 and "already been used" in reused.text


def test_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(browser, outbox):
    page = browser.submit("/forgot-password", {"email": "nobody@example.org"})
    assert page.h1 == "Check your email" and outbox == []


def test_an_invalid_link_gets_a_clear_page(browser):
    page = browser.get("/reset-password/not-a-real-token")
    assert page.status == 410 and page.h1 == "There is a problem with this link"


def test_change_password_signs_out_other_sessions(app, make, organisation):
    user = make.user(organisation=organisation)
    first, second = Browser(app.test_client()), Browser(app.test_client())
    first.sign_in(user.email)
    second.sign_in(user.email)
    page = first.submit("/account/password", {"current_password": "wrong one entirely",
                                              "new_password": "a brand new passphrase"})
    assert page.errors == ["Your current password is not correct"]
    page = first.submit("/account/password", {"current_password": PASSWORD,
                                              "new_password": "a brand new passphrase"})
    assert "signed out everywhere else" in page.notifications[0]
    assert first.get("/account").status == 200
    assert second.client.get("/account").status_code == 302


def test_sign_out_ends_the_session_on_the_server(app, make, organisation):
    user = make.user(organisation=organisation)
    person = Browser(app.test_client())
    person.sign_in(user.email)
    stolen_cookie = person.client.get_cookie("jesip_session", domain="jesip.test").value
    person.sign_out()
    thief = app.test_client()
    thief.set_cookie("jesip_session", stolen_cookie, domain="jesip.test")
    assert thief.get("/account").status_code == 302


def test_a_new_session_is_issued_at_sign_in(browser, make, organisation):
    user = make.user(organisation=organisation)
    browser.get("/sign-in")
    before = browser.client.get_cookie("jesip_session", domain="jesip.test").value
    browser.sign_in(user.email)
    assert browser.client.get_cookie("jesip_session", domain="jesip.test").value != before


def test_idle_sessions_end_after_thirty_minutes(browser, make, organisation):
    user = make.user(organisation=organisation)
    browser.sign_in(user.email)
    with browser.client.session_transaction() as session:
        session["seen_at"] -= 31 * 60
    response = browser.client.get("/account")
    assert response.status_code == 302


def test_first_administrator_setup_link(browser, organisation, session):
    from jesip_learn.accounts.administration import issue_first_administrator_token
    token = issue_first_administrator_token(session)
    session.commit()
    page = browser.submit(f"/setup/{token}", registration(organisation, name="Alex Admin",
                                                          email="alex@northshire.police.uk"))
    # The new administrator must set up two-step verification before anything else.
    assert page.h1 == "Set up two-step verification"
    assert "Your administrator account is ready." in page.notifications
    assert browser.get("/admin/users", follow_redirects=True).h1 == "Set up two-step verification"
    assert browser.set_up_two_step().h1 == "Save your recovery codes"
    page = browser.submit("/account/two-step/recovery-codes", {})
    assert page.h1 == "Users" and "Two-step verification is on." in page.notifications
    assert browser.get(f"/setup/{token}").status == 410


def test_the_first_administrator_form_lists_every_missing_field(browser, organisation, session):
    from jesip_learn.accounts.administration import issue_first_administrator_token
    token = issue_first_administrator_token(session)
    session.commit()
    page = browser.submit(f"/setup/{token}", {"organisation": ""})
    assert page.status == 200
    assert page.errors == ["Enter your full name", "Enter your email address",
                           "Select your organisation from the list",
                           "Select your command role", "Create a password"]
