"""Log lines never hold a token or a password: the redaction of text and log records, its
installation for the whole process, and gunicorn's logger."""

from __future__ import annotations

import io
import logging
import runpy
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from jesip_learn.core.gunicorn_logging import RedactingLogger
from jesip_learn.core.log_redaction import (
    REDACTED,
    RedactingFilter,
    install_log_redaction,
    redact_record,
    redact_text,
)
from jesip_learn.core.mail import Mailer, OutgoingMail

TOKEN = "Zq8vX2-kP_4tLmN7wR1sYb3c"
PASSWORD = "Tangerine-Lighthouse-4471"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("text", [
    f'127.0.0.1 - - [03/Mar/2027 10:00:00] "GET /reset-password/{TOKEN} HTTP/1.1" 200 -',
    f"POST /confirm-email/{TOKEN} HTTP/1.1",
    f"Unexpected error [1A2B3C4D] on GET /setup/{TOKEN}",
    f"Open http://127.0.0.1:5000/setup/{TOKEN} to create one",
    f"GET /jesip-learn/reset-password/{TOKEN} HTTP/1.1",  # a site served under a prefix
    f"GET /sign-in?next=%2Freset-password%2F{TOKEN} HTTP/1.1",
    f"GET /sign-in?next=%2fconfirm-email%2f{TOKEN}%3Fx%3D1 HTTP/1.1",
    f"GET /anything?token={TOKEN}&page=2 HTTP/1.1",
    f"GET /anything?page=2&csrf_token={TOKEN} HTTP/1.1",
    f"GET /sign-in?next=%2Fx%3Faccess_token%3D{TOKEN} HTTP/1.1",
    f"GET /verify?code={TOKEN} HTTP/1.1",
    f"GET /x?api_key={TOKEN}&key={TOKEN} HTTP/1.1",
    f"Cookie: theme=dark; session={TOKEN}",
    f"email=a%40b.uk&password={PASSWORD}&csrf_token={TOKEN}",
    f"current_password={PASSWORD}&new_password={PASSWORD}",
    f"{{'email': 'a@b.uk', 'password': '{PASSWORD}'}}",
    f'{{"new_password": "{PASSWORD}", "recovery_code": "{TOKEN}"}}',
    f"{{'password': 'it\\'s {PASSWORD}'}}",
], ids=lambda text: text[:40])
def test_secrets_are_taken_out_of_text(text):
    redacted = redact_text(text)
    assert TOKEN not in redacted and PASSWORD not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize("text", [
    '127.0.0.1 - - [03/Mar/2027 10:00:00] "GET /learn/jesip-awareness HTTP/1.1" 200 -',
    "GET /verify/AB12-CD34 HTTP/1.1",
    "GET /manage/compliance?service=police&group_key=org-12&page=3 HTTP/1.1",
    "GET /sign-in?next=%2Flearn%2Fjesip-awareness HTTP/1.1",
    "GET /account/two-step/set-up HTTP/1.1",
    "GET /admin/users?q=monkey&keyboard=uk HTTP/1.1",
    "Email to a@b.uk failed: [Errno 111] Connection refused",
    "Database busy [1A2B3C4D] on POST /learn/jesip-awareness/modules/setup-checklist/complete",
], ids=lambda text: text[:40])
def test_text_without_secrets_is_left_as_it_is(text):
    assert redact_text(text) == text


def test_redacting_twice_changes_nothing():
    text = f'"GET /setup/{TOKEN}?token={TOKEN}&password=[{PASSWORD}] HTTP/1.1"'
    once = redact_text(text)
    assert TOKEN not in once and PASSWORD not in once
    assert redact_text(once) == once


def make_record(msg, args=(), exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("jesip_learn.web", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_a_record_is_redacted_with_its_arguments_merged_in():
    record = redact_record(make_record("Unexpected error [%s] on %s %s",
                                       ("1A2B3C4D", "GET", f"/setup/{TOKEN}")))
    assert record.getMessage() == f"Unexpected error [1A2B3C4D] on GET /setup/{REDACTED}"
    assert record.args == ()


def test_a_record_with_mapping_arguments_as_gunicorn_logs_them():
    record = redact_record(make_record('"%(r)s" %(s)s "%(f)s"', (
        {"r": f"GET /reset-password/{TOKEN} HTTP/1.1", "s": "200",
         "f": f"https://learn.example/confirm-email/{TOKEN}"},)))
    assert TOKEN not in record.getMessage() and record.getMessage().startswith('"GET /reset')


def test_a_record_without_secrets_keeps_its_arguments():
    record = redact_record(make_record("%d account set-up emails could not be sent", (3,)))
    assert record.msg == "%d account set-up emails could not be sent" and record.args == (3,)


def test_the_traceback_a_record_carries_is_redacted():
    try:
        raise RuntimeError(f"could not open /reset-password/{TOKEN}")
    except RuntimeError:
        record = redact_record(make_record("Unexpected error", exc_info=sys.exc_info()))
    formatted = logging.Formatter().format(record)
    assert "RuntimeError: could not open /reset-password/" + REDACTED in formatted
    assert TOKEN not in formatted


def test_a_message_that_cannot_be_formatted_is_redacted_part_by_part():
    record = redact_record(make_record("%s %s", (f"/setup/{TOKEN}",)))
    handler = logging.StreamHandler(io.StringIO())
    stderr = io.StringIO()
    sys.stderr, saved = stderr, sys.stderr  # where logging reports a message it cannot format
    try:
        handler.handle(record)
    finally:
        sys.stderr = saved
    assert "not enough arguments" in stderr.getvalue()
    assert "/setup/" + REDACTED in stderr.getvalue() and TOKEN not in stderr.getvalue()


@pytest.fixture
def plain_records():
    """Records made without redaction for the test, whatever an app made earlier installed;
    the process's record factory as it was afterwards."""
    saved = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    yield
    logging.setLogRecordFactory(saved)


@pytest.fixture
def lines():
    """Every line written to a logger of the test's own, formatted as the app formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("tests.log_redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_installing_redacts_every_record_made_afterwards(plain_records, lines):
    logger, stream = lines
    logger.info("Opened /reset-password/%s", TOKEN)
    assert TOKEN in stream.getvalue()  # without it the token reaches the log

    install_log_redaction()
    logger.info("Opened /reset-password/%s", TOKEN)
    logger.debug("Sent password=%s", PASSWORD)
    last_lines = stream.getvalue().splitlines()[1:]
    assert last_lines == [f"INFO tests.log_redaction: Opened /reset-password/{REDACTED}",
                          f"DEBUG tests.log_redaction: Sent password={REDACTED}"]


def test_installing_twice_redacts_once(plain_records):
    install_log_redaction()
    factory = logging.getLogRecordFactory()
    install_log_redaction()
    assert logging.getLogRecordFactory() is factory


def test_the_filter_redacts_what_its_handler_writes(plain_records, lines):
    logger, stream = lines
    logger.handlers[0].addFilter(RedactingFilter())
    logger.warning("GET /confirm-email/%s?token=%s", TOKEN, TOKEN)
    assert stream.getvalue() == (f"WARNING tests.log_redaction: GET /confirm-email/{REDACTED}"
                                 f"?token={REDACTED}\n")


def test_mail_written_to_the_log_has_the_token_of_its_link_redacted(plain_records, caplog):
    install_log_redaction()
    caplog.set_level(logging.WARNING, logger="jesip_learn.core.mail")
    Mailer({"MAIL_BACKEND": "log"}).send(OutgoingMail(
        "sam@northshire.police.uk", "Reset your JESIP Learn password",
        f"Open https://learn.example/reset-password/{TOKEN} within 2 hours."))
    assert f"Open https://learn.example/reset-password/{REDACTED} within 2 hours." in (
        caplog.text)
    assert TOKEN not in caplog.text


# --- gunicorn -----------------------------------------------------------------------------


class FakeResponse:
    status = "200 OK"
    sent = 3836
    headers = [("Content-Type", "text/html; charset=utf-8")]


class FakeRequest:
    headers = [("HOST", "learn.example"), ("REFERER", f"https://learn.example/setup/{TOKEN}")]


ENVIRON = {
    "REMOTE_ADDR": "192.0.2.7",
    "REQUEST_METHOD": "GET",
    "RAW_URI": f"/reset-password/{TOKEN}?token={TOKEN}",
    "PATH_INFO": f"/reset-password/{TOKEN}",
    "QUERY_STRING": f"token={TOKEN}",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_REFERER": f"https://learn.example/setup/{TOKEN}",
    "HTTP_USER_AGENT": "Mozilla/5.0",
}


@pytest.fixture
def gunicorn_logs(tmp_path, plain_records):
    """Gunicorn settings writing its access and error logs to files; gunicorn's loggers as
    they were afterwards (they are the process's, shared by every Logger)."""
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    loggers = [logging.getLogger("gunicorn.access"), logging.getLogger("gunicorn.error")]
    saved = [(log.handlers[:], log.filters[:]) for log in loggers]
    yield cfg, tmp_path / "access.log", tmp_path / "error.log"
    for log, (handlers, filters) in zip(loggers, saved, strict=True):
        for handler in log.handlers:
            if handler not in handlers:
                handler.close()
        log.handlers[:], log.filters[:] = handlers, filters


def write_request_lines(logger: Logger) -> None:
    logger.access(FakeResponse(), FakeRequest(), ENVIRON, timedelta(milliseconds=12))
    logger.error("Error handling request %s", ENVIRON["RAW_URI"])


def test_gunicorns_own_logger_would_write_the_token(gunicorn_logs):
    cfg, access_log, error_log = gunicorn_logs
    write_request_lines(Logger(cfg))
    assert TOKEN in access_log.read_text() and TOKEN in error_log.read_text()


def test_the_redacting_logger_writes_access_and_error_lines_without_tokens(gunicorn_logs):
    cfg, access_log, error_log = gunicorn_logs
    logger = RedactingLogger(cfg)
    logger.setup(cfg)  # as a configuration reload does: still one filter on each logger
    write_request_lines(logger)
    access = access_log.read_text()
    assert access.startswith('192.0.2.7 - - [') and access.count("\n") == 1
    assert (f'"GET /reset-password/{REDACTED}?token={REDACTED} HTTP/1.1" 200 3836 '
            f'"https://learn.example/setup/{REDACTED}" "Mozilla/5.0"') in access
    assert f"Error handling request /reset-password/{REDACTED}?token={REDACTED}" in (
        error_log.read_text())
    assert TOKEN not in access + error_log.read_text()
    assert [type(f) for f in logging.getLogger("gunicorn.access").filters] == [RedactingFilter]


def test_gunicorn_conf_names_the_redacting_logger():
    settings = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    cfg = Config()
    cfg.set("logger_class", settings["logger_class"])
    assert cfg.logger_class is RedactingLogger


def test_the_console_mail_backend_prints_the_whole_link_to_the_terminal_only(capsys, caplog):
    caplog.set_level(logging.DEBUG)
    Mailer({"MAIL_BACKEND": "console"}).send(OutgoingMail(
        "sam@northshire.police.uk", "Confirm your email address for JESIP Learn",
        f"Open https://learn.example/confirm-email/{TOKEN} to confirm."))
    assert f"https://learn.example/confirm-email/{TOKEN}" in capsys.readouterr().err
    assert TOKEN not in caplog.text
