"""Two-step verification with single sign-on, end to end against the real OpenID provider
(tests/sso/test_sso_sign_in.py says how): a manager whose provider reports multi-factor
authentication, or whose provider is marked as enforcing it, is not asked for the site's
code; one without it is asked for the site's code, or must set up the site's two-step
verification."""

from __future__ import annotations

import re

import pytest

from jesip_learn.sso.models import SsoIdentity
from tests.support.sso_sign_in import (
    A_DOMAIN,
    TENANT_A,
    back_from_provider,
    events,
    follow,
    person,
)
from tests.support.web import TWO_STEP_PATH, two_step_code

# --- two-step verification --------------------------------------------------------------------


@pytest.fixture
def link_identity(session, entra, idp):
    """An account already linked to its identity at tenant A."""
    def link(user, account):
        session.add(SsoIdentity(user_id=user.id, provider_id=entra.id,
                                issuer=idp.issuer(TENANT_A), subject=account.oid))
        session.commit()
    return link


@pytest.fixture
def manager(make, organisation):
    return make.user(organisation=organisation, permissions={"manager"},
                     email=f"mo.manager@{A_DOMAIN}", name="Mo Manager")


def test_a_manager_whose_provider_reports_mfa_is_not_asked_for_the_sites_code(
        browser, idp, manager, link_identity, session):
    account = person(idp, manager.email, name=manager.name, amr=["pwd", "mfa"])
    link_identity(manager, account)
    page = follow(browser, back_from_provider(browser, account))
    assert page.h1 == "My training"
    assert browser.get("/manage/approvals").status == 200
    assert events(session, "sign_in.succeeded")[-1].details["provider_mfa"] is True


def test_a_manager_without_the_sites_two_step_need_not_set_it_up_after_the_providers(
        browser, idp, make, organisation, link_identity):
    manager = make.user(organisation=organisation, permissions={"manager"}, two_step=False,
                        email=f"mia.manager@{A_DOMAIN}", name="Mia Manager")
    account = person(idp, manager.email, name=manager.name, amr=["pwd", "mfa"])
    link_identity(manager, account)
    page = follow(browser, back_from_provider(browser, account))
    assert page.h1 == "My training"
    assert browser.get("/manage/approvals").status == 200


def test_a_manager_without_mfa_at_the_provider_is_asked_for_the_sites_code(
        browser, idp, manager, link_identity, session):
    account = person(idp, manager.email, name=manager.name, amr=["pwd"])
    link_identity(manager, account)
    response = back_from_provider(browser, account)
    assert response.status_code == 302 and response.headers["Location"].endswith(TWO_STEP_PATH)
    assert browser.get("/manage/approvals").status != 200  # not signed in yet
    assert [e.action for e in events(session, "sign_in.provider_accepted")]
    code = two_step_code(browser.client.application.extensions["database"], manager.email)
    page = browser.submit(TWO_STEP_PATH, {"code": code})
    assert page.h1 == "My training"
    assert browser.get("/manage/approvals").status == 200
    # The provider's sign-out is still offered after the site's own second step.
    page = browser.sign_out()
    assert page.h1 == "You have signed out of JESIP Learn"
    assert page.soup.find("a", string=re.compile("Sign out of your organisation"))


def test_a_manager_without_mfa_anywhere_must_set_up_the_sites_two_step(
        browser, idp, make, organisation, link_identity):
    manager = make.user(organisation=organisation, permissions={"manager"}, two_step=False,
                        email=f"mia.manager@{A_DOMAIN}", name="Mia Manager")
    account = person(idp, manager.email, name=manager.name, amr=["pwd"])
    link_identity(manager, account)
    page = follow(browser, back_from_provider(browser, account))
    assert page.h1 == "Set up two-step verification"
    response = browser.client.get("/manage/approvals")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/two-step/set-up")


def test_a_provider_marked_as_enforcing_mfa_spares_managers_the_sites_code(
        browser, idp, manager, link_identity, entra, session):
    entra.enforces_mfa = True
    session.commit()
    account = person(idp, manager.email, name=manager.name, amr=["pwd"])
    link_identity(manager, account)
    page = follow(browser, back_from_provider(browser, account))
    assert page.h1 == "My training"
    assert browser.get("/manage/approvals").status == 200
