"""A save that fails at the end of a request gets the error page, never a bare 500; a
database out of reach (restarting, connections ended or refused) gets the 503 page saying
nothing was saved and when to try again, and the next request after it is back works."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading

import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import (
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from jesip_learn.core.db import Database, make_engine
from jesip_learn.factory import create_app
from jesip_learn.web.access import Audience, for_audience
from jesip_learn.web.edge import db
from tests.support import database as test_database
from tests.support.factories import make_organisation, make_user
from tests.support.pages import read_page
from tests.support.web import Browser, app_settings


def fail_commits_with(monkeypatch, error: Exception) -> None:
    def commit(self):
        raise error

    monkeypatch.setattr(Session, "commit", commit)


@pytest.mark.parametrize("error, status, heading", [
    (OperationalError("COMMIT", {}, Exception("database is locked")), 503,
     "Sorry, the service is busy"),
    (IntegrityError("INSERT", {}, Exception("duplicate key value")), 500,
     "Sorry, there is a problem with the service"),
])
def test_a_signed_in_persons_failed_save_shows_the_error_page(browser, make, organisation,
                                                               monkeypatch, error, status,
                                                               heading):
    learner = make.user(organisation=organisation, name="Sam Saver")
    browser.sign_in(learner.email)
    token = browser.get("/account/two-step").csrf_token()
    fail_commits_with(monkeypatch, error)
    response = browser.client.post("/account/two-step/set-up",
                                   data={"csrf_token": token, "code": "123456"})
    monkeypatch.undo()
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert heading in page
    assert "Your account" in page  # the signed-in navigation rendered
    assert "Content-Security-Policy" in response.headers
    if status == 503:
        assert response.headers["Retry-After"] == "5"
        assert "Nothing you sent was saved" in page
    else:
        assert "Traceback" not in page and "duplicate key" not in page


# --- a database out of reach ---------------------------------------------------------------


@pytest.mark.parametrize("error", [
    OperationalError("SELECT 1", {}, psycopg.OperationalError(
        "connection failed: connection to server at \"127.0.0.1\", port 5432 failed: "
        "Connection refused")),
    OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown(
        "terminating connection due to administrator command")),
    OperationalError("SELECT 1", {}, psycopg.errors.CannotConnectNow(
        "the database system is starting up")),
    InterfaceError("SELECT 1", {}, psycopg.InterfaceError("the connection is closed")),
    DisconnectionError("connection was invalidated"),
    PoolTimeout("QueuePool limit of size 5 overflow 10 reached"),
], ids=["refused", "terminated", "starting-up", "closed", "invalidated", "pool-full"])
def test_a_database_out_of_reach_gets_the_busy_page_not_the_500_page(
        browser, make, organisation, monkeypatch, error):
    learner = make.user(organisation=organisation, name="Uma Unlucky")
    browser.sign_in(learner.email)
    token = browser.get("/account/two-step").csrf_token()
    fail_commits_with(monkeypatch, error)
    response = browser.client.post("/account/two-step/set-up",
                                   data={"csrf_token": token, "code": "123456"})
    monkeypatch.undo()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    page = response.get_data(as_text=True)
    assert "Sorry, the service is busy" in page and "Nothing you sent was saved" in page
    assert "cannot reach its database" in page and "Traceback" not in page


@pytest.mark.parametrize("error", [
    OperationalError("SELECT x", {}, sqlite3.OperationalError("no such column: x")),
    InterfaceError("SELECT ?", {}, sqlite3.InterfaceError("Error binding parameter 1")),
    OperationalError("SELECT 1", {}, psycopg.errors.UndefinedColumn("column x does not exist")),
], ids=["sqlite-schema", "sqlite-binding", "postgresql-schema"])
def test_the_programs_own_database_errors_still_get_the_500_page(browser, make, organisation,
                                                                monkeypatch, error):
    learner = make.user(organisation=organisation)
    browser.sign_in(learner.email)
    token = browser.get("/account/two-step").csrf_token()
    fail_commits_with(monkeypatch, error)
    response = browser.client.post("/account/two-step/set-up",
                                   data={"csrf_token": token, "code": "123456"})
    monkeypatch.undo()
    assert response.status_code == 500
    assert "Retry-After" not in response.headers


class Relay:
    """A TCP relay in front of the PostgreSQL server, for one app to connect through.
    Stopping it is, to the app, the server going away: every open connection is cut and
    new ones are refused; starting it again is the server coming back. The shared server
    itself is never touched."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.listener: socket.socket | None = None
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def stop(self) -> None:
        # Shut down first: closing alone leaves a socket that another thread waits on in
        # accept() still listening.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for connection in self.open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self.open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def outage_database():
    """A PostgreSQL database of its own (its connections are ended on purpose), with
    Northshire Police and a learner."""
    configured = test_database.configured_url()
    if not configured or not configured.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: DATABASE_URL names one")
    url = test_database.sibling_database(configured, "outage")
    test_database.migrate(url)
    database = Database(url)
    with database.write_session() as session:
        make_user(session, organisation=make_organisation(session, name="Northshire Police"),
                  email="olly@northshire.police.uk", name="Olly Outage")
    database.engine.dispose()
    yield url
    test_database.drop_sibling_database(url)


def _app_through(url: str, tmp_path, **engine_options):
    database = Database(url, engine=make_engine(url, **engine_options))
    app = create_app(app_settings(database, INSTANCE_PATH=tmp_path))
    return app, database


def test_while_the_database_server_is_down_pages_are_busy_then_work_when_it_is_back(
        outage_database, tmp_path):
    parsed = make_url(outage_database)
    relay = Relay(parsed.host or "127.0.0.1", parsed.port or 5432)
    relay.start()
    app, database = _app_through(
        parsed.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False),
        tmp_path)
    browser = Browser(app.test_client())
    try:
        assert browser.sign_in("olly@northshire.police.uk").h1 == "My training"
        assert browser.get("/account").status == 200
        token = browser.get("/account/two-step").csrf_token()
        relay.stop()  # the server restarts: connections cut, new ones refused
        for response in (browser.client.get("/account"), browser.client.get("/register"),
                         browser.client.post("/account/two-step/set-up",
                                             data={"csrf_token": token, "code": "123456"})):
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "30"
            page = read_page(response)
            assert page.h1 == "Sorry, the service is busy"
            assert "Nothing you sent was saved" in page.text
        relay.start()  # back: the pool replaces its dead connections
        assert browser.get("/account").status == 200
        assert browser.get("/register").status == 200
    finally:
        relay.stop()
        database.engine.dispose()


def _end_the_apps_connections(url: str) -> int:
    """End every other connection to the database, as a restart does, and return once
    their server processes have gone (up to 5 s each)."""
    admin = create_engine(url, poolclass=NullPool)
    with admin.connect() as connection:
        ended = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    admin.dispose()
    return ended


def test_connections_ended_by_the_server_mid_request_get_the_busy_page_then_recover(
        outage_database, tmp_path):
    app, database = _app_through(outage_database, tmp_path)
    ended = []

    @app.route("/test-only/cut-off")
    @for_audience(Audience.PUBLIC)
    def cut_off():
        db().execute(text("SELECT 1"))
        ended.append(_end_the_apps_connections(outage_database))
        db().execute(text("SELECT 1"))
        return "not reached"

    browser = Browser(app.test_client())
    try:
        assert browser.sign_in("olly@northshire.police.uk").h1 == "My training"
        # Ended between requests: the pool finds out before using them, and reconnects.
        assert _end_the_apps_connections(outage_database) >= 1
        assert browser.get("/account").status == 200
        # Ended in the middle of a request: that request gets the busy page...
        response = browser.client.get("/test-only/cut-off")
        assert ended and ended[0] >= 1
        assert response.status_code == 503 and response.headers["Retry-After"] == "30"
        assert read_page(response).h1 == "Sorry, the service is busy"
        # ...and the next one works.
        assert browser.get("/account").status == 200
    finally:
        database.engine.dispose()
