"""The audit log: administrators search and download it; it never holds a password."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from jesip_learn.records.audit import record_event
from jesip_learn.records.models import AuditEvent
from tests.support.factories import PASSWORD


@pytest.mark.parametrize("permissions", [set(), {"trainer"}, {"manager"}])
def test_only_administrators_read_the_log(browser, make, organisation, permissions):
    browser.sign_in(make.user(organisation=organisation, permissions=permissions).email)
    assert browser.client.get("/admin/audit").status_code == 403
    assert browser.client.get("/admin/audit.csv").status_code == 403


def test_sign_ins_and_failures_are_logged_without_the_password(browser, make, organisation,
                                                               admin, session):
    person = make.user(organisation=organisation, name="Fay Failure")
    browser.submit("/sign-in", {"email": person.email, "password": "not the password at all"})
    browser.sign_in(admin.email)
    page = browser.get(f"/admin/audit?q={person.email}")
    assert page.status == 200 and page.h1 == "Audit log"
    assert "sign_in.failed" in page.text
    everything = " ".join(str(event.details) + event.summary
                          for event in session.scalars(select(AuditEvent)))
    assert "not the password at all" not in everything and PASSWORD not in everything


def test_the_log_filters_by_kind_and_date(browser, admin, session):
    record_event(session, "requirement.added", actor=admin, summary="JESIP-AWARE required")
    session.commit()
    browser.sign_in(admin.email)
    page = browser.get("/admin/audit?action=requirement")
    assert "1 event found" in page.text and "JESIP-AWARE required" in page.text
    page = browser.get("/admin/audit?action=requirement&to=2000-01-01")
    assert "0 events found" in page.text
    page = browser.get("/admin/audit?from=yesterday")
    assert page.errors == ["From: enter a date as 2026-03-31"]
    page.error_links()
    assert browser.client.get("/admin/audit.csv?from=yesterday").status_code == 400


def test_the_download_holds_the_search_and_is_safe_in_a_spreadsheet(browser, admin, session):
    record_event(session, "requirement.added", actor=admin, summary="=SUM(A1:A9)")
    session.commit()
    browser.sign_in(admin.email)
    response = browser.client.get("/admin/audit.csv?action=requirement")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert ["Action", "requirement"] in rows
    header_at = next(i for i, row in enumerate(rows) if row and row[0] == "When (UTC)")
    body = rows[header_at + 1:]
    assert [row[1] for row in body] == ["requirement.added"]
    assert body[0][6] == "'=SUM(A1:A9)"
    downloaded = session.scalars(select(AuditEvent).where(
        AuditEvent.action == "audit.downloaded")).all()
    assert len(downloaded) == 1 and downloaded[0].actor_id == admin.id
