"""Every link in an email starts with SITE_URL, whatever host a request names: a Host header,
or an X-Forwarded-Host header behind a proxy, is the sender's to choose. A request for a
host the site does not serve gets the 400 page."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from jesip_learn.accounts.models import TransferRequest
from jesip_learn.core.config import ConfigError
from jesip_learn.factory import create_app
from tests.support.factories import PASSWORD
from tests.support.pages import read_page
from tests.support.web import Browser, app_settings

SITE = "https://learn.jesip.example"
ANY_LINK = re.compile(r"https?://\S+")


def make_app(transactional_db, tmp_path, **settings):
    # No SERVER_NAME, as in production: Flask would otherwise build links with it.
    settings = {"SERVER_NAME": None, **settings}
    return create_app(app_settings(transactional_db, INSTANCE_PATH=tmp_path, **settings))


def links(outbox) -> list[str]:
    return [link for mail in outbox for link in ANY_LINK.findall(mail.text)]


def registration(organisation, email="sam.jones@northshire.police.uk") -> dict:
    return {"name": "Sam Jones", "email": email, "organisation": str(organisation.id),
            "command_role": "tactical", "password": PASSWORD}


# --- a forged Host header ------------------------------------------------------------------


@pytest.fixture
def without_csrf(transactional_db, tmp_path):
    """CSRF tokens are tied to the host's cookie: switched off here, so that only the host
    decides what happens to the request."""
    return make_app(transactional_db, tmp_path, WTF_CSRF_ENABLED=False)


def test_a_reset_asked_for_under_another_host_is_refused(without_csrf, make, organisation):
    user = make.user(organisation=organisation)
    response = without_csrf.test_client().post("/forgot-password", data={"email": user.email},
                                               headers={"Host": "evil.example"})
    page = read_page(response)
    assert page.status == 400 and page.h1 == "Sorry, there is a problem with that request"
    assert without_csrf.extensions["mailer"].outbox == []
    assert "evil.example" not in response.get_data(as_text=True)


def test_a_registration_under_another_host_is_refused(without_csrf, organisation, session):
    response = without_csrf.test_client().post("/register", data=registration(organisation),
                                               headers={"Host": "evil.example:443"})
    assert response.status_code == 400
    assert without_csrf.extensions["mailer"].outbox == []


def test_every_page_under_another_host_gets_the_400_page_even_signed_in(app, make,
                                                                        organisation):
    admin = make.user(organisation=organisation, permissions={"admin"})
    browser = Browser(app.test_client())
    browser.sign_in(admin.email)
    for path in ("/sign-in", "/admin/users", "/no-such-page"):
        page = browser.get(path, headers={"Host": "evil.example"})
        assert page.status == 400, path
        assert page.h1 == "Sorry, there is a problem with that request"
        assert "evil.example" not in str(page.soup)
    assert browser.get("/admin/users").status == 200  # the site's own host still works


def test_a_health_check_answers_whatever_the_host(client):
    assert client.get("/healthz", headers={"Host": "10.0.0.7:8000"}).status_code == 200


# --- a forwarded host behind a proxy -------------------------------------------------------


@pytest.fixture
def behind_a_proxy(transactional_db, tmp_path):
    # Without CSRF tokens (which anyone can fetch), whose https referrer check would
    # otherwise refuse a request made over https through the proxy with the wrong host.
    return make_app(transactional_db, tmp_path, PROXY_HOPS=1, WTF_CSRF_ENABLED=False)


FORWARDED = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https",
             "X-Forwarded-For": "203.0.113.9"}


def post_through_the_proxy(app, path, data):
    return app.test_client().post(path, data=data, headers=FORWARDED)


def test_a_forwarded_host_never_reaches_a_reset_email(behind_a_proxy, make, organisation):
    user = make.user(organisation=organisation)
    response = post_through_the_proxy(behind_a_proxy, "/forgot-password", {"email": user.email})
    assert response.status_code == 200
    link, = links(behind_a_proxy.extensions["mailer"].outbox)
    assert link.startswith("http://jesip.test/reset-password/") and "evil" not in link


def test_a_forwarded_host_never_reaches_a_confirmation_email(behind_a_proxy, organisation):
    response = post_through_the_proxy(behind_a_proxy, "/register", registration(organisation))
    assert response.status_code == 302
    link, = links(behind_a_proxy.extensions["mailer"].outbox)
    assert link.startswith("http://jesip.test/confirm-email/") and "evil" not in link


# --- every email's links start with SITE_URL ----------------------------------------------


@pytest.fixture
def elsewhere(transactional_db, tmp_path):
    """The site at SITE_URL, reached here under another name it answers to."""
    return make_app(transactional_db, tmp_path, SITE_URL=SITE + "/", TRUSTED_HOSTS=["localhost"])


def assert_links_start_with_the_site(outbox, count):
    found = links(outbox)
    assert len(found) >= count and all(link.startswith(SITE + "/") for link in found), found


def test_reset_confirmation_and_repeated_registration_emails_link_to_site_url(
        elsewhere, make, organisation):
    outbox = elsewhere.extensions["mailer"].outbox
    user = make.user(organisation=organisation)
    browser = Browser(elsewhere.test_client())
    assert browser.submit("/forgot-password", {"email": user.email}).status == 200
    assert browser.submit("/register", registration(organisation)).status == 200
    assert browser.submit("/confirm-email", {"email": "sam.jones@northshire.police.uk"}
                          ).status == 200
    assert browser.submit("/register", registration(organisation, user.email)).status == 200
    assert [mail.to for mail in outbox] == [user.email, "sam.jones@northshire.police.uk",
                                            "sam.jones@northshire.police.uk", user.email]
    assert_links_start_with_the_site(outbox, 5)
    reset_path = links(outbox)[0].removeprefix(SITE)
    assert browser.get(reset_path).h1 == "Choose a new password"


def test_account_set_up_emails_from_an_import_link_to_site_url(elsewhere, make, organisation):
    admin = make.user(organisation=organisation, permissions={"admin"})
    browser = Browser(elsewhere.test_client())
    browser.sign_in(admin.email)
    form_url = "/manage/imports/users/new"
    data = (b"name,email,organisation,command role\n"
            b"Nia New,nia@example.org,Northshire Police,staff\n")
    page = read_page(browser.client.post(form_url, data={
        "csrf_token": browser.get(form_url).csrf_token(),
        "file": (io.BytesIO(data), "people.csv")}, follow_redirects=True))
    form = page.soup.select_one("form[action$='/apply']")
    fields = {field["name"]: field.get("value", "") for field in form.select("input[name]")}
    assert browser.client.post(form["action"], data=fields).status_code == 302
    assert_links_start_with_the_site(elsewhere.extensions["mailer"].outbox, 2)


def test_a_move_decision_email_links_to_site_url(elsewhere, make, session, organisation,
                                                 other_organisation):
    learner = make.user(organisation=organisation)
    manager = make.user(organisation=other_organisation, permissions={"manager"})
    browser = Browser(elsewhere.test_client())
    browser.sign_in(learner.email)
    browser.submit("/account/transfer", {"organisation": str(other_organisation.id),
                                         "command_role": "staff"})
    browser.sign_out()
    browser.sign_in(manager.email)
    request = session.scalar(select(TransferRequest).where(TransferRequest.user_id == learner.id))
    page = browser.submit(f"/manage/transfers/{request.id}/approve", {},
                          form_url="/manage/transfers")
    assert page.status == 200
    assert_links_start_with_the_site(elsewhere.extensions["mailer"].outbox, 1)


# --- the setting itself --------------------------------------------------------------------


def test_the_site_will_not_start_without_its_address(transactional_db, tmp_path):
    with pytest.raises(ConfigError, match="SITE_URL must be set"):
        make_app(transactional_db, tmp_path, SITE_URL="", SERVER_NAME=None)
    with pytest.raises(ConfigError, match="full http or https address"):
        make_app(transactional_db, tmp_path, SITE_URL="learn.jesip.example")


def test_the_hosts_answered_default_to_site_urls(transactional_db, tmp_path):
    app = make_app(transactional_db, tmp_path, SITE_URL=SITE, TRUSTED_HOSTS=[])
    assert app.config["TRUSTED_HOSTS"] == ["learn.jesip.example"]
    client = app.test_client()
    assert client.get("/sign-in", base_url=SITE).status_code == 200
    assert client.get("/sign-in", base_url="https://localhost").status_code == 400
