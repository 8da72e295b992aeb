"""The xAPI outbox and its sender against a fake learning record store on loopback: the
statements are written with the learning or not at all, a store that is down is tried again
later and later, a refused statement is set aside with the store's reason while the others
go, a send whose answer was lost makes no second statement, and two senders at once never
send the same statement."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import Database
from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import progress
from jesip_learn.learning.models import ItemProgress
from jesip_learn.xapi import outbox, sender
from jesip_learn.xapi.models import XapiStatement
from jesip_learn.xapi.settings import XapiSettings, attach
from tests.support import database as test_database
from tests.support.factories import make_organisation, make_user

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"


class FakeLrs:
    """A learning record store on loopback that keeps statements by id, answers duplicates
    as the xAPI specification says, and can be told to fail, refuse or be slow."""

    def __init__(self):
        self.stored: dict[str, dict] = {}
        self.received: list[list[str]] = []  # the ids of each POST, in order
        self.down_with: int | None = None  # answer every POST with this status
        self.slow_seconds = 0.0  # store, then wait this long before answering
        self.lock = threading.Lock()
        lrs = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the handler's required name)
                batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, body = lrs.answer(batch, self.headers)
                if lrs.slow_seconds:
                    time.sleep(lrs.slow_seconds)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/xAPI/"

    def answer(self, batch: list[dict], headers) -> tuple[int, object]:
        with self.lock:
            self.received.append([statement["id"] for statement in batch])
            if self.down_with:
                return self.down_with, {"detail": "Service unavailable"}
            if headers.get("X-Experience-API-Version") != "1.0.3":
                return 400, {"detail": "X-Experience-API-Version header missing"}
            if headers.get("Authorization") != "Basic bHJzOnNlY3JldA==":  # lrs:secret
                return 401, {"detail": "Invalid authentication credentials"}
            bad = [s["id"] for s in batch if "verb" not in s]
            if bad:
                return 422, {"detail": f"Field required: verb (statement {bad[0]})"}
            for statement in batch:
                known = self.stored.get(statement["id"])
                if known is not None and known != statement:
                    return 409, {"detail": "Differing statements already exist"}
            new = [s for s in batch if s["id"] not in self.stored]
            for statement in new:
                self.stored[statement["id"]] = statement
            return (200, [s["id"] for s in new]) if new else (204, None)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def lrs():
    with FakeLrs() as fake:
        yield fake


def lrs_settings(lrs: FakeLrs, **overrides) -> XapiSettings:
    values = {"endpoint": lrs.endpoint, "username": "lrs", "password": "secret",
              "homepage": "http://jesip.test", "batch_size": 10, "timeout_seconds": 2.0}
    values.update(overrides)
    return XapiSettings(**values)


def queue(database: Database, count: int, *, bad: set[int] = frozenset()) -> list[str]:
    """`count` statements in the outbox (those numbered in `bad` have no verb)."""
    ids = []
    with database.write_session() as session:
        for number in range(count):
            statement = {"actor": {"objectType": "Agent",
                                   "account": {"homePage": "http://jesip.test",
                                               "name": str(number)}},
                         "object": {"objectType": "Activity",
                                    "id": f"http://jesip.test/learn/X/modules/m{number}"}}
            if number not in bad:
                statement["verb"] = {"id": "http://adlnet.gov/expapi/verbs/completed"}
            ids.append(outbox.enqueue(session, statement).statement_id)
    return ids


def rows(database: Database) -> dict[str, XapiStatement]:
    with database.write_session() as session:
        return {row.statement_id: row for row in session.scalars(select(XapiStatement))}


# --- written with the learning -----------------------------------------------------------


@pytest.fixture
def learner_and_version(session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    user = make_user(session, organisation=make_organisation(session, name="Outbox Police"))
    session.commit()
    return user, courses.find_version(session, "JESIP-AWARE")


def test_statements_are_written_in_the_transaction_of_the_learning(
        transactional_db, learner_and_version, lrs):
    user, version = learner_and_version
    module = next(i for i in courses.version_outline(version) if i.kind == "module")
    attach(transactional_db.sessionmaker, lrs_settings(lrs))

    rolled_back = transactional_db.session()
    progress.complete_item(rolled_back, rolled_back.merge(user), version, module.slug)
    assert rolled_back.scalar(select(func.count()).select_from(XapiStatement)) == 2
    rolled_back.rollback()  # the learning is not saved: neither are its statements
    rolled_back.close()

    with transactional_db.write_session() as saved:
        assert saved.scalar(select(func.count()).select_from(XapiStatement)) == 0
        progress.complete_item(saved, saved.merge(user), version, module.slug)
    with transactional_db.write_session() as check:
        assert check.scalar(select(func.count()).select_from(ItemProgress)) == 1
        made = list(check.scalars(select(XapiStatement).order_by(XapiStatement.id)))
    assert [row.statement["verb"]["id"].rsplit("/", 1)[1] for row in made] == [
        "experienced", "completed"]
    assert all(row.statement["id"] == row.statement_id and row.status == "queued"
               for row in made)
    assert made[1].summary.endswith(f"completed {module.title}")


def test_nothing_is_recorded_without_a_learning_record_store(session, learner_and_version):
    user, version = learner_and_version
    module = next(i for i in courses.version_outline(version) if i.kind == "module")
    progress.complete_item(session, user, version, module.slug)
    session.flush()
    assert session.scalar(select(func.count()).select_from(XapiStatement)) == 0


# --- sending -----------------------------------------------------------------------------


def test_a_store_that_is_down_is_tried_again_later_and_later(transactional_db, lrs):
    ids = queue(transactional_db, 3)
    settings = lrs_settings(lrs)
    start = utcnow()
    lrs.down_with = 503

    first = sender.send_pending(transactional_db, settings, now=lambda: start)
    assert first.sent == 0 and "503" in first.failure
    waiting = rows(transactional_db)
    assert {row.status for row in waiting.values()} == {"queued"}
    assert {row.attempts for row in waiting.values()} == {1}
    assert {row.next_attempt_at for row in waiting.values()} == {start + timedelta(seconds=30)}
    assert "503" in waiting[ids[0]].last_error
    posts = len(lrs.received)

    not_yet = sender.send_pending(transactional_db, settings,
                                  now=lambda: start + timedelta(seconds=10))
    assert not_yet.sent == 0 and not not_yet.failure and len(lrs.received) == posts

    later = start + timedelta(seconds=31)
    sender.send_pending(transactional_db, settings, now=lambda: later)
    assert {row.next_attempt_at for row in rows(transactional_db).values()} == {
        later + timedelta(seconds=60)}  # the wait doubles

    lrs.down_with = None
    done = sender.send_pending(transactional_db, settings,
                               now=lambda: later + timedelta(seconds=61))
    assert done.sent == 3 and not done.failure
    assert set(lrs.stored) == set(ids)
    assert {row.status for row in rows(transactional_db).values()} == {"sent"}


def test_no_answer_at_all_is_a_failure_to_try_again(transactional_db):
    queue(transactional_db, 1)
    closed = XapiSettings(endpoint="http://127.0.0.1:9/xAPI/", homepage="http://jesip.test",
                          timeout_seconds=1.0)
    report = sender.send_pending(transactional_db, closed)
    assert report.sent == 0 and report.failure.startswith("No answer from the learning record")
    assert [row.attempts for row in rows(transactional_db).values()] == [1]


def test_back_off_doubles_up_to_its_cap():
    settings = XapiSettings(retry_base_seconds=30, retry_max_seconds=600)
    assert [outbox.backoff(n, settings).total_seconds() for n in range(1, 7)] == [
        30, 60, 120, 240, 480, 600]


def test_a_refused_statement_is_set_aside_with_the_reason_and_the_others_go(
        transactional_db, lrs):
    ids = queue(transactional_db, 5, bad={2})
    report = sender.send_pending(transactional_db, lrs_settings(lrs))
    assert (report.sent, report.rejected, report.failure) == (4, 1, "")
    assert set(lrs.stored) == set(ids) - {ids[2]}
    refused = rows(transactional_db)[ids[2]]
    assert refused.status == "rejected"
    assert refused.last_error == (f"The learning record store answered 422: {{\"detail\": "
                                  f"\"Field required: verb (statement {ids[2]})\"}}")
    again = sender.send_pending(transactional_db, lrs_settings(lrs))
    assert again.sent == again.rejected == 0  # set aside until an administrator retries


def test_wrong_credentials_are_not_blamed_on_the_statements(transactional_db, lrs):
    queue(transactional_db, 2)
    report = sender.send_pending(transactional_db, lrs_settings(lrs, password="wrong"))
    assert report.rejected == 0 and "401" in report.failure
    assert {row.status for row in rows(transactional_db).values()} == {"queued"}


def test_a_send_whose_answer_was_lost_makes_no_second_statement(transactional_db, lrs):
    ids = queue(transactional_db, 4)
    lrs.slow_seconds = 1.5  # stores the batch, then answers after the sender gave up
    start = utcnow()
    lost = sender.send_pending(transactional_db, lrs_settings(lrs, timeout_seconds=0.5),
                               now=lambda: start)
    assert lost.sent == 0 and lost.failure and set(lrs.stored) == set(ids)

    lrs.slow_seconds = 0
    resent = sender.send_pending(transactional_db, lrs_settings(lrs),
                                 now=lambda: start + timedelta(minutes=5))
    assert resent.sent == 4
    assert lrs.received == [ids, ids]  # the same statements, by the same ids
    assert len(lrs.stored) == 4
    assert {row.status for row in rows(transactional_db).values()} == {"sent"}


def test_a_single_statement_the_store_already_has_counts_as_sent(transactional_db, lrs):
    [statement_id] = queue(transactional_db, 1)
    with transactional_db.write_session() as session:
        row = session.scalar(select(XapiStatement))
        lrs.stored[statement_id] = {**row.statement, "stored": "earlier"}  # 409 Conflict
    report = sender.send_pending(transactional_db, lrs_settings(lrs))
    assert report.sent == 1 and rows(transactional_db)[statement_id].status == "sent"


def test_sent_statements_are_forgotten_after_the_days_kept(transactional_db, lrs):
    queue(transactional_db, 2)
    start = utcnow()
    sender.send_pending(transactional_db, lrs_settings(lrs), now=lambda: start)
    sender.send_pending(transactional_db, lrs_settings(lrs, keep_sent_days=30),
                        now=lambda: start + timedelta(days=29))
    assert len(rows(transactional_db)) == 2
    sender.send_pending(transactional_db, lrs_settings(lrs, keep_sent_days=30),
                        now=lambda: start + timedelta(days=31))
    assert rows(transactional_db) == {}


# --- two senders at once -----------------------------------------------------------------


@pytest.fixture
def real_database(tmp_path):
    """A database of its own with real commits, as two sender processes would share."""
    url = test_database.configured_url()
    url = (test_database.sibling_database(url, "xapi") if url
           else f"sqlite:///{tmp_path / 'xapi.db'}")
    test_database.migrate(url)
    database = Database(url)
    yield database
    database.engine.dispose()
    if not url.startswith("sqlite"):
        test_database.drop_sibling_database(url)


def test_two_senders_at_once_never_send_the_same_statement(real_database, lrs):
    ids = queue(real_database, 60)
    lrs.slow_seconds = 0.05  # each POST takes a moment, so the senders overlap
    settings = lrs_settings(lrs, batch_size=5)
    reports, errors = [], []

    def run():
        try:
            reports.append(sender.send_pending(Database(real_database.url), settings))
        except Exception as error:  # noqa: BLE001 - the assertion below shows it
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    sent_by_each = [report.sent for report in reports]
    assert sum(sent_by_each) == 60 and all(sent_by_each), sent_by_each  # both took part
    posted = Counter(statement_id for batch in lrs.received for statement_id in batch)
    assert set(posted) == set(ids) and set(posted.values()) == {1}
    assert {row.status for row in rows(real_database).values()} == {"sent"}
