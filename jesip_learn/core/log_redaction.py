"""Log lines never hold a password or a token.

One-time links carry their token in the path (`/reset-password/<token>`,
`/confirm-email/<token>`, `/setup/<token>`), so every line that names a URL could leak one:
the development server's request lines, gunicorn's access and error lines, Flask's
"Exception on <path>" and the error pages' reference lines. Secrets can also come as query
parameters (`?token=…`), inside an encoded `next` parameter, or as `name=value` text.

`install_log_redaction` makes every log record of the process redacted as it is made, so no
logger or handler (including ones added later by Werkzeug, gunicorn or a test runner) ever
sees the secret. `RedactingFilter` does the same for one logger or handler, for logging set
up elsewhere. Passwords have no shape to recognise: they are kept out of the logs by never
passing form data to a logger, and the tests walk every form that takes one.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

# The path segments whose next segment is a one-time token (see web/auth.py's routes), or
# the signed token of an email's unsubscribe link (web/notifications.py).
SECRET_PATH_SEGMENTS = ("reset-password", "confirm-email", "setup", "unsubscribe")

# A parameter is secret when its name ends with one of these ("token", "csrf_token",
# "new_password", "recovery_code"…) or is one of the exact names.
SECRET_NAME_ENDINGS = ("token", "password", "passwd", "secret", "code", "otp")
SECRET_NAMES = ("key", "api_key", "apikey", "signature", "sig", "session")

_SLASH = r"(?:/|%2F)"  # a path inside a query parameter (`next=%2Fsetup%2F…`) is encoded
_SECRET_PATH = re.compile(
    rf"({_SLASH}(?:{'|'.join(map(re.escape, SECRET_PATH_SEGMENTS))}){_SLASH})"
    r"[^/\s?#&\"'<>;]+",
    re.IGNORECASE,
)
_SECRET_NAME = (
    rf"[\w.\-\[\]]*(?:{'|'.join(SECRET_NAME_ENDINGS)})|(?:{'|'.join(SECRET_NAMES)})"
)
# `name=value` in a query string or form body, plain or percent-encoded (`%3D`); a value
# redacted already is left as it is, so redacting twice changes nothing.
_SECRET_PARAMETER = re.compile(
    rf"(?<![\w\-])((?:{_SECRET_NAME})(?:=|%3D))(?!{re.escape(REDACTED)})[^\s&#'\"]+",
    re.IGNORECASE,
)
# `'name': 'value'` in the text of a dict or JSON object.
_SECRET_ITEM = re.compile(
    rf"""(?<![\w\-])(['"](?:{_SECRET_NAME})['"]\s*:\s*)(['"])(?:\\.|(?!\2).)*\2""",
    re.IGNORECASE,
)

_TRACEBACK_FORMATTER = logging.Formatter()


def redact_text(text: str) -> str:
    """`text` with every secret path segment and secret parameter value replaced."""
    text = _SECRET_PATH.sub(rf"\g<1>{REDACTED}", text)
    text = _SECRET_PARAMETER.sub(rf"\g<1>{REDACTED}", text)
    return _SECRET_ITEM.sub(rf"\g<1>\g<2>{REDACTED}\g<2>", text)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record in place: its message (with its arguments merged in when anything
    was taken out), the traceback it carries and its stack."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError, KeyError):
        # Logging reports a message that cannot be formatted by printing its parts.
        record.msg = redact_text(str(record.msg))
        record.args = _redacted_args(record.args)
    else:
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
    if record.exc_info and not record.exc_text:
        traceback = _TRACEBACK_FORMATTER.formatException(record.exc_info)
        redacted = redact_text(traceback)
        if redacted != traceback:
            record.exc_text = redacted
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)
    return record


def _redacted_args(args):
    if isinstance(args, dict):
        return {key: redact_text(str(value)) for key, value in args.items()}
    return tuple(redact_text(str(value)) for value in args or ())


class RedactingFilter(logging.Filter):
    """Redacts each record it sees and lets it through."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install_log_redaction() -> None:
    """Make every log record of this process redacted as it is made. Installing it again
    changes nothing."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "redacts_secrets", False):
        return

    def make_redacted_record(*args, **kwargs) -> logging.LogRecord:
        return redact_record(make_record(*args, **kwargs))

    make_redacted_record.redacts_secrets = True
    logging.setLogRecordFactory(make_redacted_record)
