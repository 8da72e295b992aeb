"""What every response carries, and what happens when things go wrong."""

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import User
from jesip_learn.core.db import Database
from jesip_learn.factory import create_app
from jesip_learn.web.access import Audience, for_audience
from tests.support import database as test_database
from tests.support.factories import PASSWORD, make_organisation
from tests.support.web import Browser, app_settings


def test_security_headers_on_every_page(client):
    response = client.get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'",
                      "frame-ancestors 'none'", "form-action 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_hsts_over_https(client):
    response = client.get("/sign-in", base_url="https://jesip.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_inline_script_or_style_in_pages(browser):
    page = browser.get("/register")
    for script in page.soup.find_all("script"):
        assert script.get("src") and not script.string
    assert page.soup.find("style") is None
    assert page.soup.find(attrs={"style": True}) is None


def test_session_cookie_flags(app, make, organisation):
    app.config["SESSION_COOKIE_SECURE"] = True
    user = make.user(organisation=organisation)
    client = app.test_client()
    token = Browser(client).get("/sign-in").csrf_token()
    response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD,
                                             "csrf_token": token}, base_url="https://jesip.test")
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("jesip_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_not_found_page(browser):
    page = browser.get("/no/such/page")
    assert page.status == 404 and page.h1 == "Page not found"


def test_unexpected_errors_show_a_reference_and_no_trace(app, caplog):
    @app.route("/explode")
    @for_audience(Audience.PUBLIC)
    def explode():
        raise RuntimeError("secret internals")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/explode")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "secret internals" not in body and "Traceback" not in body
    reference = body.split("give this reference: <strong>")[1].split("<")[0]
    assert reference in caplog.text and "secret internals" in caplog.text


@pytest.fixture
def busy_database(tmp_path):
    """A real file database (not the rollback fixture) that waits only briefly for locks."""
    url = test_database.configured_url()
    if url:
        url = test_database.sibling_database(url, "busy")
    else:
        url = f"sqlite:///{tmp_path / 'busy.db'}"
    test_database.migrate(url)
    database = Database(url, busy_timeout_ms=300)
    with database.write_session() as session:
        make_organisation(session, name="Busyshire Police", domains=["busyshire.police.uk"])
    yield database
    database.engine.dispose()
    if not url.startswith("sqlite"):
        test_database.drop_sibling_database(url)


def hold_write_lock(database: Database):
    """Another writer that has taken the lock and not let go."""
    if database.url.startswith("sqlite"):
        other = sqlite3.connect(Path(database.url.removeprefix("sqlite:///")),
                                isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        return other
    connection = database.engine.connect()
    connection.exec_driver_sql("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
    return connection


def test_a_busy_database_gets_a_clear_page_and_no_half_written_row(busy_database, tmp_path):
    app = create_app(app_settings(busy_database, INSTANCE_PATH=tmp_path))
    browser = Browser(app.test_client())
    form = browser.get("/register")
    organisation_id = form.soup.find("option", string="Busyshire Police")["value"]
    lock = hold_write_lock(busy_database)
    try:
        response = browser.client.post("/register", data={
            "csrf_token": form.csrf_token(), "name": "Bea Busy",
            "email": "bea@busyshire.police.uk", "organisation": organisation_id,
            "command_role": "staff", "password": PASSWORD})
    finally:
        lock.rollback() if hasattr(lock, "rollback") else None
        lock.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert b"Nothing you sent was saved" in response.data
    with busy_database.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
    # Once the other writer has finished, the same registration goes through.
    page = browser.submit("/register", {"name": "Bea Busy", "email": "bea@busyshire.police.uk",
                                        "organisation": organisation_id,
                                        "command_role": "staff", "password": PASSWORD})
    assert page.h1 == "Check your email"
