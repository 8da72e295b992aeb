"""Flask's signed-cookie sessions, with the cookies this process has already verified kept.

A browser sends the same session cookie with every request until the session changes (a
signed-in session's cookie is signed again at most once a minute, `auth.end_stale_sessions`).
Checking its signature and decoding it each time was about 6% of a signed-in page's work;
here a cookie verified once is remembered, byte for byte, with what it held and when it was
signed, and the next request with the very same cookie takes that instead. Only the exact
text of a cookie whose signature was good is ever remembered, so nothing unsigned gets in;
its age is checked against the session lifetime on every use, as the signature check does;
and it is remembered with the secret keys that verified it, so once the keys change it is
verified afresh.
"""

from __future__ import annotations

import time

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

from jesip_learn.web.recently_used import RecentlyUsed

# Values a session may hold that no request can change in place: a remembered session is
# copied for each request, and a shallow copy of these is a full one. A session holding a
# list or a dict (flashed messages, a sign-in half done) is verified each time instead.
_IMMUTABLE = (str, int, float, bool, type(None))


class RememberingSessionInterface(SecureCookieSessionInterface):
    def __init__(self, kept: int = 4096):
        # (secret keys, cookie) -> (what it held, when it was signed)
        self.verified = RecentlyUsed(kept)
        self._signing: tuple[tuple, URLSafeTimedSerializer | None] = ((), None)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        return self._keys_and_serializer(app)[1]

    def _keys_and_serializer(self, app: Flask) -> tuple[tuple, URLSafeTimedSerializer | None]:
        # Made once per secret key rather than for every request.
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys != self._signing[0]:
            self._signing = (keys, super().get_signing_serializer(app))
        return self._signing

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        keys, serializer = self._keys_and_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = self.verified.get((keys, cookie))
        if known is not None:
            data, signed_at = known
            if 0 <= int(time.time()) - signed_at <= max_age:
                return self.session_class(data)
            self.verified.forget((keys, cookie))  # too old now: verifying it again refuses it
        try:
            data, signed_at = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if all(isinstance(value, _IMMUTABLE) for value in data.values()):
            self.verified.put((keys, cookie), (dict(data), int(signed_at.timestamp())))
        return self.session_class(data)
