"""An organisation that requires single sign-on, in Chromium with axe at 1280 and 375 px:
registering with an address at its domain gets the page that sends the person to their
organisation's sign-in, and a forgotten password's page reads as for anyone else; a member
signed in from before is signed out, and signed in again with the organisation's account
sees no password on their account; a reset link sent before is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete

from jesip_learn.accounts.models import Organisation, Permission, TokenPurpose, User
from jesip_learn.accounts.tokens import issue_token
from jesip_learn.sso import providers as sso_providers
from jesip_learn.sso.models import SsoProvider, SsoRequirement
from tests.browser.conftest import add_account, home_organisation, look_at, sign_in
from tests.support.factories import PASSWORD
from tests.support.openid_provider import CLIENT_ID, CLIENT_SECRET, new_tenant_id
from tests.support.sso_sign_in import organisation_session


@contextmanager
def requiring_single_sign_on(live_server) -> Iterator[dict]:
    """The home organisation linked to a provider and requiring it; as before afterwards,
    since the live server's other tests sign its people in with passwords."""
    organisation_id, name, domain = home_organisation(live_server.database)
    admin = add_account(live_server.database, name="Rae Admin", permissions={Permission.ADMIN})
    with live_server.database.write_session() as session:
        actor, organisation = session.get(User, admin.id), session.get(Organisation,
                                                                       organisation_id)
        provider = sso_providers.save_provider(
            session, actor, sso_providers.ProviderDetails(
                name="Microsoft 365", kind="entra", client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET), secret_key="browser test secret key")
        sso_providers.link_organisation(session, actor, provider, organisation,
                                        new_tenant_id())
        assert sso_providers.set_requirement(session, actor, organisation, True)
    try:
        yield {"name": name, "domain": domain}
    finally:
        with live_server.database.write_session() as session:
            session.execute(delete(SsoRequirement))
            session.execute(delete(SsoProvider))


@pytest.fixture
def required(live_server):
    with requiring_single_sign_on(live_server) as organisation:
        yield organisation


def signed_in_by_organisation(page: Page, live_server, user_id: int) -> None:
    """The session cookie a sign-in with the organisation's account leaves (test_sso.py goes
    through the provider itself), signed by the live server."""
    app = live_server.app
    with live_server.database.session() as session:
        contents = organisation_session(session.get(User, user_id))
    value = app.session_interface.get_signing_serializer(app).dumps(contents)
    page.context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": value,
                               "url": live_server.url}])


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def test_registering_at_the_organisations_domain_points_to_its_sign_in(
        new_context, live_server, required):
    page = new_context(bypass_csp=True).new_page()
    problems: list[str] = []
    page.goto(f"{live_server.url}/register")
    page.get_by_label("Full name").fill("Rory Registrant")
    page.get_by_label("Work email address").fill(
        f"rory.{uuid.uuid4().hex[:8]}@{required['domain']}")
    page.get_by_label("Organisation", exact=True).select_option(label=required["name"])
    page.get_by_role("radio", name="Tactical commander").check()
    page.get_by_label("Create a password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(heading(page)).to_have_text("Sign in with your organisation’s account")
    expect(page.get_by_text(f"{required['name']} signs its staff in to JESIP Learn")) \
        .to_be_visible()
    look_at(page, "sso-required-register", problems)
    page.get_by_role("button", name="Sign in with your organisation’s account").click()
    expect(page.get_by_label("Work email address")).to_be_visible()

    page.goto(f"{live_server.url}/forgot-password")
    page.get_by_label("Email address").fill(f"someone@{required['domain']}")
    page.get_by_role("button", name="Send reset link").click()
    expect(heading(page)).to_have_text("Check your email")
    look_at(page, "sso-required-forgot-password-sent", problems)
    assert not problems, "\n".join(problems)


def test_a_member_from_before_is_signed_out_and_back_has_no_password_and_old_links_fail(
        new_context, live_server):
    page = new_context(bypass_csp=True).new_page()
    problems: list[str] = []
    member = add_account(live_server.database, name="Mel Member")
    with live_server.database.write_session() as session:
        old_link = issue_token(session, TokenPurpose.PASSWORD_RESET, timedelta(hours=2),
                               session.get(User, member.id))
    sign_in(page, live_server.url, member.email)  # a session from before the requirement
    with requiring_single_sign_on(live_server) as organisation:
        page.goto(f"{live_server.url}/account")  # requiring it signed them out
        expect(heading(page)).to_have_text("Sign in to JESIP Learn")
        signed_in_by_organisation(page, live_server, member.id)
        page.goto(f"{live_server.url}/account")
        expect(page.get_by_text(f"You sign in with your {organisation['name']} work account"))\
            .to_be_visible()
        look_at(page, "sso-required-account", problems)
        page.goto(f"{live_server.url}/account/password")
        expect(heading(page)).to_have_text("You do not need a password")
        look_at(page, "sso-required-change-password", problems)
        page.goto(f"{live_server.url}/reset-password/{old_link}")
        expect(heading(page)).to_have_text("This link no longer works")
        look_at(page, "sso-required-old-reset-link", problems)
    assert not problems, "\n".join(problems)
