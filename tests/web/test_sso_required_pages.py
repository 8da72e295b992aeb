"""The pages of an organisation that requires single sign-on, besides the sign-in page
(tests/test_sso_sign_in.py): registering, a forgotten password, changing one, and the
emails to people added by a manager or an import. Northshire Police
(domain northshire.police.uk) signs in through `entra` and, in most tests, requires it."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import User
from jesip_learn.sso import providers as sso_providers
from tests.support.factories import PASSWORD
from tests.support.pages import read_page
from tests.support.sso_sign_in import organisation_session
from tests.support.web import Browser

SSO_BUTTON = "Sign in with your organisation’s account"
LINK = re.compile(r"http://jesip\.test(/\S+)")


@pytest.fixture
def required(session, entra, admin, organisation):
    assert sso_providers.set_requirement(session, admin, organisation, True)
    session.commit()
    return organisation


def registration(organisation, **overrides):
    return {"name": "Sam Jones", "email": "sam.jones@northshire.police.uk",
            "organisation": str(organisation.id), "command_role": "tactical",
            "password": PASSWORD, **overrides}


def sso_button(page):
    return page.soup.find("a", string=SSO_BUTTON)


def test_registering_sends_the_person_to_their_organisations_sign_in(
        browser, required, session, outbox):
    before = session.scalar(select(func.count()).select_from(User))
    page = browser.submit("/register", registration(required))
    assert page.status == 200
    assert page.h1 == "Sign in with your organisation’s account"
    assert ("Northshire Police signs its staff in to JESIP Learn with their work account, so "
            "there is no account to create with a password.") in page.text
    assert sso_button(page)["href"] == "/sign-in/organisation"
    assert session.scalar(select(func.count()).select_from(User)) == before
    assert outbox == []
    start = browser.get(sso_button(page)["href"])
    assert start.status == 200 and start.h1 == "Sign in with your organisation’s account"


def test_an_address_with_an_account_gets_the_same_page(browser, required, make, outbox):
    make.user(organisation=required, email="sam.jones@northshire.police.uk")
    page = browser.submit("/register", registration(required))
    assert page.status == 200 and page.h1 == "Sign in with your organisation’s account"
    assert outbox == []


def test_a_members_address_registered_elsewhere_emails_them_their_organisations_sign_in(
        app, required, other_organisation, make, outbox):
    make.user(organisation=required, email="sam@example.org", name="Sam Member")
    taken = Browser(app.test_client()).submit("/register", registration(
        other_organisation, email="sam@example.org"))
    fresh = Browser(app.test_client()).submit("/register", registration(
        other_organisation, email="new@example.org"))
    assert taken.status == fresh.status == 200 and taken.h1 == "Check your email"
    assert (taken.text.replace("sam@example.org", "EMAIL")
            == fresh.text.replace("new@example.org", "EMAIL"))
    told, = (mail for mail in outbox if mail.to == "sam@example.org")
    assert "Northshire Police signs its staff in with their work account" in told.text
    assert LINK.findall(told.text) == ["/sign-in/organisation"]
    assert "without your work account" in told.text


def test_registration_elsewhere_is_as_before(browser, required, other_organisation, outbox):
    page = browser.submit("/register", registration(other_organisation,
                                                    email="sam@southshire-fire.example"))
    assert page.status == 200 and page.h1 == "Check your email"
    assert len(outbox) == 1


# --- a forgotten password -----------------------------------------------------------------------

def test_a_forgotten_password_page_looks_the_same_but_the_email_says_how_to_sign_in(
        app, required, make, outbox):
    member = make.user(organisation=required, name="Mo Member")
    elsewhere = make.user(name="Ed Elsewhere")
    pages = {email: Browser(app.test_client()).submit("/forgot-password", {"email": email})
             for email in (member.email, elsewhere.email, "nobody@example.org")}
    assert {page.status for page in pages.values()} == {200}
    assert len({page.text.replace(email, "EMAIL") for email, page in pages.items()}) == 1
    assert pages[member.email].h1 == "Check your email"

    told, = (mail for mail in outbox if mail.to == member.email)
    assert told.subject == "Signing in to JESIP Learn"
    assert "Dear Mo Member" in told.text
    assert "Northshire Police signs its staff in with their work account" in told.text
    assert LINK.findall(told.text) == ["/sign-in/organisation"]
    reset, = (mail for mail in outbox if mail.to == elsewhere.email)
    assert reset.subject == "Reset your JESIP Learn password"
    assert LINK.search(reset.text).group(1).startswith("/reset-password/")


def test_a_reset_link_sent_before_the_organisation_required_it_is_refused(
        browser, entra, admin, make, organisation, session, outbox):
    member = make.user(organisation=organisation)
    page = browser.submit("/forgot-password", {"email": member.email})
    assert page.status == 200
    reset_path = LINK.search(outbox[0].text).group(1)
    assert sso_providers.set_requirement(session, admin, organisation, True)
    session.commit()

    page = browser.get(reset_path)
    assert page.status == 410 and page.h1 == "This link no longer works"
    assert ("Northshire Police now signs its staff in to JESIP Learn with their work account, "
            "so this link to choose a password no longer works") in page.text
    assert sso_button(page)["href"] == "/sign-in/organisation"
    token = browser.get("/forgot-password").csrf_token()
    refused = read_page(browser.client.post(reset_path, data={
        "csrf_token": token, "password": "a brand new passphrase here"}))
    assert refused.status == 410 and refused.h1 == "This link no longer works"
    page = browser.sign_in(member.email, "a brand new passphrase here")
    assert page.status == 200 and page.errors == ["Enter a correct email address and password"]


# --- changing a password ------------------------------------------------------------------------


def test_requiring_it_signs_out_a_member_signed_in_with_a_password(
        browser, entra, admin, make, organisation, session):
    member = make.user(organisation=organisation)
    assert browser.sign_in(member.email).status == 200  # before the organisation required it
    assert browser.get("/account").status == 200
    administrator = Browser(browser.client.application.test_client())
    assert administrator.sign_in(admin.email).status == 200
    done = administrator.submit(
        f"/admin/single-sign-on/organisations/{organisation.id}/requirement",
        {"required": "yes"}, form_url="/admin/single-sign-on")
    assert done.status == 200
    assert ("Northshire Police’s staff must now sign in with their organisation’s account. "
            "Anyone signed in has been signed out.") in done.text
    page = browser.get("/account", follow_redirects=True)
    assert page.status == 200 and page.h1 == "Sign in to JESIP Learn"
    assert administrator.get("/account").status == 200  # administrators are not signed out


def signed_in_by_organisation(browser, user) -> None:
    """The session a sign-in with the organisation's account leaves (tests/sso/ go through
    the provider itself)."""
    with browser.client.session_transaction() as flask_session:
        flask_session.update(organisation_session(user))


def test_a_signed_in_member_is_told_they_have_no_password_to_change(
        browser, required, make, session):
    member = make.user(organisation=required)
    signed_in_by_organisation(browser, member)
    old_hash = member.password_hash

    account = browser.get("/account")
    assert account.status == 200
    assert not account.soup.find("a", string="Change your password")
    assert ("You sign in with your Northshire Police work account, so JESIP Learn keeps no "
            "password for you.") in account.text
    page = browser.get("/account/password")
    assert page.status == 200 and page.h1 == "You do not need a password"
    assert "so you have no JESIP Learn password to change" in page.text
    assert not page.soup.find("input", attrs={"name": "new_password"})
    assert not sso_button(page)  # they are signed in already
    refused = browser.submit("/account/password", {
        "current_password": PASSWORD, "new_password": "a brand new passphrase here"},
        form_url="/account")
    assert refused.status == 403 and refused.h1 == "You do not need a password"
    session.refresh(member)
    assert member.password_hash == old_hash


def test_an_administrator_of_the_organisation_still_changes_their_password(
        browser, required, admin):
    assert browser.sign_in(admin.email).status == 200
    account = browser.get("/account")
    assert account.status == 200 and account.soup.find("a", string="Change your password")
    page = browser.get("/account/password")
    assert page.status == 200 and page.h1 == "Change your password"


# --- people added by others ---------------------------------------------------------------------


def test_a_person_added_by_a_manager_is_told_to_sign_in_with_their_organisation(
        browser, entra, admin, make, organisation, session, outbox):
    manager = make.user(organisation=organisation, permissions={"manager"}, name="Mo Manager")
    assert browser.sign_in(manager.email).status == 200  # two-step verification set up
    assert sso_providers.set_requirement(session, admin, organisation, True)
    session.commit()
    session.refresh(manager)  # signed out by the requirement: back in through the provider
    signed_in_by_organisation(browser, manager)
    done = browser.submit("/manage/people/new", {
        "name": "Nia Newcomer", "email": "nia.newcomer@northshire.police.uk",
        "organisation": str(organisation.id), "command_role": "tactical"})
    assert done.status == 200
    assert done.notifications == [
        "Nia Newcomer has been added. We are emailing nia.newcomer@northshire.police.uk to sign "
        "in with Northshire Police’s account, which it requires; until they first do, they are "
        "shown as invited."]
    mail, = outbox
    assert mail.subject == "Your JESIP Learn account"
    assert ("Northshire Police signs its staff in to JESIP Learn with their work account, so "
            "you do not need a password.") in mail.text
    assert LINK.findall(mail.text) == ["/sign-in/organisation"]


def test_people_imported_into_the_organisation_are_told_to_sign_in_with_it(
        browser, required, admin, session, outbox):
    assert browser.sign_in(admin.email).status == 200
    form_url = "/manage/imports/users/new"
    token = browser.get(form_url).csrf_token()
    csv = (b"name,email,organisation,command role\n"
           b"Nia New,nia@northshire.police.uk,Northshire Police,staff\n")
    checked = read_page(browser.client.post(form_url, follow_redirects=True, data={
        "csrf_token": token, "file": (io.BytesIO(csv), "people.csv")}))
    assert checked.status == 200 and checked.h1 == "Check your import"
    form = checked.soup.select_one("form[action$='/apply']")
    done = read_page(browser.client.post(form["action"], follow_redirects=True, data={
        field["name"]: field.get("value", "") for field in form.select("input[name]")}))
    assert done.status == 200 and done.h1 == "Import complete"
    mail, = outbox
    assert mail.to == "nia@northshire.police.uk"
    assert "Northshire Police signs its staff in to JESIP Learn" in mail.text
    assert LINK.findall(mail.text) == ["/sign-in/organisation"]
