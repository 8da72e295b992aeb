"""The notification pages: preferences, unsubscribe links, scheduled reports and the
administrators' page of what was sent and what failed."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from jesip_learn.core.columns import utcnow
from jesip_learn.courses import catalogue as courses
from jesip_learn.notifications import preferences
from jesip_learn.notifications.models import Notice, ReportSubscription
from jesip_learn.records.models import AuditEvent

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"


@pytest.fixture
def course(session):
    outcome, = courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, outcome.code).course


def _actions(session, action):
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_learner_chooses_their_emails(browser, make, session):
    learner = make.user()
    browser.sign_in(learner.email)
    account = browser.get("/account")
    assert account.soup.find("a", string="Choose which emails you get")["href"] == \
        "/account/notifications"
    page = browser.get("/account/notifications")
    assert page.h1 == "Email notifications"
    assert page.soup.find(id="expiry_reminders").has_attr("checked")
    assert page.soup.find(id="digest_frequency") is None  # managers only
    page = browser.submit("/account/notifications", {"overdue_notices": "on"})
    assert page.notifications == ["Your email preferences are saved."]
    session.expire_all()
    chosen = preferences.preferences_for(session, learner)
    assert (chosen.expiry_reminders, chosen.overdue_notices) == (False, True)
    assert len(_actions(session, "notifications.preferences_changed")) == 1


def test_a_manager_chooses_how_often_the_digest_comes(browser, make, session):
    manager = make.user(permissions={"manager"})
    browser.sign_in(manager.email)
    page = browser.get("/account/notifications")
    assert page.soup.find(id="digest_frequency")["value"] == "weekly"
    assert page.soup.find(id="digest_frequency").has_attr("checked")
    refused = browser.submit("/account/notifications", {"digest_frequency": "daily"},
                             follow_redirects=False)
    assert refused.status_code == 400
    page = browser.submit("/account/notifications", {"expiry_reminders": "on",
                                                     "overdue_notices": "on",
                                                     "digest_frequency": "monthly"})
    assert page.notifications == ["Your email preferences are saved."]
    session.expire_all()
    assert preferences.preferences_for(session, manager).digest_frequency == "monthly"
    page = browser.submit("/account/notifications", {"digest_frequency": "off"})
    assert page.notifications == ["Your email preferences are saved."]
    assert page.soup.find(id="digest_frequency-off").has_attr("checked")
    session.expire_all()
    assert preferences.preferences_for(session, manager).digest_frequency == "off"


def test_an_unsubscribe_link_asks_first_and_works_without_signing_in(client, app, make,
                                                                     session):
    learner = make.user()
    token = preferences.unsubscribe_token(app.config["SECRET_KEY"],
                                          preferences.UnsubscribeRequest(learner.id, "overdue"))
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert b"notices when your training has run out" in page.data
    session.expire_all()
    assert preferences.preferences_for(session, learner).overdue_notices is True  # GET: no
    done = client.post(f"/unsubscribe/{token}")
    assert done.status_code == 200 and b"You have unsubscribed" in done.data
    session.expire_all()
    assert preferences.preferences_for(session, learner).overdue_notices is False
    assert client.post(f"/unsubscribe/{token}").status_code == 200  # again: nothing left
    assert client.get(f"/unsubscribe/{token[:-3]}abc").status_code == 404
    assert client.post(f"/unsubscribe/{token[:-3]}abc").status_code == 404


def test_email_me_this_report_saves_the_dashboards_filters(browser, make, session, course,
                                                           organisation):
    manager = make.user(organisation=organisation, permissions={"manager"})
    browser.sign_in(manager.email)
    dashboard = browser.get("/manage/compliance?status=not-compliant&command_role=tactical")
    link = dashboard.soup.find("a", string="Email me this report")["href"]
    assert parse_qs(urlsplit(link).query)["status"] == ["not-compliant"]
    form = browser.get(link)
    assert form.h1 == "Email me this report"
    assert "Status: Not compliant" in form.soup.find(id="report-filters").get_text()
    hidden = form.soup.find("input", attrs={"name": "filters"})["value"]
    assert hidden == "command_role=tactical&status=not-compliant"
    empty = browser.submit("/manage/subscriptions/new", {"filters": hidden, "name": " ",
                                                         "file_format": "csv",
                                                         "frequency": "weekly"},
                           form_url=link)
    assert empty.status == 400
    assert empty.errors == ["Enter a name for the report"]
    assert empty.error_links() == {"Enter a name for the report": "name"}
    listing = browser.submit("/manage/subscriptions/new", {
        "filters": hidden, "name": "Tactical gaps", "file_format": "csv",
        "frequency": "weekly"}, form_url=link)
    assert listing.h1 == "Scheduled reports"
    assert "Tactical gaps" in listing.soup.find(id="subscriptions").get_text()
    subscription = session.scalar(select(ReportSubscription))
    assert (subscription.filters, subscription.file_format, subscription.frequency) == (
        "command_role=tactical&status=not-compliant", "csv", "weekly")
    assert len(_actions(session, "notifications.report_subscribed")) == 1
    browser.submit(f"/manage/subscriptions/{subscription.id}/stop", {},
                   form_url="/manage/subscriptions")
    session.expire_all()
    assert session.scalar(select(ReportSubscription)) is None
    assert len(_actions(session, "notifications.report_unsubscribed")) == 1


def test_filters_outside_the_managers_scope_are_refused(browser, make, organisation,
                                                        other_organisation, course):
    manager = make.user(organisation=organisation, permissions={"manager"})
    browser.sign_in(manager.email)
    page = browser.submit("/manage/subscriptions/new", {
        "filters": f"organisation={other_organisation.id}", "name": "Theirs",
        "file_format": "xlsx", "frequency": "monthly"},
        form_url="/manage/subscriptions/new")
    assert page.status == 400
    assert page.errors[0].startswith("The report’s filters are not ones you can choose")


def test_a_manager_cannot_stop_someone_elses_report(browser, make, session, organisation):
    owner = make.user(organisation=organisation, permissions={"manager"})
    other = make.user(organisation=organisation, permissions={"manager"})
    session.add(ReportSubscription(user_id=owner.id, name="Mine", filters="",
                                   file_format="csv", frequency="weekly"))
    session.commit()
    subscription = session.scalar(select(ReportSubscription))
    browser.sign_in(other.email)
    token = browser.get("/manage/subscriptions").csrf_token()
    response = browser.client.post(f"/manage/subscriptions/{subscription.id}/stop",
                                   data={"csrf_token": token})
    assert response.status_code == 404


def _notice(session, person, status, *, attempts, error=""):
    now = utcnow()
    notice = Notice(recipient_id=person.id, kind="reminder", subject_key="course:1",
                    period=f"2027-01-01/{status}", to_address=person.email,
                    mail_subject=f"A {status} reminder", text_body="t", html_body="<p>t</p>",
                    details={}, status=status, created_at=now, attempts=attempts,
                    next_attempt_at=now, last_error=error,
                    sent_at=now if status == "sent" else None)
    session.add(notice)
    session.commit()
    return notice


def test_administrators_see_what_was_sent_and_send_failures_again(browser, make, session):
    admin = make.user(permissions={"admin"})
    learner = make.user()
    _notice(session, learner, "sent", attempts=1)
    failed = _notice(session, learner, "failed", attempts=8, error="Connection refused")
    browser.sign_in(admin.email)
    page = browser.get("/admin/notifications")
    assert page.h1 == "Email notifications"
    assert "A sent reminder" in page.soup.find(id="sent").get_text()
    failures = page.soup.find(id="failures").get_text()
    assert "Connection refused" in failures and "Failed" in failures
    nav = [a.get_text(strip=True) for a in page.soup.select(".govuk-service-navigation__link")]
    assert "Administration" in nav
    hub = browser.get("/admin/").soup.select("main a")
    assert "/admin/notifications" in [a["href"] for a in hub]
    page = browser.submit("/admin/notifications/retry", {"notice": str(failed.id)},
                          form_url="/admin/notifications")
    assert page.notifications == ["1 email is queued to be sent again at the next run."]
    session.expire_all()
    failed = session.get(Notice, failed.id)
    assert (failed.status, failed.attempts) == ("queued", 0)
    assert len(_actions(session, "notifications.retried")) == 1
    failures = browser.get("/admin/notifications").soup.find(id="failures").get_text()
    assert "Queued to send again" in failures and "Send again" not in failures
