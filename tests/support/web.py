"""Driving the app through the Flask test client."""

from __future__ import annotations

from jesip_learn.db import Database
from tests.support.factories import PASSWORD
from tests.support.pages import read_page


def app_settings(db: Database, **overrides) -> dict:
    settings = {
        "TESTING": True,
        "DATABASE": db,
        "DATABASE_URL": db.url,
        "SECRET_KEY": "test secret key",
        "SESSION_COOKIE_SECURE": False,
        "MAIL_BACKEND": "memory",
        "SERVER_NAME": "jesip.test",
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

    def sign_in(self, email, password=PASSWORD):
        return self.submit("/sign-in", {"email": email, "password": password})

    def sign_out(self):
        return self.submit("/sign-out", {}, form_url="/account")
