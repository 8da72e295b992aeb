"""Signing in with the organisation's account in Chromium, through the real provider's own
login page (oidc-provider's development interactions), with the site's Content-Security-
Policy enforced; axe on every page of ours at 1280 and 375 px, with screenshots."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete

from jesip_learn.accounts.models import Organisation, Permission, User
from jesip_learn.sso import protocol
from jesip_learn.sso import providers as sso_providers
from jesip_learn.sso.models import SsoProvider
from tests.browser.conftest import (
    add_account,
    check_accessibility,
    home_organisation,
    save_screenshots,
    sign_in,
)
from tests.support.openid_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    Account,
    OpenIdProvider,
    ProviderUnavailable,
    new_tenant_id,
)

TENANT, STRANGERS = new_tenant_id(), new_tenant_id()


@pytest.fixture(scope="module")
def idp(live_server, tmp_path_factory):
    _id, _name, domain = home_organisation(live_server.database)
    provider = OpenIdProvider(tmp_path_factory.mktemp("openid-provider-browser"),
                              tenants={TENANT: [domain], STRANGERS: ["strangers.example"]},
                              redirect_uris=[f"{live_server.url}/sign-in/organisation/callback"],
                              post_logout_redirect_uris=[f"{live_server.url}/sign-in"])
    try:
        provider.start()
    except ProviderUnavailable as error:
        pytest.fail(f"The single sign-on browser test needs the test OpenID provider: {error}")
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def connected(live_server, idp):
    """The live site's Entra ID provider, pointed at the test provider, with the home
    organisation linked to its tenant; taken away again afterwards."""
    organisation_id, _name, domain = home_organisation(live_server.database)
    admin = add_account(live_server.database, name="Sol Admin", permissions={Permission.ADMIN})
    live_server.app.config["SSO_ENTRA_AUTHORITY"] = idp.authority
    protocol.forget_kept_documents()
    with live_server.database.write_session() as session:
        actor = session.get(User, admin.id)
        provider = sso_providers.save_provider(
            session, actor, sso_providers.ProviderDetails(
                name="Microsoft 365", kind="entra", client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET), secret_key="browser test secret key")
        sso_providers.link_organisation(session, actor, provider,
                                        session.get(Organisation, organisation_id), TENANT)
    yield {"domain": domain, "admin": admin}
    with live_server.database.write_session() as session:
        session.execute(delete(SsoProvider))
    live_server.app.config.pop("SSO_ENTRA_AUTHORITY", None)


def _reaching_only_this_machine(context) -> Page:
    """The provider's pages ask for web fonts from the internet: only loopback is reached."""
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    return context.new_page()


@pytest.fixture
def sso_page(new_context) -> Page:
    """With the site's Content-Security-Policy bypassed, so that axe can be injected."""
    return _reaching_only_this_machine(new_context(bypass_csp=True))


@pytest.fixture
def csp_page(new_context) -> Page:
    """With the site's Content-Security-Policy enforced, as a person gets it."""
    return _reaching_only_this_machine(new_context())


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def ours_at_both_widths(page: Page, name: str) -> list[str]:
    """axe on our page at 1280 and 375 px, no sideways scrolling at 375 px; screenshots."""
    problems = []
    for width, height in ((1280, 800), (375, 740)):
        page.set_viewport_size({"width": width, "height": height})
        problems += check_accessibility(page, f"{name} at {width}px")
        if width == 375 and page.evaluate(
                "document.documentElement.scrollWidth > window.innerWidth"):
            problems.append(f"{name} scrolls sideways at 375px")
    save_screenshots(page, name)
    page.set_viewport_size({"width": 1280, "height": 800})
    return problems


def continue_to_provider(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/sign-in/organisation")
    page.get_by_label("Work email address").fill(email)
    page.get_by_role("button", name="Continue").click()


def sign_in_at_provider(page: Page) -> None:
    """The provider's own login page (oidc-provider's), the address already filled in."""
    page.locator("input[name=password]").fill("the password of the work account")
    page.get_by_role("button", name="Sign-in").click()


def test_the_email_form_leads_on_to_the_provider_under_the_sites_policy(
        csp_page, live_server, idp, connected):
    """The form's redirect to the provider is allowed by the page's form-action."""
    login = f"cy.{uuid.uuid4().hex[:8]}@{connected['domain']}"
    idp.add(Account(login=login, tenant=TENANT, name="Cy Policy"))
    continue_to_provider(csp_page, live_server.url, login)
    expect(csp_page.locator("input[name=login]")).to_have_value(login)
    sign_in_at_provider(csp_page)
    expect(heading(csp_page)).to_have_text("Welcome to JESIP Learn")


def test_a_person_signs_in_through_their_organisations_own_sign_in_page(
        sso_page, live_server, idp, connected):
    page, base = sso_page, live_server.url
    login = f"jo.bloggs.{uuid.uuid4().hex[:8]}@{connected['domain']}"
    idp.add(Account(login=login, tenant=TENANT, name="Jo Bloggs", amr=["pwd", "mfa"]))
    problems = []

    page.goto(f"{base}/sign-in")
    expect(heading(page)).to_have_text("Sign in to JESIP Learn")
    problems += ours_at_both_widths(page, "sso-sign-in-page")
    page.get_by_role("button", name="Sign in with your organisation’s account").click()
    expect(heading(page)).to_have_text("Sign in with your organisation’s account")
    problems += ours_at_both_widths(page, "sso-email")

    page.get_by_label("Work email address").fill("not an address")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("correct format")
    problems += ours_at_both_widths(page, "sso-email-error")

    page.get_by_label("Work email address").fill(login)
    page.get_by_role("button", name="Continue").click()
    # The provider's own login page (oidc-provider), with the address filled in.
    expect(page.locator("input[name=login]")).to_have_value(login)
    page.locator("input[name=password]").fill("the password of Jo's work account")
    save_screenshots(page, "sso-provider-login", widths=(1280,))
    page.get_by_role("button", name="Sign-in").click()

    expect(heading(page)).to_have_text("Welcome to JESIP Learn")
    expect(page.get_by_text(login)).to_be_visible()
    problems += ours_at_both_widths(page, "sso-new-account")
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select your command role")
    problems += ours_at_both_widths(page, "sso-new-account-error")
    page.get_by_label("Tactical commander").check()
    page.get_by_role("button", name="Create my account").click()
    expect(heading(page)).to_have_text("My training")

    page.get_by_role("button", name="Sign out").click()
    expect(heading(page)).to_have_text("You have signed out of JESIP Learn")
    problems += ours_at_both_widths(page, "sso-signed-out")
    page.get_by_role("button", name="Sign out of your organisation’s account too").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(heading(page)).to_have_text("Sign in to JESIP Learn")
    assert page.url.startswith(f"{base}/sign-in")

    # Signed out at the provider too: the next sign-in asks for the password there again.
    page.get_by_role("button", name="Sign in with your organisation’s account").click()
    page.get_by_label("Work email address").fill(login)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("input[name=password]")).to_be_visible()
    assert not problems, "\n".join(problems)


def test_refusals_and_linking_pages_are_accessible(sso_page, live_server, idp, connected):
    page, base = sso_page, live_server.url
    problems = []
    stranger = f"sam.{uuid.uuid4().hex[:8]}@strangers.example"
    idp.add(Account(login=stranger, tenant=STRANGERS, name="Sam Stranger"))
    continue_to_provider(page, base, stranger)
    sign_in_at_provider(page)
    expect(heading(page)).to_have_text("You could not be signed in")
    problems += ours_at_both_widths(page, "sso-refused")

    existing = add_account(live_server.database, name="Lee Linker",
                           email=f"lee.{uuid.uuid4().hex[:8]}@{connected['domain']}")
    idp.add(Account(login=existing.email, tenant=TENANT, name="Lee Linker"))
    continue_to_provider(page, base, existing.email)
    sign_in_at_provider(page)
    expect(heading(page)).to_have_text("Link your JESIP Learn account")
    problems += ours_at_both_widths(page, "sso-link-account")
    page.get_by_label("Your JESIP Learn password").fill("not the password")
    page.get_by_role("button", name="Link my account").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("The password is not right")
    problems += ours_at_both_widths(page, "sso-link-account-error")
    page.get_by_label("Your JESIP Learn password").fill(existing.password)
    page.get_by_role("button", name="Link my account").click()
    expect(heading(page)).to_have_text("My training")
    assert not problems, "\n".join(problems)


def test_the_administration_pages_are_accessible(axe_page, live_server, connected):
    admin = connected["admin"]
    sign_in(axe_page, live_server.url, admin.email)
    problems = []
    axe_page.goto(f"{live_server.url}/admin/single-sign-on")
    expect(heading(axe_page)).to_have_text("Sign-in with organisation accounts")
    for width, height in ((1280, 800), (375, 740)):
        axe_page.set_viewport_size({"width": width, "height": height})
        problems += check_accessibility(axe_page, f"sso-admin at {width}px")
    save_screenshots(axe_page, "sso-admin")
    axe_page.set_viewport_size({"width": 1280, "height": 800})
    axe_page.get_by_role("link", name=re.compile("Microsoft 365")).click()
    expect(heading(axe_page)).to_have_text("Microsoft 365")
    axe_page.get_by_label("Organisation", exact=True).select_option(label=admin.organisation)
    axe_page.get_by_label("Tenant ID").fill("not a tenant")
    axe_page.get_by_role("button", name="Link organisation").click()
    expect(axe_page.locator(".govuk-error-summary")).to_contain_text("Enter the tenant id")
    for width, height in ((1280, 800), (375, 740)):
        axe_page.set_viewport_size({"width": width, "height": height})
        problems += check_accessibility(axe_page, f"sso-admin-provider at {width}px")
        if width == 375 and axe_page.evaluate(
                "document.documentElement.scrollWidth > window.innerWidth"):
            problems.append(f"sso-admin-provider scrolls sideways at {width}px")
    save_screenshots(axe_page, "sso-admin-provider")
    assert not problems, "\n".join(problems)
