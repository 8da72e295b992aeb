"""The learning record store's page for administrators: the outbox's queue, last success,
failures with reasons, and sending again; and learning through the site fills the outbox."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.core.columns import utcnow
from jesip_learn.courses import catalogue as courses
from jesip_learn.factory import create_app
from jesip_learn.records.models import AuditEvent
from jesip_learn.xapi import outbox
from jesip_learn.xapi.models import XapiStatement
from tests.support.web import Browser, app_settings

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"
ENDPOINT = "http://127.0.0.1:9/xAPI/"


@pytest.fixture
def app(transactional_db, tmp_path):
    """The site with a learning record store set up (nothing listens there: only the
    outbox is looked at here)."""
    return create_app(app_settings(transactional_db, INSTANCE_PATH=tmp_path,
                                   XAPI_ENDPOINT=ENDPOINT,
                                   XAPI_HOMEPAGE="https://learn.jesip.example"))


def add_statement(session, *, status="queued", attempts=0, last_error="", sent_at=None,
                  name="Module one") -> XapiStatement:
    row = outbox.enqueue(session, {
        "actor": {"name": "Lee Learner"}, "verb": {"display": {"en-US": "completed"}},
        "object": {"id": "https://learn.jesip.example/learn/X/modules/m",
                   "definition": {"name": {"en-GB": name}}}})
    row.status, row.attempts, row.last_error, row.sent_at = status, attempts, last_error, sent_at
    session.commit()
    return row


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(XapiStatement))


@pytest.mark.parametrize("permissions", [set(), {"trainer"}, {"manager"}])
def test_only_administrators_see_the_outbox(browser, make, organisation, permissions):
    browser.sign_in(make.user(organisation=organisation, permissions=permissions).email)
    assert browser.client.get("/admin/xapi").status_code == 403
    response = browser.submit("/admin/xapi/retry", {}, form_url="/account",
                              follow_redirects=False)
    assert response.status_code == 403


def test_the_page_shows_the_queue_the_last_success_and_failures_with_reasons(
        browser, admin, session):
    sent_at = utcnow() - timedelta(minutes=5)
    add_statement(session, status="sent", sent_at=sent_at)
    add_statement(session)
    add_statement(session, attempts=2, last_error="The learning record store answered 503")
    add_statement(session, status="rejected", attempts=1, name="Bad statement",
                  last_error="The learning record store answered 422: Field required")
    browser.sign_in(admin.email)
    assert "/admin/xapi" in [a["href"] for a in browser.get("/admin/").soup.select("main a")]

    page = browser.get("/admin/xapi")
    assert page.status == 200 and page.h1 == "Learning record store"
    assert page.title == "Learning record store – JESIP Learn"
    summary = {row.dt.get_text(strip=True): row.dd.get_text(" ", strip=True)
               for row in page.soup.select("#outbox-summary .govuk-summary-list__row")}
    assert summary["Store"] == ENDPOINT + "statements"
    assert summary["Waiting to be sent"] == "2"
    assert summary["Waiting after a failed try"].startswith("1, next try ")
    assert summary["Refused by the store"] == "1"
    assert summary["Last sent"] == sent_at.strftime("%-d %b %Y %H:%M:%S") + " UTC"
    failures = [row.get_text(" ", strip=True) for row in page.soup.select("#failures tbody tr")]
    assert len(failures) == 2
    assert "Lee Learner completed Bad statement" in failures[0]
    assert "Refused" in failures[0] and "answered 422: Field required" in failures[0]
    assert "Waiting to try again" in failures[1] and "answered 503" in failures[1]


def test_sending_a_refused_statement_again_requeues_it_and_is_audited(browser, admin, session):
    refused = add_statement(session, status="rejected", attempts=1, last_error="422: bad")
    other = add_statement(session, status="rejected", attempts=1, last_error="422: bad")
    browser.sign_in(admin.email)
    page = browser.submit("/admin/xapi/retry", {"statement": refused.statement_id},
                          form_url="/admin/xapi")
    assert page.h1 == "Learning record store"
    assert "1 statement is queued to be sent again" in " ".join(page.notifications)
    session.expire_all()
    assert (session.get(XapiStatement, refused.id).status,
            session.get(XapiStatement, other.id).status) == ("queued", "rejected")
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "xapi.retried"))
    assert event.actor_id == admin.id
    assert event.details == {"statement": refused.statement_id, "count": 1}

    page = browser.submit("/admin/xapi/retry", {"statement": ""}, form_url="/admin/xapi")
    assert "1 statement is queued to be sent again" in " ".join(page.notifications)
    session.expire_all()
    assert session.get(XapiStatement, other.id).status == "queued"
    page = browser.submit("/admin/xapi/retry", {"statement": ""}, form_url="/admin/xapi")
    assert "There was nothing to send again." in " ".join(page.notifications)


def test_sending_again_needs_the_form_token(browser, admin, session):
    refused = add_statement(session, status="rejected", attempts=1, last_error="422: bad")
    browser.sign_in(admin.email)
    response = browser.client.post("/admin/xapi/retry", data={"statement": refused.statement_id})
    assert response.status_code == 400
    session.expire_all()
    assert session.get(XapiStatement, refused.id).status == "rejected"


def test_learning_writes_statements_and_reading_a_page_writes_none(browser, make, organisation,
                                                                    session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    version = courses.find_version(session, "JESIP-AWARE")
    module = next(i for i in courses.version_outline(version) if i.kind == "module")
    browser.sign_in(make.user(organisation=organisation).email)
    url = f"/learn/JESIP-AWARE/modules/{module.slug}"
    assert browser.get(url).status == 200
    assert count(session) == 0
    browser.submit(f"{url}/complete", {}, form_url=url)
    made = list(session.scalars(select(XapiStatement).order_by(XapiStatement.id)))
    assert [row.statement["verb"]["id"] for row in made] == [
        "http://adlnet.gov/expapi/verbs/experienced", "http://adlnet.gov/expapi/verbs/completed"]
    assert made[0].statement["object"]["id"] == (
        f"https://learn.jesip.example/learn/JESIP-AWARE/modules/{module.slug}")
    browser.client.post(f"{url}/complete", data={"csrf_token": browser.get(url).csrf_token()})
    assert count(session) == 2  # marking it done again in the same cycle records nothing


def test_without_a_store_the_page_says_so_and_nothing_is_recorded(transactional_db, tmp_path,
                                                                  admin, session):
    plain = Browser(create_app(app_settings(transactional_db,
                                            INSTANCE_PATH=tmp_path)).test_client())
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    version = courses.find_version(session, "JESIP-AWARE")
    module = next(i for i in courses.version_outline(version) if i.kind == "module")
    plain.sign_in(admin.email)
    url = f"/learn/JESIP-AWARE/modules/{module.slug}"
    plain.submit(f"{url}/complete", {}, form_url=url)
    assert count(session) == 0
    page = plain.get("/admin/xapi")
    assert "No learning record store is set up (XAPI_ENDPOINT)" in page.text
    assert "No failures." in page.text
    result = plain.client.application.test_cli_runner().invoke(args=["xapi", "send"])
    assert result.exit_code == 1
    assert "XAPI_ENDPOINT is not set: there is no learning record store" in result.output
