"""Driving the app through the Flask test client."""

from __future__ import annotations

from urllib.parse import urlsplit

from jinja2 import BytecodeCache
from sqlalchemy import select

from jesip_learn.accounts import mfa
from jesip_learn.accounts.models import User
from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import Database
from tests.support.factories import PASSWORD
from tests.support.pages import read_page

# Passwords are hashed cheaply in the tests (one test checks the real method): an account
# is made in most tests, and scrypt would cost most of their time.
TEST_PASSWORD_HASH = "pbkdf2:sha256:1"


class SharedTemplates(BytecodeCache):
    """Compiled templates kept in memory and shared by every app the tests make."""

    def __init__(self):
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        code = self._compiled.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self._compiled[bucket.key] = bucket.bytecode_to_string()


SHARED_TEMPLATES = SharedTemplates()

TWO_STEP_PATH = "/sign-in/two-step"
SET_UP_PATH = "/account/two-step/set-up"


def two_step_code(database: Database, email: str) -> str:
    """The code the person's authenticator app shows now. The last step used is forgotten,
    as if the next 30 seconds had passed: tests sign the same person in many times."""
    with database.write_session() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        assert user is not None and user.mfa_secret, f"{email} has no two-step verification"
        user.mfa_last_step = None
        return mfa.code_for(user.mfa_secret, mfa.time_step(utcnow()))


def code_from_set_up_page(page) -> str:
    """What a person types after scanning the QR code: the app's code for the key shown."""
    secret = page.soup.find(id="mfa-secret").get_text().replace(" ", "")
    return mfa.code_for(secret, mfa.time_step(utcnow()))


def app_settings(db: Database, **overrides) -> dict:
    settings = {
        "TESTING": True,
        "DATABASE": db,
        "DATABASE_URL": db.url,
        "SECRET_KEY": "test secret key",
        "SESSION_COOKIE_SECURE": False,
        "MAIL_BACKEND": "memory",
        "SERVER_NAME": "jesip.test",
        "SITE_URL": "http://jesip.test",
        # The test client's host, its default when SERVER_NAME is switched off, and a
        # server on loopback.
        "TRUSTED_HOSTS": ["jesip.test", "localhost", "127.0.0.1"],
        "PASSWORD_HASH_METHOD": TEST_PASSWORD_HASH,
        "JINJA_BYTECODE_CACHE": SHARED_TEMPLATES,
        # A live exercise's stream sends what is there and ends: the test client reads a
        # response to its end.
        "LIVE_STREAM_SECONDS": 0,
    }
    settings.update(overrides)
    return settings


class Browser:
    """A test client that reads pages and fills forms with their CSRF token, like a person."""

    def __init__(self, client):
        self.client = client

    def get(self, url, **kwargs):
        return read_page(self.client.get(url, **kwargs))

    def submit(self, url, data: dict, *, follow_redirects=True, form_url: str | None = None):
        token = self.get(form_url or url).csrf_token()
        response = self.client.post(url, data={**data, "csrf_token": token},
                                    follow_redirects=follow_redirects)
        return read_page(response) if follow_redirects else response

    def sign_in(self, email, password=PASSWORD, *, url="/sign-in"):
        """Sign in as a person would, with the code from their app when two-step verification
        is on, and setting it up first when their role needs it and it is not set up yet."""
        response = self.submit(url, {"email": email, "password": password},
                               follow_redirects=False, form_url="/sign-in")
        if response.status_code != 302:
            return read_page(response)
        if urlsplit(response.headers["Location"]).path == TWO_STEP_PATH:
            code = two_step_code(self.client.application.extensions["database"], email)
            return self.submit(TWO_STEP_PATH, {"code": code})
        response = self.client.get(response.headers["Location"], follow_redirects=True)
        if response.request.path == SET_UP_PATH:
            self.set_up_two_step()
            response = self.client.post("/account/two-step/recovery-codes", data={
                "csrf_token": self.get("/account/two-step/recovery-codes").csrf_token()},
                follow_redirects=True)
        return read_page(response)

    def set_up_two_step(self):
        """Scan the QR code (read the key) and enter the app's code; the recovery codes page."""
        page = self.get(SET_UP_PATH)
        response = self.client.post(SET_UP_PATH, data={
            "csrf_token": page.csrf_token(), "code": code_from_set_up_page(page)})
        assert response.headers.get("Location", "").endswith("/account/two-step/recovery-codes")
        return self.get("/account/two-step/recovery-codes")

    def sign_out(self):
        return self.submit("/sign-out", {}, form_url="/account")
