"""Signing in with the organisation's own account, end to end against a real OpenID provider
(oidc-provider on Node, tests/oidc/provider.mjs) in Entra ID's multi-tenant shape: the site
through the Flask test client, the person at the provider through its own login page.

Tenant A belongs to Northshire Police; tenant B belongs to no organisation here. This module:
a first sign-in and the ones after, tenants refused, existing accounts linked or not, names
refused, organisations that require single sign-on, other providers, choosing between
providers, and signing out. The provider's answers that cannot be trusted are in
tests/sso/test_sso_untrusted_tokens.py; two-step verification in tests/sso/test_sso_two_step.py.
"""

from __future__ import annotations

import re
import urllib.parse

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.administration import invite_user
from jesip_learn.accounts.models import User
from jesip_learn.sso import providers as sso_providers
from jesip_learn.sso.models import SsoIdentity
from tests.support.factories import PASSWORD
from tests.support.openid_provider import CLIENT_ID, CLIENT_SECRET
from tests.support.pages import read_page
from tests.support.sso_sign_in import (
    A_DOMAIN,
    B_DOMAIN,
    CALLBACK,
    SITE,
    TENANT_A,
    TENANT_B,
    back_from_provider,
    create_account,
    events,
    follow,
    person,
    start,
)

# --- a first sign-in and the ones after -----------------------------------------------------


def test_a_person_of_a_linked_tenant_gets_an_account_in_their_organisation(
        browser, idp, entra, organisation, session):
    account = person(idp)
    authorization_url = start(browser, account.login)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(authorization_url).query)
    assert authorization_url.startswith(f"{idp.authority}/organizations/oauth2/v2.0/authorize")
    assert query["code_challenge_method"] == ["S256"] and len(query["state"][0]) >= 32
    assert query["nonce"] and query["login_hint"] == [account.login]
    assert query["redirect_uri"] == [CALLBACK] and query["client_id"] == [CLIENT_ID]

    # The email form leads on to the provider: its page lets forms go there, and only there.
    policy = browser.client.get("/sign-in/organisation").headers["Content-Security-Policy"]
    assert policy.endswith(f"form-action 'self' {idp.authority}")

    page = follow(browser, back_from_provider(browser, account,
                                              authorization_url=authorization_url))
    assert page.h1 == "Welcome to JESIP Learn"
    assert "Ava Moss" in page.text and account.login in page.text
    assert organisation.name in page.text
    page = browser.submit("/sign-in/organisation/new-account", {"command_role": ""})
    assert page.status == 200 and page.errors == ["Select your command role"]
    page = browser.submit("/sign-in/organisation/new-account", {"command_role": "tactical"})
    assert page.status == 200 and page.h1 == "My training"

    user = session.scalar(select(User).where(User.email == account.login))
    assert (user.name, user.organisation_id, user.command_role) == (
        "Ava Moss", organisation.id, "tactical")
    assert user.can_sign_in and user.password_hash == ""
    identity = session.scalar(select(SsoIdentity).where(SsoIdentity.user_id == user.id))
    assert (identity.issuer, identity.subject) == (idp.issuer(TENANT_A), account.oid)
    assert [e.details["method"] for e in events(session, "account.registered")] == [
        "single sign-on"]
    assert events(session, "sign_in.succeeded")[-1].subject_user_id == user.id

    browser.sign_out()
    page = follow(browser, back_from_provider(browser, account))  # the role is not asked again
    assert page.h1 == "My training"
    assert session.scalar(select(func.count()).select_from(User)
                          .where(User.email == account.login)) == 1


def test_the_new_account_page_sent_twice_makes_one_account(browser, idp, entra, session):
    account = person(idp)
    follow(browser, back_from_provider(browser, account))
    token = browser.get("/sign-in/organisation/new-account").csrf_token()
    cookie = browser.client.get_cookie("jesip_session", domain="jesip.test")
    form = {"csrf_token": token, "command_role": "staff"}
    first = browser.client.post("/sign-in/organisation/new-account", data=form)
    assert first.status_code == 302
    browser.client.set_cookie("jesip_session", cookie.value, domain=cookie.domain)
    page = read_page(browser.client.post("/sign-in/organisation/new-account", data=form))
    assert page.status == 409 and page.h1 == "You have already finished signing in"
    assert page.soup.find("a", string="Go to My training")
    assert session.scalar(select(func.count()).select_from(User)
                          .where(User.email == account.login)) == 1


def test_the_subject_finds_the_account_even_when_the_email_changes(browser, idp, entra, session):
    account = person(idp)
    follow(browser, back_from_provider(browser, account))
    create_account(browser)
    browser.sign_out()
    renamed = person(idp, login=f"ava.moss-smith@{A_DOMAIN}", oid=account.oid,
                     name="Ava Moss-Smith")
    page = follow(browser, back_from_provider(browser, renamed))
    assert page.h1 == "My training"
    assert session.scalar(select(func.count()).select_from(User).where(
        User.email.like("ava.moss%"))) == 1


def test_a_tenant_that_no_organisation_lists_is_refused(browser, idp, entra, session):
    stranger = person(idp, f"sam.hill@{B_DOMAIN}", tenant=TENANT_B, name="Sam Hill")
    response = back_from_provider(browser, stranger)
    page = read_page(response)
    assert page.status == 403
    assert page.h1 == "You could not be signed in"
    assert "not one that JESIP Learn accepts" in page.text
    assert session.scalar(select(User).where(User.email == stranger.login)) is None
    refused = events(session, "sign_in.sso_refused")
    assert [(e.details["reason"], e.details["tenant_id"]) for e in refused] == [
        ("tenant-not-listed", TENANT_B)]
    assert browser.client.get("/learn").status_code == 302  # not signed in


def test_an_unlisted_tenant_is_refused_even_when_the_email_domain_is_a_linked_organisations(
        browser, idp, entra, session):
    """The tenant decides, never the email: tenant B's account claiming an A address."""
    impostor = person(idp, f"eve@{A_DOMAIN}", tenant=TENANT_B, name="Eve")
    page = read_page(back_from_provider(browser, impostor))  # the provider finds it in B
    assert page.status == 403
    assert [e.details["reason"] for e in events(session, "sign_in.sso_refused")] == [
        "tenant-not-listed"]


# --- existing accounts --------------------------------------------------------------------------


def test_an_existing_password_account_is_linked_once_its_password_is_given(
        browser, idp, entra, make, organisation, session):
    user = make.user(organisation=organisation, email=f"lee.jones@{A_DOMAIN}", name="Lee Jones")
    account = person(idp, user.email, name="Lee Jones")
    page = follow(browser, back_from_provider(browser, account))
    assert page.h1 == "Link your JESIP Learn account"
    assert user.email in page.text
    page = browser.submit("/sign-in/organisation/link-account", {"password": "not my password"})
    assert page.status == 200
    assert page.errors == ["The password is not right. Enter the password of your JESIP Learn "
                           "account."]
    assert [e.details["step"] for e in events(session, "sign_in.failed")] == [
        "single sign-on link"]
    assert session.scalar(select(SsoIdentity).where(SsoIdentity.user_id == user.id)) is None
    page = browser.submit("/sign-in/organisation/link-account", {"password": PASSWORD})
    assert page.h1 == "My training"
    identity = session.scalar(select(SsoIdentity).where(SsoIdentity.user_id == user.id))
    assert identity.subject == account.oid
    assert [e.subject_user_id for e in events(session, "sso.account_linked")] == [user.id]
    browser.sign_out()
    page = follow(browser, back_from_provider(browser, account))
    assert page.h1 == "My training"  # linked: no password asked again


def test_an_account_of_another_organisation_with_the_same_email_is_not_linked(
        browser, idp, entra, make, other_organisation, session):
    make.user(organisation=other_organisation, email=f"kim.cole@{A_DOMAIN}", name="Kim Cole")
    page = read_page(back_from_provider(browser, person(idp, f"kim.cole@{A_DOMAIN}",
                                                        name="Kim Cole")))
    assert page.status == 403 and "belongs to Southshire Fire and Rescue Service" in page.text
    assert [e.details["reason"] for e in events(session, "sign_in.sso_refused")] == [
        "other-organisation"]


def test_an_email_the_provider_does_not_vouch_for_makes_no_account(browser, idp, entra, session):
    account = person(idp, f"kit@{A_DOMAIN}", email="kit@elsewhere.example", name="Kit",
                     email_verified=False)
    page = read_page(back_from_provider(browser, account))
    assert page.status == 403 and "does not give an email address" in page.text
    assert session.scalar(select(User).where(User.email == "kit@elsewhere.example")) is None


@pytest.mark.parametrize("name", ["Ava\nMoss", "Ava\u202eMoss", "Ava\x1bMoss", ""])
def test_a_name_with_control_characters_from_the_token_is_refused(browser, idp, entra,
                                                                  session, name):
    page = read_page(back_from_provider(browser, person(idp, name=name)))
    assert page.status == 403 and "form JESIP Learn cannot use" in page.text
    assert [e.details["reason"] for e in events(session, "sign_in.sso_refused")] == ["name"]
    assert session.scalar(select(func.count()).select_from(User)) == 1  # the administrator


# --- organisations that require single sign-on ---------------------------------------------------


def test_an_organisation_that_requires_single_sign_on_refuses_its_staffs_passwords(
        browser, entra, admin, make, organisation, other_organisation, session):
    learner = make.user(organisation=organisation, name="Pat Password")
    elsewhere = make.user(organisation=other_organisation)
    assert sso_providers.set_requirement(session, admin, organisation, True)
    session.commit()
    page = browser.sign_in(learner.email)
    assert page.h1 == "Sign in to JESIP Learn"
    assert page.errors == ["Northshire Police signs its staff in with their work account: use "
                           "“Sign in with your organisation’s account” below."]
    assert events(session, "sign_in.password_refused")[-1].subject_user_id == learner.id
    assert browser.sign_in(elsewhere.email).h1 == "My training"  # other organisations: as before
    browser.sign_out()
    # Administrators keep their password, so that a broken connection locks no one out.
    assert browser.sign_in(admin.email).h1 != "Sign in to JESIP Learn"


def test_an_organisation_that_requires_single_sign_on_links_its_staffs_accounts_at_once(
        browser, idp, entra, admin, make, organisation, session):
    """Their password is refused and cannot be reset, so it is not asked for: the
    organisation's account, in its tenant, at its address, is the proof."""
    user = make.user(organisation=organisation, email=f"lee.jones@{A_DOMAIN}", name="Lee Jones")
    user.approved_at = None  # waiting for a manager: the organisation vouches instead
    assert sso_providers.set_requirement(session, admin, organisation, True)
    session.commit()
    account = person(idp, user.email, name="Lee Jones")
    page = follow(browser, back_from_provider(browser, account))
    assert page.status == 200 and page.h1 == "My training"
    identity = session.scalar(select(SsoIdentity).where(SsoIdentity.user_id == user.id))
    assert identity.subject == account.oid
    linked, = events(session, "sso.account_linked")
    assert linked.subject_user_id == user.id
    assert linked.summary == ("Linked to their account at Microsoft 365, which Northshire "
                              "Police requires")
    session.refresh(user)
    assert user.approved_at is not None
    assert events(session, "sign_in.succeeded")[-1].subject_user_id == user.id


def test_a_person_a_manager_added_there_signs_in_with_no_password_ever_set(
        browser, idp, entra, admin, organisation, session):
    assert sso_providers.set_requirement(session, admin, organisation, True)
    user, token = invite_user(session, admin, email=f"nia.new@{A_DOMAIN}", name="Nia New",
                              organisation_id=organisation.id, command_role="staff",
                              permissions=set())
    session.commit()
    assert token is None and user.shown_status == "invited"
    page = follow(browser, back_from_provider(browser, person(idp, user.email, name="Nia New")))
    assert page.status == 200 and page.h1 == "My training"
    session.refresh(user)
    assert user.shown_status == "active" and user.password_hash == ""


def test_an_administrator_of_such_an_organisation_still_gives_their_password_to_link(
        browser, idp, entra, admin, make, organisation, session):
    """Administrators keep their password: a token from the organisation's directory alone
    does not take over an administrator's account."""
    other_admin = make.user(organisation=organisation, email=f"ana.boss@{A_DOMAIN}",
                            name="Ana Boss", permissions={"admin"})
    assert sso_providers.set_requirement(session, admin, organisation, True)
    session.commit()
    page = follow(browser, back_from_provider(browser, person(idp, other_admin.email,
                                                              name="Ana Boss")))
    assert page.status == 200 and page.h1 == "Link your JESIP Learn account"
    assert session.scalar(select(SsoIdentity).where(
        SsoIdentity.user_id == other_admin.id)) is None


# --- other providers, choosing, signing out ------------------------------------------------------


def test_another_organisations_own_provider_is_found_by_its_issuer(
        browser, idp, admin, make, session):
    ambulance = make.organisation(name="Eastshire Ambulance Service", service="ambulance",
                                  domains=["eastshire-ambulance.example"])
    provider = sso_providers.save_provider(
        session, admin, sso_providers.ProviderDetails(
            name="Eastshire sign-in", kind="oidc", issuer_url=idp.generic_issuer,
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET), secret_key="test secret key")
    sso_providers.link_organisation(session, admin, provider, ambulance, "")
    session.commit()
    account = person(idp, "rhys.ward@eastshire-ambulance.example", tenant="generic",
                     name="Rhys Ward", email_verified=True)
    url = start(browser, account.login)
    assert url.startswith(f"{idp.generic_issuer}/auth?")
    page = follow(browser, back_from_provider(browser, account, authorization_url=url))
    assert page.h1 == "Welcome to JESIP Learn" and "Eastshire Ambulance Service" in page.text
    assert create_account(browser, "operational").h1 == "My training"
    identity = session.scalar(select(SsoIdentity).where(SsoIdentity.provider_id == provider.id))
    assert (identity.issuer, identity.subject) == (idp.generic_issuer, account.login)


def test_the_email_page_says_when_no_provider_signs_the_address_in(browser, entra, make, session):
    make.organisation(name="Westshire Police", domains=["westshire.police.uk"])
    page = browser.submit("/sign-in/organisation", {"email": "jo@westshire.police.uk"})
    assert page.status == 200
    assert page.errors == ["Westshire Police has not connected its own accounts to JESIP Learn "
                           "yet. Sign in with your password."]
    page = browser.submit("/sign-in/organisation", {"email": "not an address"})
    assert page.errors == ["Enter an email address in the correct format, like "
                           "name@example.org"]
    entra.is_active = False
    session.commit()
    page = browser.submit("/sign-in/organisation", {"email": "jo@unknown.example"})
    assert page.errors == ["No organisation signs in with accounts at unknown.example. Check "
                           "the address, or sign in with your password."]
    assert not browser.get("/sign-in").soup.find("a", string=re.compile("organisation’s account"))


def test_two_providers_for_one_organisation_are_offered_as_a_choice(
        browser, idp, entra, admin, organisation, session):
    other = sso_providers.save_provider(
        session, admin, sso_providers.ProviderDetails(
            name="Northshire own sign-in", kind="oidc", issuer_url=idp.generic_issuer,
            client_id=CLIENT_ID), secret_key="test secret key")
    sso_providers.link_organisation(session, admin, other, organisation, "")
    session.commit()
    page = browser.submit("/sign-in/organisation", {"email": f"ann@{A_DOMAIN}"})
    assert page.h1 == "Choose how to sign in"
    buttons = [b.get_text(strip=True) for b in page.soup.select("button")]
    assert "Continue with Microsoft 365" in buttons and "Continue with Northshire own sign-in" \
        in buttons
    response = browser.submit("/sign-in/organisation", {"email": f"ann@{A_DOMAIN}",
                                                        "provider": str(other.id)},
                              follow_redirects=False)
    assert response.headers["Location"].startswith(f"{idp.generic_issuer}/auth?")


def test_signing_out_offers_the_providers_own_sign_out(browser, idp, entra):
    account = person(idp)
    follow(browser, back_from_provider(browser, account))
    create_account(browser)
    page = browser.sign_out()
    assert page.h1 == "You have signed out of JESIP Learn"
    assert page.notifications == ["You have signed out."]
    link = page.soup.find("a", string=re.compile("Sign out of your organisation"))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link["href"]).query)
    assert link["href"].startswith(f"{idp.issuer(TENANT_A)}/session/end?")
    assert query == {"client_id": [CLIENT_ID], "post_logout_redirect_uri": [f"{SITE}/sign-in"]}
    # Our own session has ended: My training asks for a sign-in.
    learn = browser.client.get("/learn")
    assert learn.status_code == 302 and "/sign-in" in learn.headers["Location"]


def test_signing_out_after_a_password_sign_in_is_as_before(browser, make, organisation):
    learner = make.user(organisation=organisation)
    browser.sign_in(learner.email)
    page = browser.sign_out()
    assert page.h1 == "Sign in to JESIP Learn"


def test_a_provider_that_cannot_be_reached_gives_a_clear_page(browser, entra, session, app):
    app.config["SSO_ENTRA_AUTHORITY"] = "http://127.0.0.1:9"  # nothing listens there
    page = read_page(browser.submit("/sign-in/organisation", {"email": f"ann@{A_DOMAIN}"},
                                    follow_redirects=False))
    assert page.status == 503 and "did not answer properly" in page.text
