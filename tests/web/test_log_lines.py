"""Log lines never hold a token or a password. Each journey that carries one (email
confirmation, password reset, the first administrator's link, signing in, changing a
password, an error on a link) runs with every log record captured at DEBUG, and with each
request's line as Werkzeug's development server writes it."""

from __future__ import annotations

import logging
import re
import threading
import urllib.error
import urllib.request

import pytest
from flask.testing import FlaskClient
from werkzeug.serving import WSGIRequestHandler, make_server

from jesip_learn.accounts import password_reset
from jesip_learn.accounts.administration import issue_first_administrator_token
from jesip_learn.core.log_redaction import REDACTED, redact_text
from jesip_learn.factory import create_app
from tests.support.web import Browser, app_settings

TOKEN_LINK = re.compile(r"http://jesip\.test(/(?:confirm-email|reset-password)/([\w.\-]+))")
FIRST_PASSWORD = "Tangerine-Lighthouse-4471"
WRONG_PASSWORD = "Pelican-Wrong-Guess-1207"
CHANGED_PASSWORD = "Marmalade-Pylon-Orchard-58"
RESET_PASSWORD = "Quartz-Hedgehog-Saffron-93"
ADMIN_PASSWORD = "Juniper-Kettle-Basalt-6620"


def log_request_line(method: str, path: str, status: int) -> None:
    """The line Werkzeug's development server logs for a request, by its own method."""
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)  # no connection: only its log
    handler.client_address = ("127.0.0.1", 50000)
    handler.command, handler.path, handler.request_version = method, path, "HTTP/1.1"
    handler.log_request(status, "-")


class ServerLoggedClient(FlaskClient):
    """The test client, with each request (each redirect followed too) logged as the
    development server logs it."""

    def run_wsgi_app(self, environ, buffered=False):
        app_iter, status, headers = super().run_wsgi_app(environ, buffered=buffered)
        query = environ.get("QUERY_STRING")
        log_request_line(environ["REQUEST_METHOD"],
                         environ["PATH_INFO"] + (f"?{query}" if query else ""),
                         int(status.split()[0]))
        return app_iter, status, headers


ANSI_STYLE = re.compile(r"\x1b\[[0-9;]*m")  # the development server colours its lines


@pytest.fixture
def log_text(caplog):
    """Every line logged during the test, formatted, tracebacks included."""
    caplog.set_level(logging.DEBUG)
    return lambda: ANSI_STYLE.sub("", caplog.text)


@pytest.fixture
def browser(app):
    app.test_client_class = ServerLoggedClient
    return Browser(app.test_client())


@pytest.fixture
def without_redaction():
    """Records made as plain logging makes them, to show what would reach the log."""
    saved = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    yield
    logging.setLogRecordFactory(saved)


def registration(org, password):
    return {"name": "Sam Jones", "email": "sam.jones@northshire.police.uk",
            "organisation": str(org.id), "command_role": "tactical", "password": password}


def token_link(mail) -> tuple[str, str]:
    path, token = TOKEN_LINK.search(mail.text).groups()
    return path, token


def test_confirmation_sign_in_and_password_changes_log_no_secret(browser, organisation,
                                                                 outbox, log_text):
    email = "sam.jones@northshire.police.uk"
    assert browser.submit("/register", registration(organisation, FIRST_PASSWORD)).h1 == (
        "Check your email")
    confirm_path, confirm_token = token_link(outbox[-1])
    browser.get(confirm_path)
    browser.submit(confirm_path, {})

    assert browser.sign_in(email, WRONG_PASSWORD).errors == [
        "Enter a correct email address and password"]
    assert browser.sign_in(email, FIRST_PASSWORD).errors == []
    page = browser.submit("/account/password", {"current_password": FIRST_PASSWORD,
                                                "new_password": CHANGED_PASSWORD})
    assert "Your password has been changed." in page.notifications[0]
    browser.sign_out()

    browser.submit("/forgot-password", {"email": email})
    reset_path, reset_token = token_link(outbox[-1])
    browser.get(reset_path)
    page = browser.submit(reset_path, {"password": RESET_PASSWORD})
    assert "Sign in with your new password" in page.notifications[0]
    assert browser.sign_in(email, RESET_PASSWORD).errors == []

    text = log_text()
    # The lines of the links were written, with their tokens taken out...
    assert f'"GET /confirm-email/{REDACTED} HTTP/1.1" 200' in text
    assert f'"POST /reset-password/{REDACTED} HTTP/1.1" 302' in text
    assert '"POST /account/password HTTP/1.1" 302' in text
    # ...and no line holds a token or any password typed.
    for secret in (confirm_token, reset_token, FIRST_PASSWORD, WRONG_PASSWORD,
                   CHANGED_PASSWORD, RESET_PASSWORD):
        assert secret not in text


def test_the_first_administrators_link_logs_no_secret(browser, organisation, session,
                                                      log_text):
    token = issue_first_administrator_token(session)
    session.commit()
    data = {**registration(organisation, ADMIN_PASSWORD), "name": "Alex Admin",
            "email": "alex@northshire.police.uk"}
    page = browser.submit(f"/setup/{token}", data)
    assert "Your administrator account is ready." in page.notifications
    text = log_text()
    assert f'"POST /setup/{REDACTED} HTTP/1.1" 302' in text
    assert token not in text and ADMIN_PASSWORD not in text


@pytest.mark.parametrize("redacted", [True, False], ids=["redacted", "plain-logging"])
def test_an_error_on_a_link_logs_its_reference_and_no_token(app, monkeypatch, log_text,
                                                            redacted, request):
    if not redacted:  # the app fixture has installed the redaction: take it away
        request.getfixturevalue("without_redaction")
    token = "Zq8vX2-kP_4tLmN7wR1sYb3c"

    def database_gone(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(password_reset, "usable_reset_link", database_gone)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get(f"/reset-password/{token}?token={token}")
    assert response.status_code == 500
    reference = response.get_data(as_text=True).split("give this reference: <strong>")[1][:8]
    text = log_text()
    assert f"Unexpected error [{reference}] on GET /reset-password/" in text
    assert "RuntimeError: the database went away" in text
    if redacted:
        assert f"Exception on /reset-password/{REDACTED} [GET]" in text
        assert token not in text
    else:
        assert f"/reset-password/{token}" in text  # what the redaction keeps out


@pytest.mark.parametrize("redacted", [True, False], ids=["redacted", "plain-logging"])
def test_the_development_servers_request_line_holds_no_token(database, tmp_path, log_text,
                                                             redacted, request):
    app = create_app(app_settings(database, INSTANCE_PATH=tmp_path, SERVER_NAME=None))
    if not redacted:  # after the app factory has installed the redaction
        request.getfixturevalue("without_redaction")
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    token = "Zq8vX2-kP_4tLmN7wR1sYb3c"
    try:
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/reset-password/{token}"
                                   f"?next=%2Fsetup%2F{token}", timeout=10)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    assert answer.value.code == 410  # an unknown link
    text = log_text()
    if redacted:
        # The server writes the path decoded: the encoded `next` shows as a path.
        assert f'"GET /reset-password/{REDACTED}?next=/setup/{REDACTED} HTTP/1.1" 410' in text
        assert token not in text
    else:
        assert f"/reset-password/{token}" in text


def test_the_setup_link_command_prints_the_link_and_logs_nothing_of_it(app, log_text):
    result = app.test_cli_runner().invoke(args=["users", "setup-link"])
    token = re.search(r"/setup/(\S+)", result.output).group(1)
    assert REDACTED not in token  # the operator gets the whole link...
    assert token not in log_text() and "/setup/" not in log_text()  # ...the log nothing


ROUTE_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
SECRET_ARGUMENT = re.compile("token|secret|password|key")


def path_with_secret(rule: str, secret: str) -> str:
    """A route's path with `secret` for each variable named like a secret, "x" for others."""
    return ROUTE_VARIABLE.sub(lambda match: secret if SECRET_ARGUMENT.search(match[1]) else "x",
                              rule)


def test_every_route_taking_a_secret_has_it_redacted(app):
    secret = "Zq8vX2-kP_4tLmN7wR1sYb3c"
    secret_routes = [rule.rule for rule in app.url_map.iter_rules()
                     if any(SECRET_ARGUMENT.search(name) for name in rule.arguments)]
    assert {"/confirm-email/<token>", "/reset-password/<token>", "/setup/<token>"} <= set(
        secret_routes)
    for rule in secret_routes:
        line = f'"GET {path_with_secret(rule, secret)} HTTP/1.1" 200'
        assert secret not in redact_text(line), rule
