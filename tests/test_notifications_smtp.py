"""Notifications delivered to a real SMTP server (aiosmtpd, on a free loopback port, with
authentication) and read back as a mail client would: one email per threshold across
repeated and concurrent runs of `notify send`, on SQLite and on PostgreSQL when
DATABASE_URL is set; the manager's digest with figures worked out here independently;
nothing for deactivated people; retries with back-off while the server is down; scheduled
reports with their CSV and XLSX attachments.

The rollback fixture is not used: `notify send` commits, like cron's runs do.
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import shutil
import socket
import threading
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from jesip_learn.accounts.models import Organisation, User
from jesip_learn.core.columns import utcnow
from jesip_learn.core.config import ConfigError
from jesip_learn.core.db import Database
from jesip_learn.core.mail import Mailer
from jesip_learn.courses import catalogue as courses
from jesip_learn.factory import create_app
from jesip_learn.learning.models import Completion
from jesip_learn.notifications import reports, sender
from jesip_learn.notifications.models import Notice
from jesip_learn.notifications.settings import settings_from_config
from tests.support.database import committing_database
from tests.support.factories import make_organisation, make_user
from tests.support.web import app_settings

# The test server asks for a password over plain SMTP on loopback, which aiosmtpd warns of.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
SITE = "https://learn.example"
LOGIN, PASSWORD = "jesip-mailer", "smtp password"


class Inbox:
    """What the SMTP server was given, parsed as a mail client parses it."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list:
        with self.lock:
            return [message for message in self.messages if message["To"] == address]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _authenticate(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=(auth_data.login, auth_data.password)
                      == (LOGIN.encode(), PASSWORD.encode()))


class SmtpServer:
    def __init__(self, port: int):
        self.port, self.inbox, self.controller = port, Inbox(), None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     auth_required=True, auth_require_tls=False,
                                     authenticator=_authenticate)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = SmtpServer(_free_port())
    server.start()
    yield server
    server.stop()




@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    with committing_database(request.param, "notify", tmp_path) as database:
        yield database


def _app(database, smtp, **overrides):
    settings = dict(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port,
                    SMTP_STARTTLS=False, SMTP_USERNAME=LOGIN, SMTP_PASSWORD=PASSWORD,
                    SITE_URL=SITE, MAIL_FROM="JESIP Learn <no-reply@learn.example>")
    return create_app(app_settings(database, **{**settings, **overrides}))


def _notify(app, moment: datetime):
    return app.test_cli_runner().invoke(args=["notify", "send", "--now", moment.isoformat()])


@pytest.fixture
def world(database):
    """A police organisation with its manager, a course, and people in other places."""
    with database.write_session() as session:
        courses.import_parsed(session, courses.parse_folders(VALID))
        course = courses.find_version(session, "JESIP-AWARE").course
        police = make_organisation(session, name="Northshire Police")
        elsewhere = make_organisation(session, name="Southshire Police")
        manager = make_user(session, organisation=police, name="Mo Manager",
                            email="manager@northshire.example", permissions={"manager"})
        session.flush()
        ids = {"course": course.id, "police": police.id, "elsewhere": elsewhere.id,
               "manager": manager.id}
    return ids


def _person(database, world, name, *, organisation="police", due_in_days=None,
            completed_days_ago=None, now=None):
    """A learner whose training falls due `due_in_days` after `now`, or who completed it
    `completed_days_ago` (in date for a year)."""
    now = now or utcnow()
    with database.write_session() as session:
        person = make_user(session, organisation=session.get(Organisation, world[organisation]),
                           name=name, email=f"{name.split()[0].lower()}@example.org")
        session.flush()
        if due_in_days is not None:
            session.add(Completion(user_id=person.id, course_id=world["course"],
                                   completed_at=now - timedelta(days=300),
                                   expires_at=now + timedelta(days=due_in_days),
                                   source="earlier system"))
        if completed_days_ago is not None:
            session.add(Completion(user_id=person.id, course_id=world["course"],
                                   completed_at=now - timedelta(days=completed_days_ago),
                                   expires_at=now + timedelta(days=365),
                                   source="earlier system"))
        return person.email


def _parts(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_one_email_per_threshold_across_repeated_and_concurrent_runs(database, smtp, world):
    start = utcnow().replace(hour=11, minute=0, second=0, microsecond=0) + timedelta(days=1)
    learner = _person(database, world, "Lee Learner", due_in_days=100, now=start)
    gone = _person(database, world, "Dee Deactivated", due_in_days=100, now=start)
    with database.write_session() as session:
        person = session.scalar(select(User).where(User.email == gone))
        person.is_active, person.deactivated_at = False, start
    app = _app(database, smtp)
    due = start + timedelta(days=100)
    moments = [due - timedelta(days=days) for days in (95, 90, 90, 60, 30, 29, 7, 3)]
    moments += [due + timedelta(hours=1), due + timedelta(days=2)]
    for moment in moments:
        result = _notify(app, moment)
        assert result.exit_code == 0, result.output
        if moment == due - timedelta(days=30):
            _concurrently(database, app, moment, runs=6)
    _concurrently(database, app, due + timedelta(days=2), runs=6)

    received = smtp.inbox.to(learner)
    subjects = [message["Subject"] for message in received]
    day = f"{due.day} {due:%B %Y}"
    assert subjects == [f"JESIP Awareness: your training runs out on {day}"] * 3 + [
        "JESIP Awareness: your training runs out today"]
    assert smtp.inbox.to(gone) == []
    text, html = _parts(received[0])
    assert "90 days" in text and day in text and f"{SITE}/learn/JESIP-AWARE" in text
    assert f'href="{SITE}/learn/JESIP-AWARE"' in html and "<h1" in html and day in html
    unsubscribe = received[0]["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(f"{SITE}/unsubscribe/") and unsubscribe in text
    assert received[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The one-click unsubscribe of RFC 8058: a POST, no sign-in, no CSRF token.
    response = app.test_client().post(urlsplit(unsubscribe).path,
                                       data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    _notify(app, due + timedelta(days=40))
    assert len(smtp.inbox.to(learner)) == 5  # the monthly overdue notice still goes
    with database.session() as session:
        assert session.scalar(select(Notice).where(Notice.to_address == gone)) is None


def _concurrently(database, app, moment, runs):
    """Several senders at once, each with its own connections, as on several hosts."""
    settings = settings_from_config(app.config)
    barrier, errors = threading.Barrier(runs), []

    def run():
        own = Database(database.url)
        try:
            barrier.wait(30)
            sender.send_due(own, settings, Mailer(app.config), now=lambda: moment)
        except Exception as error:  # reported below, failing the test
            errors.append(error)
        finally:
            own.engine.dispose()

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []


def test_a_manager_gets_one_digest_with_the_right_figures(database, smtp, world):
    now = utcnow().replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
    _person(database, world, "Ava Overdue", due_in_days=-3, now=now)
    _person(database, world, "Eli Expiring", due_in_days=10, now=now)
    _person(database, world, "Cai Completed", completed_days_ago=2, now=now)
    _person(database, world, "Nia Notstarted", now=now)
    _person(database, world, "Olu Overdue", due_in_days=-3, organisation="elsewhere", now=now)
    gone = _person(database, world, "Dai Gone", due_in_days=-3, now=now)
    with database.write_session() as session:
        session.scalar(select(User).where(User.email == gone)).is_active = False
    app = _app(database, smtp)
    for _ in range(3):
        assert _notify(app, now).exit_code == 0
    _concurrently(database, app, now, runs=4)

    digests = smtp.inbox.to("manager@northshire.example")
    assert len(digests) == 1
    # Required of everyone active in Northshire Police: Ava, Eli, Cai, Nia and the manager.
    # Compliant: Eli (expiring) and Cai (in date): 2 of 5.
    assert digests[0]["Subject"] == "Training compliance this week: 40% compliant"
    text, html = _parts(digests[0])
    assert "Compliant: 40.0% (2 of 5 required courses in date)" in text
    assert "Became overdue since" in text and "Ava Overdue (Northshire Police)" in text
    assert "Olu Overdue" not in text and "Dai Gone" not in text
    assert "Running out in the next 30 days: 1" in text and "Eli Expiring" in text
    assert "Completed since" in text and "Cai Completed" in text
    assert f"{SITE}/manage/compliance" in text and f'href="{SITE}/manage/compliance"' in html
    assert "List-Unsubscribe" not in digests[0]  # not optional: overdue training is reported

    # A week later Nia has completed: 3 of 5, up 20 points since the last digest.
    later = now + timedelta(days=7)
    with database.write_session() as session:
        nia = session.scalar(select(User).where(User.email == "nia@example.org"))
        session.add(Completion(user_id=nia.id, course_id=world["course"],
                               completed_at=later - timedelta(days=1),
                               expires_at=later + timedelta(days=364), source="paper"))
    assert _notify(app, later).exit_code == 0
    second = smtp.inbox.to("manager@northshire.example")[1]
    text, _ = _parts(second)
    assert "Compliant: 60.0% (3 of 5 required courses in date)" in text
    assert "Change since the last digest: +20.0 percentage points (was 40.0%)" in text
    assert "Nia Notstarted" in text and "Ava Overdue" not in text  # overdue before this week


def test_retried_with_backoff_while_the_server_is_down_then_sent_once(database, smtp, world):
    now = utcnow().replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)
    learner = _person(database, world, "Rae Retry", due_in_days=7, now=now)
    with database.write_session() as session:  # only Rae's reminder in this test
        session.get(User, world["manager"]).is_active = False
    app = _app(database, smtp)
    smtp.stop()
    first = _notify(app, now)
    assert first.exit_code == 1 and "stopped" in first.output
    with database.session() as session:
        notice = session.scalar(select(Notice).where(Notice.to_address == learner))
        assert (notice.status, notice.attempts) == ("queued", 1)
        assert notice.next_attempt_at == now + timedelta(seconds=60) and notice.last_error
    assert _notify(app, now + timedelta(seconds=30)).exit_code == 0  # still waiting
    smtp.start()
    assert _notify(app, now + timedelta(seconds=30)).exit_code == 0
    assert smtp.inbox.to(learner) == []
    assert _notify(app, now + timedelta(seconds=61)).exit_code == 0
    assert _notify(app, now + timedelta(seconds=120)).exit_code == 0
    assert len(smtp.inbox.to(learner)) == 1
    with database.session() as session:
        notice = session.scalar(select(Notice).where(Notice.to_address == learner))
        assert (notice.status, notice.attempts, notice.last_error) == ("sent", 2, "")


def test_a_notice_for_someone_deactivated_after_it_was_recorded_is_not_sent(database, smtp,
                                                                             world):
    now = utcnow() + timedelta(days=1)
    learner = _person(database, world, "Cy Cancelled", due_in_days=7, now=now)
    app = _app(database, smtp)
    settings = settings_from_config(app.config)
    assert sender.record_due(database, settings, now) == 2  # Cy's reminder, the digest
    with database.write_session() as session:
        session.scalar(select(User).where(User.email == learner)).is_active = False
    assert _notify(app, now).exit_code == 0
    assert smtp.inbox.to(learner) == []
    with database.session() as session:
        assert session.scalar(select(Notice.status).where(
            Notice.to_address == learner)) == "cancelled"


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_scheduled_report_arrives_with_its_file(database, smtp, world, file_format):
    now = utcnow() + timedelta(days=1)
    _person(database, world, "Ava Overdue", due_in_days=-3, now=now)
    _person(database, world, "Eli Expiring", due_in_days=10, now=now)
    _person(database, world, "Olu Elsewhere", due_in_days=-3, organisation="elsewhere", now=now)
    with database.write_session() as session:
        manager = session.get(User, world["manager"])
        reports.subscribe(session, manager, name="Not compliant",
                          query="status=not-compliant&as_of-day=1&page=2",
                          file_format=file_format, frequency="monthly")
    app = _app(database, smtp)
    assert _notify(app, now).exit_code == 0
    assert _notify(app, now + timedelta(hours=1)).exit_code == 0
    mails = [message for message in smtp.inbox.to("manager@northshire.example")
             if message["Subject"] == "Not compliant: training compliance report"]
    assert len(mails) == 1
    text, _ = _parts(mails[0])
    assert "Status: Not compliant" in text
    assert f"{SITE}/manage/compliance?status=not-compliant" in text
    assert mails[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    attachment, = list(mails[0].iter_attachments())
    assert attachment.get_filename().endswith(f".{file_format}")
    data = attachment.get_content()
    if file_format == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")
                                           if isinstance(data, bytes) else data)))
        header = rows.index(["Name", "Email", "Organisation", "Service", "Command role",
                             "Course code", "Course", "Status", "Completed", "Expires",
                             "Completion recorded from"])
        people = sorted((row[0], row[7]) for row in rows[header + 1:])
    else:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        details = list(workbook["Details"].iter_rows(values_only=True))
        people = sorted((row[0], row[7]) for row in details[1:])
    # Not compliant in the manager's organisation: Ava (expired), the manager (not started).
    assert people == [("Ava Overdue", "Expired"), ("Mo Manager", "Not started")]


def test_an_email_that_cannot_be_built_fails_alone_and_the_others_go(database, smtp, world,
                                                                      tmp_path):
    """A course title holding CR/LF (written straight into the database, past every check)
    used to stop `notify send` with a ValueError before any email went, on every run."""
    flooding = tmp_path / "flooding"
    shutil.copytree(VALID, flooding)
    course_file = flooding / "course.md"
    course_file.write_text(course_file.read_text(encoding="utf-8").replace(
        "title: JESIP Awareness", "title: JESIP Flooding").replace(
        "code: JESIP-AWARE", "code: JESIP-FLOOD"), encoding="utf-8")
    now = utcnow().replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)
    with database.write_session() as session:
        courses.import_parsed(session, courses.parse_folders(flooding))
        version = courses.find_version(session, "JESIP-FLOOD")
        version.title = "JESIP Flooding\r\nBcc: everyone@example.org"
        world["flooding"] = version.course_id
    broken = _person(database, world, "Bea Broken", now=now)
    fine = _person(database, world, "Fin Fine", due_in_days=7, now=now)
    with database.write_session() as session:
        person = session.scalar(select(User).where(User.email == broken))
        session.add(Completion(user_id=person.id, course_id=world["flooding"],
                               completed_at=now - timedelta(days=300),
                               expires_at=now + timedelta(days=7), source="earlier system"))
    app = _app(database, smtp)
    result = _notify(app, now)
    assert result.exit_code == 0, result.output
    assert "1 failed" in result.output
    assert [message["Subject"] for message in smtp.inbox.to(fine)] == [
        f"JESIP Awareness: your training runs out on {_long(now + timedelta(days=7))}"]
    assert len(smtp.inbox.to("manager@northshire.example")) == 1  # the digest went too
    assert smtp.inbox.to(broken) == []
    assert [message["Bcc"] for message in smtp.inbox.messages] == [None, None]
    with database.session() as session:
        failed = session.scalar(select(Notice).where(Notice.to_address == broken,
                                                     Notice.course_id == world["flooding"]))
        assert (failed.status, failed.attempts) == ("failed", 1)
        assert failed.last_error == ("The email could not be built: the Subject header holds "
                                     "a control character (U+000D)")
    # The next run neither dies nor tries it again.
    assert _notify(app, now + timedelta(minutes=10)).exit_code == 0
    assert len(smtp.inbox.messages) == 2


def _long(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


def test_dry_run_lists_and_sends_nothing(database, smtp, world):
    now = utcnow() + timedelta(days=1)
    _person(database, world, "Dru Dry", due_in_days=7, now=now)
    app = _app(database, smtp)
    result = app.test_cli_runner().invoke(args=["notify", "send", "--dry-run", "--now",
                                                now.isoformat()])
    assert result.exit_code == 0
    assert "reminder\tdru@example.org" in result.output and "2 notifications" in result.output
    assert smtp.inbox.messages == []
    with database.session() as session:
        assert session.scalar(select(Notice)) is None


def test_without_a_site_address_the_site_says_what_to_set(database, smtp, world):
    with pytest.raises(ConfigError, match="SITE_URL must be set"):
        _app(database, smtp, SERVER_NAME=None, SITE_URL="")
