"""Downloads that write to the audit log on a GET, against a real database: they wait their
turn as writers, and a streamed download gives its connection back when the stream ends.
Both were found by the security scan (scripts/security_scan.py) crawling concurrently."""

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.core.db import Database
from jesip_learn.factory import create_app
from jesip_learn.records.models import AuditEvent
from tests.support import database as test_database
from tests.support.factories import make_organisation, make_user
from tests.support.web import Browser, app_settings

DOWNLOADS = ("/admin/audit.csv", "/manage/compliance/download/detail.csv",
             "/manage/compliance/download/by-person.csv")


@pytest.fixture
def real_database(tmp_path):
    """A file database of its own (not the rollback fixture), waiting only briefly for locks."""
    url = test_database.configured_url()
    if url:
        url = test_database.sibling_database(url, "downloads")
    else:
        url = f"sqlite:///{tmp_path / 'downloads.db'}"
    test_database.migrate(url)
    database = Database(url, busy_timeout_ms=300)
    with database.write_session() as session:
        organisation = make_organisation(session, name="Streamshire Police")
        make_user(session, organisation=organisation, email="admin@streamshire.example.org",
                  permissions={"admin"})
    yield database
    database.engine.dispose()
    if not url.startswith("sqlite"):
        test_database.drop_sibling_database(url)


@pytest.fixture
def admin(real_database, tmp_path):
    browser = Browser(create_app(app_settings(real_database, INSTANCE_PATH=tmp_path)).test_client())
    browser.sign_in("admin@streamshire.example.org")
    return browser


def hold_write_lock(database: Database) -> sqlite3.Connection:
    """Another SQLite writer that has taken the lock and not let go."""
    other = sqlite3.connect(Path(database.url.removeprefix("sqlite:///")), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def audit_events(database: Database, action: str) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == action))


@pytest.mark.parametrize("url", DOWNLOADS)
def test_streamed_downloads_give_their_connection_back(admin, real_database, url):
    for _ in range(3):
        response = admin.client.get(url)
        assert response.status_code == 200
        assert response.get_data()  # the whole stream, as the browser reads it
        response.close()
    assert real_database.engine.pool.checkedout() == 0


def test_a_download_while_another_writer_holds_the_lock_gets_the_busy_page(admin,
                                                                           real_database):
    if not real_database.url.startswith("sqlite"):
        pytest.skip("SQLite only: there a reader that turns writer fails at once, where a "
                    "PostgreSQL transaction waits for the row it writes")
    recorded = audit_events(real_database, "report.downloaded")
    lock = hold_write_lock(real_database)
    try:
        response = admin.client.get("/manage/compliance/download/detail.csv")
    finally:
        lock.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert b"The database is busy" in response.data
    # Once the other writer has finished, the download goes through and is in the log.
    response = admin.client.get("/manage/compliance/download/detail.csv")
    assert response.status_code == 200 and response.get_data()
    assert audit_events(real_database, "report.downloaded") == recorded + 1
