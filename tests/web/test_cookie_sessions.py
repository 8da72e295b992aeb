"""Session cookies a process has verified once are remembered
(`web.cookie_sessions.RememberingSessionInterface`): only a cookie whose signature was good,
only for as long as the session lifetime allows, and never shared between requests in a
way one could change for the next."""

from datetime import timedelta

import pytest
from flask import Flask, session
from itsdangerous import URLSafeTimedSerializer

from jesip_learn.web import cookie_sessions
from jesip_learn.web.cookie_sessions import RememberingSessionInterface
from tests.support.web import Browser


def remembered(app) -> list[str]:
    """The cookies the app remembers as verified with its current secret keys, least
    recently used first."""
    keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
    return [cookie for held, cookie in app.session_interface.verified.keys_by_use() if held == keys]


def cookie_of(client) -> str:
    config = client.application.config
    return client.get_cookie(config["SESSION_COOKIE_NAME"],
                             domain=config.get("SERVER_NAME") or "localhost").value


@pytest.fixture
def signed_in(app, make, organisation):
    user = make.user(organisation=organisation)
    client = app.test_client()
    Browser(client).sign_in(user.email)
    return client


def test_a_signed_in_persons_cookie_is_verified_once_then_remembered(app, signed_in):
    assert isinstance(app.session_interface, RememberingSessionInterface)
    response = signed_in.get("/account")
    assert response.status_code == 200
    assert cookie_of(signed_in) in remembered(app)
    assert signed_in.get("/account").status_code == 200


def test_a_cookie_altered_after_the_genuine_one_was_remembered_is_refused(app, signed_in):
    assert signed_in.get("/account").status_code == 200
    genuine = cookie_of(signed_in)
    # A character inside the signature: the last one's lowest bits are only padding.
    middle = len(genuine) - 10
    altered = genuine[:middle] + ("A" if genuine[middle] != "A" else "B") + genuine[middle + 1:]
    signed_in.set_cookie(app.config["SESSION_COOKIE_NAME"], altered, domain="jesip.test")
    response = signed_in.get("/account")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert altered not in remembered(app)


def test_a_remembered_cookie_past_the_session_lifetime_is_refused(app, signed_in, monkeypatch):
    assert signed_in.get("/account").status_code == 200
    assert cookie_of(signed_in) in remembered(app)
    later = cookie_sessions.time.time() + app.permanent_session_lifetime.total_seconds() + 60
    monkeypatch.setattr(cookie_sessions.time, "time", lambda: later)
    response = signed_in.get("/account")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def tiny_app(kept: int = 4096) -> Flask:
    app = Flask(__name__)
    app.secret_key = "first secret"
    app.session_interface = RememberingSessionInterface(kept=kept)

    @app.get("/set/<int:number>")
    def set_number(number):
        session["number"] = number
        return "set"

    @app.get("/show")
    def show():
        return str(session.get("number"))

    @app.get("/change-without-saving")
    def change_without_saving():
        # As if a view changed the session and then the cookie were not sent back.
        session["number"] = -1
        session.modified = False
        return "changed"

    @app.get("/flash")
    def flash_list():
        session["messages"] = ["one"]
        return "flashed"

    return app


def test_what_one_request_does_to_its_session_never_reaches_the_next():
    client = tiny_app().test_client()
    client.get("/set/7")
    assert client.get("/show").text == "7"
    client.get("/change-without-saving")
    assert client.get("/show").text == "7"


def test_a_session_holding_a_list_is_verified_each_time_not_remembered():
    app = tiny_app()
    client = app.test_client()
    client.get("/flash")
    assert client.get("/show").text == "None"
    assert cookie_of(client) not in remembered(app)


def test_a_new_secret_key_forgets_every_cookie_verified_with_the_old_one():
    app = tiny_app()
    client = app.test_client()
    client.get("/set/7")
    assert client.get("/show").text == "7"
    app.secret_key = "second secret"
    assert client.get("/show").text == "None"
    assert remembered(app) == []


def test_only_the_most_recently_used_cookies_are_kept():
    app = tiny_app(kept=2)
    clients = [app.test_client() for _ in range(3)]
    for number, client in enumerate(clients):
        client.get(f"/set/{number}")
        client.get("/show")
    assert remembered(app) == [cookie_of(c) for c in clients[1:]]
    assert [c.get("/show").text for c in clients] == ["0", "1", "2"]


def test_a_remembered_session_keeps_the_lifetime_flasks_own_check_would(monkeypatch):
    app = tiny_app()
    app.permanent_session_lifetime = timedelta(minutes=5)
    client = app.test_client()
    client.get("/set/7")
    assert client.get("/show").text == "7"
    now = cookie_sessions.time.time()
    monkeypatch.setattr(cookie_sessions.time, "time", lambda: now + 4 * 60)
    assert client.get("/show").text == "7"
    monkeypatch.setattr(cookie_sessions.time, "time", lambda: now + 6 * 60)
    assert client.get("/show").text == "None"


def test_a_remembered_cookie_is_not_verified_again(monkeypatch):
    verified = []
    loads = URLSafeTimedSerializer.loads

    def counting_loads(serializer, *args, **kwargs):
        verified.append(args[0])
        return loads(serializer, *args, **kwargs)

    monkeypatch.setattr(URLSafeTimedSerializer, "loads", counting_loads)
    client = tiny_app().test_client()
    client.get("/set/7")
    assert [client.get("/show").text for _ in range(3)] == ["7", "7", "7"]
    assert verified == [cookie_of(client)]


def test_a_cookie_signed_in_the_future_is_refused_even_when_remembered(monkeypatch):
    app = tiny_app()
    client = app.test_client()
    client.get("/set/7")
    assert client.get("/show").text == "7"
    now = cookie_sessions.time.time()
    monkeypatch.setattr(cookie_sessions.time, "time", lambda: now - 60)
    assert client.get("/show").text == "None"
    assert cookie_of(client) not in remembered(app)
