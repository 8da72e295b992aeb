"""What every request passes through: the database session and its one commit, security
headers, error pages with a reference number, the template globals, and the rendered
pages kept for reuse."""

from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import Flask, current_app, g, make_response, render_template, request, session
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, InternalServerError

from jesip_learn.content.worker import DEFAULT_SECONDS
from jesip_learn.db import begin_writing, is_database_busy
from jesip_learn.models import (
    COMMAND_ROLE_LABELS,
    PERMISSION_LABELS,
    SERVICE_LABELS,
    Permission,
    utcnow,
)

log = logging.getLogger("jesip_learn.web")

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def db() -> Session:
    """This request's session; a request that may write begins as a writer."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["database"].session()
        if (request.method not in SAFE_METHODS and not _view_marked("reads_before_writing")) \
                or _view_marked("writes_on_get"):
            begin_writing(g.db_session)
    return g.db_session


def writes_on_get(view: Callable) -> Callable:
    """Mark a view that writes on a GET (a download recorded in the audit log), so that its
    transaction begins as a writer too. On SQLite a reader that turns writer fails at once
    with "database is locked" when another writer got in first; a writer waits its turn."""
    view.writes_on_get = True
    return view


def reads_before_writing(view: Callable) -> Callable:
    """Mark a view that reads and parses a course before it writes (a save, a preview, a
    publication, a zip upload): its transaction begins as a reader, and the domain makes it
    a writer (`db.begin_writing_after_reading`) only once the parse is done, so that SQLite's
    write lock is never held while Markdown is parsed."""
    view.reads_before_writing = True
    return view


def stop_writing() -> None:
    """After a refusal that wrote nothing, end the request's transaction, so that what the
    view does next (a preview parses the course) reads without holding SQLite's write
    lock. The edge still commits once at the end: an empty reading transaction."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def content_parse_seconds() -> float:
    """CONTENT_PARSE_SECONDS: how long a course's parse may take (content.worker)."""
    try:
        return float(current_app.config.get("CONTENT_PARSE_SECONDS", DEFAULT_SECONDS))
    except (TypeError, ValueError):
        return DEFAULT_SECONDS


def _view_marked(mark: str) -> bool:
    return getattr(current_app.view_functions.get(request.endpoint), mark, False)


def client_address() -> str:
    # Behind a reverse proxy, PROXY_HOPS turns on ProxyFix so remote_addr is the client's.
    return request.remote_addr or ""


def _finish_transaction(response):
    session = g.get("db_session")
    if session is None:
        return response
    try:
        if g.get("request_failed"):
            session.rollback()
        else:
            try:
                session.commit()
            except Exception as error:  # noqa: BLE001 - any failed save gets its error page
                session.rollback()
                # Rendered while the session is still open: the page's navigation reads the
                # signed-in user. This runs after the header hook, so it adds them itself.
                return _security_headers(make_response(_failed_save_page(error)))
    finally:
        session.close()
    return response


def _failed_save_page(error: Exception):
    if isinstance(error, OperationalError):
        return _handle_operational_error(error)
    return _handle_unexpected(error)


def _close_leftover_session(_error=None):
    # Kept in g and closed again at each teardown: a streamed download reads on through the
    # same session after the commit, and its last teardown comes once the stream has ended.
    session = g.get("db_session")
    if session is not None:
        session.rollback()
        session.close()


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault(
            "Strict-Transport-Security",
            f"max-age={current_app.config['HSTS_SECONDS']}; includeSubDomains",
        )
    if request.endpoint != "static" and "Cache-Control" not in headers:
        # Pages hold personal training records: keep them out of shared caches.
        headers["Cache-Control"] = "no-store"
    return response


ERROR_TITLES = {
    400: "Sorry, there is a problem with that request",
    403: "You do not have permission to see this page",
    404: "Page not found",
    405: "Sorry, that action is not allowed here",
    413: "The file you sent is too large",
    429: "Too many requests",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service is busy",
}


def error_page(status: int, message: str = "", *, reference: str = ""):
    g.request_failed = True
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=ERROR_TITLES.get(status, ERROR_TITLES[500]),
            message=message,
            reference=reference,
        ),
        status,
    )


def _handle_http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    status = error.code if error.code in ERROR_TITLES else 500 if error.code >= 500 else 400
    return error_page(status)


def _handle_csrf_error(error: CSRFError):
    return error_page(
        400,
        "The form you sent had expired or had been changed. Nothing was saved. Go back, "
        "reload the page and try again.",
    )


def _handle_operational_error(error: OperationalError):
    if is_database_busy(error):
        reference = _new_reference()
        log.warning("Database busy [%s] on %s %s", reference, request.method, request.path)
        response = error_page(
            503,
            "The database is busy with other changes. Nothing you sent was saved. "
            "Wait a moment, go back and send it again.",
            reference=reference,
        )
        return response[0], 503, {"Retry-After": "5"}
    return _handle_unexpected(error)


def _handle_unexpected(error: Exception):
    original = getattr(error, "original_exception", None) or error
    reference = _new_reference()
    log.error("Unexpected error [%s] on %s %s", reference, request.method, request.path,
              exc_info=original)
    return error_page(500, reference=reference)


def _new_reference() -> str:
    return secrets.token_hex(4).upper()


# --- rendered pages and signed tokens kept for reuse ---------------------------------------


class RecentlyUsed:
    """Values by key, in memory, the least recently used dropped beyond `kept`."""

    def __init__(self, kept: int):
        self.kept = kept
        self._values: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: Hashable, value: str) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.kept:
                self._values.popitem(last=False)


class RenderedPages(RecentlyUsed):
    """Pages' HTML by key. The CSRF token stands in the stored HTML as a marker no content
    can contain, and each response carries the request's own token in its place."""

    def __init__(self, kept: int = 256):
        super().__init__(kept)
        self.token_marker = f"csrf-token-{secrets.token_hex(16)}"


def render_shared_page(key: tuple, template: str, context: Callable[[], dict]) -> str:
    """`render_template` for a page whose HTML depends only on `key`, the service navigation
    and the CSRF token: rendered once, then served from memory without calling `context`.

    `key` must name everything the page shows (a course version's content hash, the
    learner's state of an item, ...), so nothing personal beyond what the key holds may
    reach such a page. The service navigation shows the links of the user's permissions
    and marks the section the page is in, so the key holds those permissions and the
    page's endpoint too, and the path the site is served under, which its links start
    with. A page with messages to show once is rendered afresh, and so is every page while
    templates reload on change.
    """
    if session.get("_flashes") or current_app.jinja_env.auto_reload:
        return render_template(template, **context())
    pages: RenderedPages = current_app.extensions["rendered_pages"]
    signed_in = current_user.is_authenticated
    full_key = (template, key, request.script_root, request.endpoint, signed_in,
                frozenset(current_user.permissions) if signed_in else None)
    html = pages.get(full_key)
    if html is None:
        marker = pages.token_marker
        html = render_template(template, **context(), csrf_token=lambda: marker)
        # A token the template made some other way would be this user's: never keep it.
        issued = g.get(current_app.config["WTF_CSRF_FIELD_NAME"])
        if issued is None or issued not in html:
            pages.put(full_key, html)
    return html.replace(pages.token_marker, csrf_token())


def csrf_token() -> str:
    """This request's CSRF token, as Flask-WTF's `generate_csrf` makes it.

    While tokens do not expire (WTF_CSRF_TIME_LIMIT is None), a token signed for the
    session's secret stays valid as long as that secret, so each process signs one token
    per secret and reuses it rather than signing again on every page.
    """
    config = current_app.config
    field = config["WTF_CSRF_FIELD_NAME"]
    secret = session.get(field)
    if (not isinstance(secret, str) or field in g
            or config["WTF_CSRF_TIME_LIMIT"] is not None):
        return generate_csrf()
    signed: RecentlyUsed = current_app.extensions["signed_csrf_tokens"]
    token = signed.get(secret)
    if token is None:
        token = generate_csrf()
        signed.put(secret, token)
    else:
        setattr(g, field, token)  # where generate_csrf looks first, for the rest of the request
    return token


def long_date(moment) -> str:
    """A date as GOV.UK writes it: 3 March 2027."""
    return moment.strftime("%-d %B %Y") if moment else ""


def _template_globals():
    return {
        "SERVICE_LABELS": SERVICE_LABELS,
        "COMMAND_ROLE_LABELS": COMMAND_ROLE_LABELS,
        "PERMISSION_LABELS": PERMISSION_LABELS,
    }


def init_app(app: Flask) -> None:
    app.extensions["rendered_pages"] = RenderedPages()
    app.extensions["signed_csrf_tokens"] = RecentlyUsed(kept=4096)
    app.after_request(_finish_transaction)
    app.after_request(_security_headers)
    app.teardown_request(_close_leftover_session)
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(OperationalError, _handle_operational_error)
    app.register_error_handler(InternalServerError, _handle_unexpected)
    app.context_processor(_template_globals)
    app.add_template_filter(lambda value: Permission(value).label, "permission_label")
    app.add_template_filter(long_date, "long_date")
    app.add_template_global(utcnow, "now")
