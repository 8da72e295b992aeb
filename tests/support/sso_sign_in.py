"""What the single sign-on tests (tests/test_sso_*.py, but the concurrency ones) share: the
site's address, tenant A (Northshire Police's) and tenant B (no organisation's), a person at
the provider, and the steps of a sign-in through the site. Their fixtures (idp, entra,
fresh_provider_documents) are in tests/conftest.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from jesip_learn.records.models import AuditEvent
from jesip_learn.web.sso import SIGNED_IN_WITH
from tests.support.openid_provider import Account, ProviderBrowser, new_tenant_id
from tests.support.pages import read_page

SITE = "http://jesip.test"
CALLBACK = f"{SITE}/sign-in/organisation/callback"
TENANT_A, TENANT_B = new_tenant_id(), new_tenant_id()
A_DOMAIN, B_DOMAIN = "northshire.police.uk", "southshire-fire.example"


def organisation_session(user) -> dict:
    """What the site's session holds after `user` signed in with their organisation's
    account, for tests that start from there rather than go through the provider."""
    now = datetime.now(UTC).timestamp()
    return {"_user_id": user.get_id(), "_fresh": True, "signed_in_at": now, "seen_at": now,
            SIGNED_IN_WITH: {"provider_id": 1}}


def person(idp, login=f"ava.moss@{A_DOMAIN}", *, tenant=TENANT_A, name="Ava Moss", **kwargs):
    account = Account(login=login, tenant=tenant, name=name, **kwargs)
    idp.add(account)
    return account


def start(browser, email: str) -> str:
    """The sign-in page's button, the email page: where the site sends the person."""
    page = browser.get("/sign-in")
    assert page.status == 200
    assert page.soup.find("a", string=re.compile("Sign in with your organisation"))
    response = browser.submit("/sign-in/organisation", {"email": email},
                              follow_redirects=False)
    assert response.status_code == 302, read_page(response).text
    return response.headers["Location"]


def back_from_provider(browser, account: Account, *, authorization_url: str | None = None):
    """Sign in at the provider as `account`; the site's answer to its redirect back."""
    url = authorization_url or start(browser, account.login)
    callback = ProviderBrowser().sign_in(url, account.login, back_to=SITE)
    return browser.client.get(callback.removeprefix(SITE))


def follow(browser, response):
    assert response.status_code == 302, read_page(response).text
    return read_page(browser.client.get(response.headers["Location"], follow_redirects=True))


def events(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                .order_by(AuditEvent.id)))


def create_account(browser, role="tactical"):
    page = browser.get("/sign-in/organisation/new-account")
    assert page.status == 200 and page.h1 == "Welcome to JESIP Learn"
    return browser.submit("/sign-in/organisation/new-account", {"command_role": role})
