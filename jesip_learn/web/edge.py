"""What every request passes through: the database session and its one commit, security
headers, error pages with a reference number, the template globals, and the rendered
pages kept for reuse."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Callable

from flask import (
    Flask,
    abort,
    current_app,
    g,
    make_response,
    render_template,
    request,
    session,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from sqlalchemy.exc import (
    DataError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError
from werkzeug.sansio.utils import host_is_trusted

from jesip_learn.accounts.models import (
    COMMAND_ROLE_LABELS,
    PERMISSION_LABELS,
    SERVICE_LABELS,
    AccountStatus,
    Permission,
)
from jesip_learn.content.worker import DEFAULT_SECONDS
from jesip_learn.core import refusals
from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import (
    begin_writing,
    has_written,
    is_database_busy,
    is_database_unavailable,
)
from jesip_learn.core.input_errors import InputError
from jesip_learn.web.cookie_sessions import RememberingSessionInterface
from jesip_learn.web.recently_used import RecentlyUsed

log = logging.getLogger("jesip_learn.web")

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
UNAVAILABLE_RETRY_SECONDS = 30  # a database server restarting is back within a minute
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

# Every form posts its CSRF token; the few routes that take posts from elsewhere (the
# unsubscribe link's one-click post) are exempted where they are defined.
csrf = CSRFProtect()


# Set in a request's environ when its Host header named a host not in TRUSTED_HOSTS.
UNTRUSTED_HOST = "jesip_learn.untrusted_host"


class SiteApp(Flask):
    """Flask, answering a request whose Host is not one of TRUSTED_HOSTS with the 400 page
    rather than a 500: Flask refuses such a host while it binds the request's URLs, which
    leaves nothing to build the error page's links with. Here they are built for this
    site's own host instead, and `_refuse_untrusted_host` answers 400 before any view."""

    def create_url_adapter(self, request):
        try:
            return super().create_url_adapter(request)
        except SecurityError:
            if request is None:
                raise
            request.environ[UNTRUSTED_HOST] = request.environ.get("HTTP_HOST", "")
            request.environ["HTTP_HOST"] = _own_host(self.config)
            return super().create_url_adapter(request)


def _own_host(config) -> str:
    site_host = config["SITE_URL"].split("://", 1)[-1].split("/", 1)[0]
    trusted = config["TRUSTED_HOSTS"]
    return site_host if host_is_trusted(site_host, trusted) else trusted[0].lstrip(".")


def _refuse_untrusted_host():
    # A health check from a load balancer may name the server by its address.
    if request.environ.get(UNTRUSTED_HOST) is not None and request.endpoint != "main.healthz":
        log.info("Refused a request for an untrusted host: %r",
                 request.environ[UNTRUSTED_HOST][:100])
        abort(400)


def db() -> Session:
    """This request's session; a request that may write begins as a writer, and one
    expected only to read (a GET not marked `writes_on_get`) as a reader."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["database"].session()
        if _view_marked("writes_on_get") or (request.method not in SAFE_METHODS
                                             and not _view_marked("reads_before_writing")):
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
    """End the request's transaction and go on, when it has written nothing to keep: after
    a refusal, so that what the view does next (a preview parses the course) reads without
    holding SQLite's write lock; before waiting on another service (an identity provider),
    so that no transaction is open meanwhile. The edge ends what follows as any other
    request: a commit only if it wrote."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def abandon_changes() -> None:
    """Keep nothing this request has written: after a refusal (a form error, a domain
    `Refusal`) that may have come after a flush. The session is rolled back now, so that the
    page shown next reads only what is saved, and the request is marked failed, so that the
    edge ends it with a rollback rather than its commit."""
    g.request_failed = True
    session = g.get("db_session")
    if session is not None:
        _quietly_end(session)


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


def after_commit(action: Callable[[], None]) -> None:
    """Run `action` once the request's transaction has committed (or, having written
    nothing, ended), never when it fails: an email about a change is sent only once the
    change is saved."""
    g.setdefault("after_commit", []).append(action)


def _run_after_commit() -> None:
    for action in g.pop("after_commit", []):
        try:
            action()
        except Exception:  # noqa: BLE001 - the change is saved; the failure is logged
            log.exception("An action after the commit failed")


def _finish_transaction(response):
    database_session = g.get("db_session")
    if database_session is None:
        return response
    if not g.get("request_failed") and not has_written(database_session):
        # Only read: ending the transaction saves nothing a commit would, and costs less.
        _quietly_end(database_session, close=True)
        _run_after_commit()
        return response
    try:
        if g.get("request_failed"):
            _quietly_end(database_session)
        else:
            try:
                database_session.commit()
            except Exception as error:  # noqa: BLE001 - any failed save gets its error page
                _quietly_end(database_session)
                # Nothing was saved, so no message may say it was ("Saved", "Signed out").
                session.pop("_flashes", None)
                # Rendered while the session is still open: the page's navigation reads the
                # signed-in user. This runs after the header hook, so it adds them itself.
                return _security_headers(make_response(_handle_database_error(error)))
            _run_after_commit()
    finally:
        _quietly_end(database_session, close=True)
    return response


def _quietly_end(session: Session, *, close: bool = False) -> None:
    """Roll back, or close (which rolls back as it gives the connection back); a connection
    that has already gone cannot be rolled back, and the pool replaces it, so its error is
    not the request's."""
    try:
        if close:
            session.close()  # rolls back what is open as it gives the connection back
        else:
            session.rollback()
    except SQLAlchemyError as error:
        if not is_database_unavailable(error):
            raise
        log.info("Database connection lost while ending a request's transaction: %s", error)


def _close_leftover_session(_error=None):
    # Kept in g and closed again at each teardown: a streamed download reads on through the
    # same session after the commit, and its last teardown comes once the stream has ended.
    session = g.get("db_session")
    if session is not None:
        _quietly_end(session, close=True)


def style_nonce() -> str:
    """A nonce for the <style> elements a page's own script adds (the course editor's
    CodeMirror injects its styles): one per request, named in that response's
    Content-Security-Policy only, so every other page still allows no inline style."""
    nonce = g.get("style_nonce")
    if nonce is None:
        nonce = g.style_nonce = secrets.token_urlsafe(18)
    return nonce


# Sent with every response that has not set its own.
_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


def _security_headers(response):
    headers = response.headers
    # The names already set, read in one pass: a `setdefault` for each header searched
    # them all every time, 3% of a signed-in page's work.
    present = {name.lower() for name, _value in headers.items()}
    if "content-security-policy" not in present:
        policy = CONTENT_SECURITY_POLICY
        if g.get("style_nonce"):
            policy += f"; style-src 'self' 'nonce-{g.style_nonce}'"
        headers.add("Content-Security-Policy", policy)
    for name, value in _SECURITY_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    if request.is_secure and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security",
                    f"max-age={current_app.config['HSTS_SECONDS']}; includeSubDomains")
    if request.endpoint == "static":
        fingerprint = request.args.get(FINGERPRINT)
        if (response.status_code == 200 and fingerprint
                and fingerprint == static_fingerprint(request.view_args["filename"])):
            # The address names this version of the file: it can be kept for a year.
            headers["Cache-Control"] = STATIC_CACHE_CONTROL
    elif "cache-control" not in present:
        # Pages hold personal training records: keep them out of shared caches.
        headers.add("Cache-Control", "no-store")
    return response


# --- static files' addresses name their content ----------------------------------------------

FINGERPRINT = "v"
STATIC_CACHE_CONTROL = "public, max-age=31536000, immutable"


def static_fingerprint(filename: str) -> str | None:
    """The first 16 hex digits of the SHA-256 of a file in static/, or None when there is
    no such file. Worked out once per version of the file (its size and modification
    time), so a file changed while the site runs gets a new address."""
    folder = current_app.static_folder
    path = os.path.join(folder, filename)
    if not os.path.realpath(path).startswith(os.path.realpath(folder) + os.sep):
        return None
    try:
        status = os.stat(path)
    except OSError:
        return None
    key = (filename, status.st_size, status.st_mtime_ns)
    fingerprints: dict = current_app.extensions["static_fingerprints"]
    found = fingerprints.get(key)
    if found is None:
        with open(path, "rb") as file:
            found = fingerprints[key] = hashlib.file_digest(file, "sha256").hexdigest()[:16]
    return found


def _fingerprint_static_addresses(endpoint: str, values: dict) -> None:
    """`url_for("static", filename=…)` adds ?v=<fingerprint of the file>: a new version of
    a file has a new address, so browsers (and nginx, see the README) may keep each
    version for a year and never ask again whether it changed."""
    if endpoint == "static" and "filename" in values and FINGERPRINT not in values:
        fingerprint = static_fingerprint(values["filename"])
        if fingerprint is not None:
            values[FINGERPRINT] = fingerprint


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


def error_page(status: int, message: str = "", *, reference: str = "", advice: str = ""):
    g.request_failed = True
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=ERROR_TITLES.get(status, ERROR_TITLES[500]),
            message=message,
            advice=advice,
            reference=reference,
        ),
        status,
    )


NUL_REFUSED = ("What you sent had a character in it that is not allowed (NUL). Nothing was "
               "saved.")


def _refuse_nul_in_address():
    """NUL is in no code, slug, search or filter, and PostgreSQL refuses it in text: an
    address or query string holding one is a bad request, whatever the route."""
    texts = [request.path, *(text for pair in request.args.items(multi=True) for text in pair)]
    if any("\x00" in text for text in texts):
        return error_page(400, NUL_REFUSED)
    return None


def _handle_data_error(error: DataError):
    """A value the database cannot hold as text: PostgreSQL refuses NUL, which no one types
    but a request can carry in any form field. Forms refuse it in names and titles with their
    own message; anywhere else it is a bad request, not the program's error."""
    if "NUL" not in str(error.orig):
        return _handle_unexpected(error)
    session = g.get("db_session")
    if session is not None:
        session.rollback()  # the failed statement ended the transaction; the page reads on
    return error_page(400, NUL_REFUSED)


def _handle_http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    status = error.code if error.code in ERROR_TITLES else 500 if error.code >= 500 else 400
    return error_page(status)


def _handle_refusal(error: refusals.Refusal):
    """A domain refusal no view caught: its page (403, or 404 when not found), never a 500,
    and nothing the request wrote is kept."""
    abandon_changes()
    return error_page(404 if isinstance(error, refusals.NotFound) else 403, error.message)


INPUT_ERROR_ADVICE = "Nothing you sent was saved. Go back, change it and send it again."


def _handle_input_error(error: InputError):
    """An input error no view caught, to show on its form: the 400 page with its message,
    never a 500, and nothing the request wrote is kept. An area's refusal may be its input
    error too (courses.authoring.NotAllowed is an AuthoringError): it keeps its own page."""
    if isinstance(error, refusals.Refusal):
        return _handle_refusal(error)
    abandon_changes()
    # Logged because a view was meant to catch it; the class only, as the message may
    # repeat what was typed.
    log.info("%s reached the edge on %s %s", type(error).__name__, request.method,
             request.path)
    return error_page(400, error.message, advice=INPUT_ERROR_ADVICE)


def _handle_csrf_error(error: CSRFError):
    return error_page(
        400,
        "The form you sent had expired or had been changed. Nothing was saved. Go back, "
        "reload the page and try again.",
    )


def _handle_database_error(error: Exception):
    """A database too busy to save, or out of reach (restarting, connection refused or
    ended): the 503 page, saying nothing was saved and when to try again. Anything else is
    the program's own error: the 500 page."""
    if isinstance(error, OperationalError) and is_database_busy(error):
        reference = _new_reference()
        log.warning("Database busy [%s] on %s %s", reference, request.method, request.path)
        response = error_page(
            503,
            "The database is busy with other changes. Nothing you sent was saved. "
            "Wait a moment, go back and send it again.",
            reference=reference,
        )
        return response[0], 503, {"Retry-After": "5"}
    if isinstance(error, SQLAlchemyError) and is_database_unavailable(error):
        return _database_unavailable_page(error)
    return _handle_unexpected(error)


def _database_unavailable_page(error: SQLAlchemyError):
    reference = _new_reference()
    log.warning("Database unavailable [%s] on %s %s: %s", reference, request.method,
                request.path, error)
    message = ("The service cannot reach its database at the moment. Nothing you sent was "
               "saved. Wait a minute, go back and send it again.")
    try:
        page = error_page(503, message, reference=reference)[0]
    except SQLAlchemyError:
        # The page's navigation needed the signed-in person, whom the database could not
        # give: show it as to someone signed out.
        g._login_user = current_app.login_manager.anonymous_user()
        page = error_page(503, message, reference=reference)[0]
    return page, 503, {"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)}


def _handle_unexpected(error: Exception):
    original = getattr(error, "original_exception", None) or error
    reference = _new_reference()
    log.error("Unexpected error [%s] on %s %s", reference, request.method, request.path,
              exc_info=original)
    return error_page(500, reference=reference)


def _new_reference() -> str:
    return secrets.token_hex(4).upper()


# --- rendered pages and signed tokens kept for reuse ---------------------------------------


class RenderedPages(RecentlyUsed):
    """Pages' HTML by key, encoded as they are sent (UTF-8): encoding a page of 14 kB again
    for every request was 4% of a reading module's work. The CSRF token is rendered as a
    marker no content can contain, and each page is kept as the pieces between its
    markers, joined with the request's own token for each response."""

    def __init__(self, kept: int = 256):
        super().__init__(kept)
        self.token_marker = f"csrf-token-{secrets.token_hex(16)}"
        self.encoded_token_marker = self.token_marker.encode()


def render_shared_page(key: tuple, template: str, context: Callable[[], dict]) -> str | bytes:
    """`render_template` for a page whose HTML depends only on `key`, the service navigation
    and the CSRF token: rendered once, then served from memory (as the bytes sent) without
    calling `context`.

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
    pieces = pages.get(full_key)
    if pieces is None:
        marker = pages.token_marker
        text = render_template(template, **context(), csrf_token=lambda: marker)
        pieces = tuple(text.encode().split(pages.encoded_token_marker))
        # A token the template made some other way would be this user's: never keep it.
        issued = g.get(current_app.config["WTF_CSRF_FIELD_NAME"])
        if issued is None or issued not in text:
            pages.put(full_key, pieces)
    return csrf_token().encode().join(pieces)


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


def plural(count, singular: str, plural_form: str | None = None) -> str:
    """A count and its word: "1 attempt", "2 attempts", "0 attempts"; `plural_form` for a
    word that does not just take an s ("1 person", "3 people")."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"


def _template_globals():
    return {
        "SERVICE_LABELS": SERVICE_LABELS,
        "COMMAND_ROLE_LABELS": COMMAND_ROLE_LABELS,
        "PERMISSION_LABELS": PERMISSION_LABELS,
        "AccountStatus": AccountStatus,
    }


def init_app(app: Flask) -> None:
    app.session_interface = RememberingSessionInterface()
    app.extensions["rendered_pages"] = RenderedPages()
    app.extensions["signed_csrf_tokens"] = RecentlyUsed(kept=4096)
    app.extensions["static_fingerprints"] = {}
    app.url_defaults(_fingerprint_static_addresses)
    app.before_request(_refuse_untrusted_host)  # first of all, before any other hook
    app.before_request(_refuse_nul_in_address)
    app.after_request(_finish_transaction)
    app.after_request(_security_headers)
    app.teardown_request(_close_leftover_session)
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(refusals.Refusal, _handle_refusal)
    app.register_error_handler(InputError, _handle_input_error)
    for database_error in (OperationalError, InterfaceError, DisconnectionError, PoolTimeout):
        app.register_error_handler(database_error, _handle_database_error)
    app.register_error_handler(DataError, _handle_data_error)
    app.register_error_handler(InternalServerError, _handle_unexpected)
    app.context_processor(_template_globals)
    app.add_template_filter(lambda value: Permission(value).label, "permission_label")
    app.add_template_filter(long_date, "long_date")
    app.add_template_filter(plural, "plural")
    app.add_template_global(utcnow, "now")
    app.add_template_global(style_nonce, "style_nonce")
