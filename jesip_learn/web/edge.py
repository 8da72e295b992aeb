"""What every request passes through: the database session and its one commit, security
headers, error pages with a reference number, and the template globals."""

from __future__ import annotations

import logging
import secrets

from flask import Flask, current_app, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, InternalServerError

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
        if request.method not in SAFE_METHODS:
            begin_writing(g.db_session)
    return g.db_session


def client_address() -> str:
    # Behind a reverse proxy, configure ProxyFix so remote_addr is the client's.
    return request.remote_addr or ""


def _finish_transaction(response):
    session = g.pop("db_session", None)
    if session is None:
        return response
    try:
        if g.get("request_failed"):
            session.rollback()
        else:
            session.commit()
    finally:
        session.close()
    return response


def _close_leftover_session(_error=None):
    session = g.pop("db_session", None)
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
