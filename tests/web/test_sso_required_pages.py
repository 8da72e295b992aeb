"""The pages of an organisation that requires single sign-on, besides the sign-in page
(tests/test_sso_sign_in.py): registering. Northshire Police (domain northshire.police.uk)
signs in through `entra` and requires it in each test."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import User
from jesip_learn.sso import providers as sso_providers
from tests.support.factories import PASSWORD

SSO_BUTTON = "Sign in with your organisation’s account"


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


def test_registration_elsewhere_is_as_before(browser, required, other_organisation, outbox):
    page = browser.submit("/register", registration(other_organisation,
                                                    email="sam@southshire-fire.example"))
    assert page.status == 200 and page.h1 == "Check your email"
    assert len(outbox) == 1
