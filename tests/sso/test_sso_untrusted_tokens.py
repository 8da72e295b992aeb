"""Single sign-on answers the site cannot trust, end to end against the real OpenID provider
(tests/sso/test_sso_sign_in.py says how): a token for another client, expired or dated in the
future beyond the allowed clock difference, a replayed state, an answer to a sign-in begun
in another browser, another sign-in's nonce, and a person who cancels at the provider; and
a changed signing key, which is fetched and trusted."""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse

import pytest
from sqlalchemy import select

from jesip_learn.accounts.models import User
from jesip_learn.sso import protocol
from jesip_learn.sso.models import SsoFlow
from jesip_learn.sso.sign_in import SsoSettings, expected_issuer, provider_config
from tests.support.openid_provider import (
    CLIENT_ID,
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    ProviderBrowser,
)
from tests.support.pages import read_page
from tests.support.sso_sign_in import (
    A_DOMAIN,
    CALLBACK,
    SITE,
    TENANT_A,
    back_from_provider,
    create_account,
    events,
    follow,
    person,
    start,
)

# --- tokens that cannot be trusted ---------------------------------------------------------------


def _pkce_pair() -> tuple[str, str]:
    verifier = protocol.new_secret(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def test_a_token_for_another_client_is_refused(idp, entra, session):
    """A real ID token, issued by tenant A to another application, is not accepted as this
    site's: the audience is checked. The same token passes as the other application's, so
    the audience is all that is refused."""
    account = person(idp)
    verifier, challenge = _pkce_pair()
    url = (f"{idp.issuer(TENANT_A)}/auth?" + urllib.parse.urlencode({
        "client_id": OTHER_CLIENT_ID, "response_type": "code", "scope": "openid email profile",
        "redirect_uri": CALLBACK, "state": "s" * 43, "nonce": "n" * 43,
        "code_challenge": challenge, "code_challenge_method": "S256"}))
    browser = ProviderBrowser()
    callback = browser.sign_in(url, account.login, back_to=SITE)
    tokens = browser.exchange(idp, TENANT_A, callback, client_id=OTHER_CLIENT_ID,
                              client_secret=OTHER_CLIENT_SECRET, redirect_uri=CALLBACK,
                              code_verifier=verifier)
    settings = SsoSettings(secret_key="test secret key", entra_authority=idp.authority)
    config = provider_config(entra, settings)
    metadata = protocol.provider_metadata(config.discovery_url, timeout=10,
                                          expected_issuer=None)

    def check(client_id):
        return protocol.verify_id_token(
            tokens["id_token"], metadata=metadata, client_id=client_id,
            expected_issuer=expected_issuer(config, settings), nonce="n" * 43)

    with pytest.raises(protocol.AnswerRefused) as refused:
        check(CLIENT_ID)
    assert refused.value.reason == "audience"
    assert check(OTHER_CLIENT_ID)["oid"] == account.oid


def test_an_expired_token_is_refused(browser, idp, entra, session):
    """The provider's clock is two hours slow: its tokens have expired when they arrive."""
    account = person(idp)
    callback = ProviderBrowser().sign_in(start(browser, account.login), account.login,
                                         back_to=SITE)
    idp.set_clock(-2 * 3600)
    page = read_page(browser.client.get(callback.removeprefix(SITE)))
    assert page.status == 403 and "had already run out" in page.text
    assert [e.details["reason"] for e in events(session, "sign_in.sso_refused")] == ["expired"]
    assert session.scalar(select(User).where(User.email == account.login)) is None


def test_a_token_dated_beyond_the_allowed_clock_difference_is_refused(browser, idp, entra,
                                                                       session):
    account = person(idp)
    callback = ProviderBrowser().sign_in(start(browser, account.login), account.login,
                                         back_to=SITE)
    idp.set_clock(10 * 60)  # ten minutes fast: more than the 60 seconds allowed
    page = read_page(browser.client.get(callback.removeprefix(SITE)))
    assert page.status == 403 and "dated in the future" in page.text
    assert [e.details["reason"] for e in events(session, "sign_in.sso_refused")] == [
        "issued-in-future"]


def test_a_clock_difference_within_the_allowed_one_is_accepted(browser, idp, entra):
    account = person(idp)
    callback = ProviderBrowser().sign_in(start(browser, account.login), account.login,
                                         back_to=SITE)
    idp.set_clock(30)
    response = browser.client.get(callback.removeprefix(SITE))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sign-in/organisation/new-account")


def test_a_replayed_state_is_refused(browser, idp, entra, session):
    account = person(idp)
    callback = ProviderBrowser().sign_in(start(browser, account.login), account.login,
                                         back_to=SITE)
    cookie = browser.client.get_cookie("jesip_session", domain="jesip.test")
    first = browser.client.get(callback.removeprefix(SITE))
    assert first.status_code == 302
    # The same answer again, from the browser as it was before: the sign-in it belongs to
    # has been used.
    browser.client.set_cookie("jesip_session", cookie.value, domain=cookie.domain)
    page = read_page(browser.client.get(callback.removeprefix(SITE)))
    assert page.status == 400 and page.h1 == "Start signing in again"
    assert "already been used" in page.text
    # And in this browser as it is now, whose sign-in has moved on.
    browser.client.set_cookie("jesip_session", cookie.value, domain=cookie.domain)
    flows = session.scalars(select(SsoFlow)).all()
    assert len(flows) == 1 and flows[0].returned_at is not None


def test_an_answer_to_a_sign_in_begun_in_another_browser_is_refused(app, browser, idp, entra):
    account = person(idp)
    callback = ProviderBrowser().sign_in(start(browser, account.login), account.login,
                                         back_to=SITE)
    other_browser = app.test_client()
    page = read_page(other_browser.get(callback.removeprefix(SITE)))
    assert page.status == 400 and "not started in this browser" in page.text


def test_a_token_with_another_sign_ins_nonce_is_refused(browser, idp, entra, session):
    account = person(idp)
    url = start(browser, account.login)
    url = re.sub(r"nonce=[^&]+", "nonce=" + "x" * 43, url)  # the token answers another nonce
    page = read_page(back_from_provider(browser, account, authorization_url=url))
    assert page.status == 403 and "belongs to another sign-in" in page.text
    assert [e.details["reason"] for e in events(session, "sign_in.sso_refused")] == ["nonce"]


def test_a_changed_signing_key_is_fetched_and_trusted(browser, idp, entra, session):
    account = person(idp)
    follow(browser, back_from_provider(browser, account))
    create_account(browser)
    browser.sign_out()
    kept = protocol._key_sets.get(f"{idp.authority}/organizations/discovery/v2.0/keys")
    assert kept is not None
    new_kid = idp.rotate_keys()
    assert new_kid not in {key.kid for key in kept}
    page = follow(browser, back_from_provider(browser, account))
    assert page.h1 == "My training"
    refreshed = protocol._key_sets.get(f"{idp.authority}/organizations/discovery/v2.0/keys")
    assert new_kid in {key.kid for key in refreshed}


def test_a_person_who_cancels_at_the_provider_is_told_so(browser, idp, entra, session):
    url = start(browser, "someone@" + A_DOMAIN)
    sent_state = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["state"][0]
    page = read_page(browser.client.get(
        f"/sign-in/organisation/callback?error=access_denied&state={sent_state}"))
    assert page.status == 400 and "did not finish signing in" in page.text
    assert [e.details["provider_error"] for e in events(session, "sign_in.sso_refused")] == [
        "access_denied"]
