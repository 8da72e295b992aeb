"""Administration of single sign-on through the pages: providers with their secrets kept
encrypted and never shown again, organisations linked to Entra ID tenants, the requirement
to use it, each change audited; administrators only, and every form needs its CSRF token."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from jesip_learn.records.models import AuditEvent
from jesip_learn.sso import client_secrets
from jesip_learn.sso import providers as sso_providers
from jesip_learn.sso.models import SsoOrganisationLink, SsoProvider, SsoRequirement
from tests.support.pages import read_page

SECRET = "Q~8xQ.an-entra-client-secret-value"  # noqa: S105
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
INDEX = "/admin/single-sign-on"
NEW = "/admin/single-sign-on/providers/new"
ENTRA = {"name": "Microsoft 365", "kind": "entra", "entra_directory": "organizations",
         "client_id": "0d4a5c1e-9a51-4b3e-8f6e-3c2f1b0a9d8e", "client_secret": SECRET,
         "is_active": "y"}


@pytest.fixture
def signed_in_admin(browser, admin):
    browser.sign_in(admin.email)
    return admin


def audit(session, action):
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def add_entra(browser, **changes):
    return browser.submit(NEW, {**ENTRA, **changes})


def test_an_administrator_adds_an_entra_provider_whose_secret_is_never_shown_again(
        browser, signed_in_admin, session):
    page = browser.get("/admin/")
    assert page.soup.find("a", href=INDEX)
    page = browser.get(INDEX)
    assert page.status == 200 and page.h1 == "Sign-in with organisation accounts"
    assert "No provider has been added yet" in page.text

    page = add_entra(browser)
    assert page.status == 200 and page.h1 == "Microsoft 365"
    assert page.notifications == ["Microsoft 365 has been saved."]
    assert "http://jesip.test/sign-in/organisation/callback" in page.text
    assert SECRET not in page.soup.decode()
    assert "A secret is stored" in page.text

    provider = session.scalar(select(SsoProvider))
    assert SECRET not in provider.client_secret_encrypted
    assert client_secrets.unseal(provider.client_secret_encrypted, "test secret key") == SECRET
    added = audit(session, "sso.provider_added")
    assert len(added) == 1 and added[0].actor_id == signed_in_admin.id
    assert SECRET not in json.dumps(added[0].details) + added[0].summary
    assert added[0].details["secret_replaced"] is True

    # Saved again with the secret left blank: the stored one is kept.
    page = browser.submit(f"/admin/single-sign-on/providers/{provider.id}",
                          {**ENTRA, "client_secret": "", "enforces_mfa": "y"})
    assert page.notifications == ["Microsoft 365 has been saved."]
    session.refresh(provider)
    assert client_secrets.unseal(provider.client_secret_encrypted, "test secret key") == SECRET
    assert provider.enforces_mfa
    changed = audit(session, "sso.provider_changed")
    assert [e.details["secret_replaced"] for e in changed] == [False]
    assert changed[0].details["before"]["enforces_mfa"] is False
    assert changed[0].details["after"]["enforces_mfa"] is True


def test_mistakes_in_a_provider_are_shown_against_their_fields(browser, signed_in_admin, session):
    page = add_entra(browser, client_secret="", name="Microsoft\u202e365")
    assert page.status == 200
    assert page.errors[0].startswith("Name must not contain")
    page = add_entra(browser, client_secret="")
    assert page.errors == ["Enter the client secret of the app registration (or the "
                           "environment variable that holds it)"]
    page.error_links()
    page = add_entra(browser, kind="oidc", issuer_url="http://idp.example.org")
    assert page.errors == ["Enter the provider’s issuer URL, starting https://, as its "
                           "discovery document gives it"]
    page = add_entra(browser, client_secret_env="lower case")
    assert page.errors == ["Enter the name of an environment variable in capitals, digits "
                           "and underscores, like SSO_CLIENT_SECRET"]
    assert session.scalar(select(SsoProvider)) is None
    add_entra(browser)
    page = add_entra(browser, name="microsoft 365")
    assert page.errors == ["There is already a provider called Microsoft 365"]


def test_organisations_are_linked_to_tenants_required_and_unlinked(
        browser, signed_in_admin, session, organisation, other_organisation):
    add_entra(browser)
    provider = session.scalar(select(SsoProvider))
    url = f"/admin/single-sign-on/providers/{provider.id}"
    link_url = f"{url}/organisations"

    page = browser.submit(link_url, {"organisation": str(organisation.id),
                                     "tenant_id": "not-a-tenant"}, form_url=url)
    assert page.status == 400
    assert page.errors == ["Enter the tenant id (directory id) as Entra shows it, like "
                           "72f988bf-86f1-41af-91ab-2d7cd011db47"]
    page = browser.submit(link_url, {"organisation": str(organisation.id),
                                     "tenant_id": TENANT.upper()}, form_url=url)
    assert page.notifications == [f"{organisation.name} now signs in through Microsoft 365."]
    assert TENANT in page.text
    page = browser.submit(link_url, {"organisation": str(other_organisation.id),
                                     "tenant_id": TENANT}, form_url=url)
    assert page.status == 400
    assert page.errors == [f"That tenant is already linked to {organisation.name}"]
    linked = audit(session, "sso.organisation_linked")
    assert [(e.organisation_id, e.details["tenant_id"]) for e in linked] == [
        (organisation.id, TENANT)]

    requirement = f"/admin/single-sign-on/organisations/{organisation.id}/requirement"
    page = browser.submit(requirement, {"required": "yes", "provider_id": str(provider.id)},
                          form_url=url)
    assert page.notifications == [f"{organisation.name}’s staff must now sign in with their "
                                  "organisation’s account. Anyone signed in has been signed "
                                  "out."]
    assert "Refused: staff must sign in through a provider" in page.text
    assert session.get(SsoRequirement, organisation.id) is not None
    page = browser.submit(f"/admin/single-sign-on/organisations/{other_organisation.id}"
                          "/requirement", {"required": "yes"}, form_url=url)
    assert page.h1 == "Sign-in with organisation accounts"
    assert page.notifications == [f"{other_organisation.name} is not linked to an active "
                                  "provider, so its staff could not sign in at all"]
    assert [e.details["required"] for e in audit(session, "sso.requirement_changed")] == [True]

    link = session.scalar(select(SsoOrganisationLink))
    page = browser.submit(f"/admin/single-sign-on/links/{link.id}/remove", {}, form_url=url)
    assert page.notifications == [f"{organisation.name} no longer signs in through this "
                                  "provider."]
    assert session.scalar(select(SsoOrganisationLink)) is None
    assert [e.details["tenant_id"] for e in audit(session, "sso.organisation_unlinked")] == [
        TENANT]


def test_a_secret_that_cannot_be_read_is_shown_as_a_problem(
        app, browser, signed_in_admin, session, monkeypatch):
    add_entra(browser, client_secret="", client_secret_env="SSO_TEST_CLIENT_SECRET")
    provider = session.scalar(select(SsoProvider))
    assert provider.client_secret_encrypted is None
    page = browser.get(INDEX)
    assert "cannot sign anyone in" in page.text
    assert "SSO_TEST_CLIENT_SECRET, named as holding the client secret, is not set" in page.text
    monkeypatch.setenv("SSO_TEST_CLIENT_SECRET", "from the environment")
    assert "cannot sign anyone in" not in browser.get(INDEX).text
    assert sso_providers.client_secret(provider, "any key") == "from the environment"

    browser.submit(f"/admin/single-sign-on/providers/{provider.id}",
                   {**ENTRA, "client_secret_env": ""})
    app.config["SSO_SECRET_KEY"] = "a different key"  # the key the secret was sealed with went
    page = browser.get(f"/admin/single-sign-on/providers/{provider.id}")
    assert "No one can sign in through this provider" in page.text
    assert "Enter the secret again" in page.text


@pytest.mark.parametrize("role", ["learner", "manager", "trainer"])
def test_only_administrators_reach_the_pages(browser, make, organisation, role, session, admin):
    provider = sso_providers.save_provider(
        session, admin, sso_providers.ProviderDetails(**{
            k: v for k, v in ENTRA.items() if k not in {"is_active"}}),
        secret_key="test secret key")
    link = sso_providers.link_organisation(session, admin, provider, organisation, TENANT)
    session.commit()
    person = make.user(organisation=organisation,
                       permissions=set() if role == "learner" else {role})
    browser.sign_in(person.email)
    token = browser.get("/account").csrf_token()
    for url in (INDEX, NEW, f"{INDEX}/providers/{provider.id}"):
        assert browser.client.get(url).status_code == 403, url
    for url in (NEW, f"{INDEX}/providers/{provider.id}", f"{INDEX}/providers/{provider.id}"
                "/organisations", f"{INDEX}/links/{link.id}/remove",
                f"{INDEX}/organisations/{organisation.id}/requirement"):
        response = browser.client.post(url, data={"csrf_token": token, "required": "yes",
                                                  **ENTRA, "name": "Changed"})
        assert response.status_code == 403, url
    session.expire_all()
    assert session.get(SsoProvider, provider.id).name == "Microsoft 365"
    assert session.get(SsoOrganisationLink, link.id) is not None
    assert session.get(SsoRequirement, organisation.id) is None


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(INDEX)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_every_form_needs_its_csrf_token(browser, signed_in_admin, session, organisation):
    response = browser.client.post(NEW, data=ENTRA)
    assert response.status_code == 400
    assert session.scalar(select(SsoProvider)) is None
    add_entra(browser)
    provider = session.scalar(select(SsoProvider))
    for url, data in ((f"{INDEX}/providers/{provider.id}/organisations",
                       {"organisation": str(organisation.id), "tenant_id": TENANT}),
                      (f"{INDEX}/organisations/{organisation.id}/requirement",
                       {"required": "yes"})):
        assert browser.client.post(url, data=data).status_code == 400
    session.expire_all()
    assert session.scalar(select(SsoOrganisationLink)) is None


def test_unknown_ids_are_not_found(browser, signed_in_admin):
    token = browser.get(INDEX).csrf_token()
    assert browser.client.get(f"{INDEX}/providers/999999").status_code == 404
    for url in (f"{INDEX}/providers/999999/organisations", f"{INDEX}/links/999999/remove",
                f"{INDEX}/organisations/999999/requirement"):
        assert read_page(browser.client.post(url, data={"csrf_token": token})).status == 404
