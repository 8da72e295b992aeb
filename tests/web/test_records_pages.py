"""Pages for records that travel: the privacy notice, a learner's copy of their data, moving
organisation (asked, approved, declined), and an administrator's subject access and erasure."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from jesip_learn.accounts import transfers
from jesip_learn.accounts.models import PreviousMembership, TransferRequest, User
from jesip_learn.core.columns import utcnow
from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import runs
from jesip_learn.learning.models import Completion
from jesip_learn.records.models import Anonymisation, AuditEvent

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"


@pytest.fixture
def course(session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, "JESIP-AWARE")


def _events(session, action, subject):
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action,
                                                         AuditEvent.subject_user_id == subject.id)))


def test_the_privacy_notice_is_public_and_linked_from_the_footer_and_registration(browser):
    page = browser.get("/privacy")
    assert page.status == 200 and page.h1 == "Privacy notice"
    assert "6 years" in page.text and "Information Commissioner" in page.text
    assert "data protection officer" in page.text  # no contact set: the default text
    for path in ("/", "/register"):
        links = [a["href"] for a in browser.get(path).soup.find_all("a")]
        assert "/privacy" in links, path


def test_the_privacy_notice_names_the_contact_and_retention_set(app, client):
    app.config.update(PRIVACY_CONTACT="the JESIP Learn service desk, privacy@jesip.example",
                      RECORDS_RETENTION_YEARS="7")
    text = client.get("/privacy").get_data(as_text=True)
    assert "privacy@jesip.example" in text and "7 years" in text


def test_a_learner_downloads_everything_held_about_them_and_nothing_of_others(
        browser, session, make, organisation, course):
    learner = make.user(organisation=organisation, name="Lena Learner")
    other = make.user(organisation=organisation, name="Oscar Other")
    for person in (learner, other):
        scenario = next(item for item in courses.version_outline(course)
                        if item.kind == "scenario")
        run = runs.start_run(session, person, course, courses.version_item(course,
                                                                            scenario.slug))
        run.methane = {"step": [f"Casualties: 3, said {person.name}"] + [""] * 6}
        session.add(Completion(user_id=person.id, course_id=course.course_id,
                               version_id=course.id, completed_at=utcnow(),
                               certificate_code=f"JL-TEST-{person.id:05d}"))
    session.commit()
    browser.sign_in(learner.email)
    page = browser.get("/account/my-data")
    assert page.status == 200 and page.h1 == "Your data"
    assert "Casualties: 3, said Lena Learner" in page.text
    assert f"JL-TEST-{learner.id:05d}" in page.text
    assert "Oscar" not in page.text and other.email not in page.text
    response = browser.client.get("/account/my-data.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    export = json.loads(response.data)
    assert export["person"]["email"] == learner.email
    assert [row["certificate_code"] for row in export["sections"]["completions"]["rows"]] == [
        f"JL-TEST-{learner.id:05d}"]
    text = response.get_data(as_text=True)
    assert "Oscar" not in text and other.email not in text and "password_hash" not in text
    assert len(_events(session, "records.subject_access", learner)) == 2


def test_an_administrator_produces_the_export_for_a_request_and_it_is_audited(
        browser, session, make, organisation):
    admin = make.user(organisation=organisation, permissions={"admin"})
    manager = make.user(organisation=organisation, permissions={"manager"})
    person = make.user(organisation=organisation, name="Pat Person")
    browser.sign_in(manager.email)
    assert browser.get(f"/admin/users/{person.id}/subject-access").status == 403
    browser.sign_out()
    browser.sign_in(admin.email)
    assert "Everything held about Pat Person" in browser.get(f"/admin/users/{person.id}").text
    page = browser.get(f"/admin/users/{person.id}/subject-access")
    assert page.status == 200 and page.h1 == "Everything held about Pat Person"
    export = json.loads(browser.client.get(f"/admin/users/{person.id}/subject-access.json").data)
    assert export["person"]["name"] == "Pat Person"
    events = _events(session, "records.subject_access", person)
    assert {(e.actor_id, e.details["by_administrator"]) for e in events} == {(admin.id, True)}
    assert browser.get("/admin/users/999999/subject-access").status == 404


def test_a_learner_asks_to_move_and_the_receiving_manager_approves(
        browser, session, make, organisation, other_organisation, outbox):
    learner = make.user(organisation=organisation, name="Molly Mover")
    old_manager = make.user(organisation=organisation, permissions={"manager"})
    new_manager = make.user(organisation=other_organisation, permissions={"manager"})
    browser.sign_in(learner.email)
    page = browser.submit("/account/transfer", {"organisation": "", "command_role": "staff"})
    assert page.errors == ["Select the organisation you are moving to"]
    page = browser.submit("/account/transfer", {"organisation": str(other_organisation.id),
                                                "command_role": "staff"})
    assert "Your request has been sent" in page.notifications[0]
    assert "You asked on" in page.text and other_organisation.name in page.text
    browser.sign_out()

    browser.sign_in(old_manager.email)
    assert "Molly Mover" not in browser.get("/manage/transfers").text
    request = session.scalar(select(TransferRequest).where(TransferRequest.user_id == learner.id))
    response = browser.client.post(f"/manage/transfers/{request.id}/approve", data={
        "csrf_token": browser.get("/manage/transfers").csrf_token()})
    assert response.status_code == 404
    assert browser.get(f"/manage/learners/{learner.id}").status == 200
    browser.sign_out()

    browser.sign_in(new_manager.email)
    assert "requests to move organisation" in browser.get("/manage/approvals").text
    page = browser.get("/manage/transfers")
    assert "Molly Mover" in page.text
    page = browser.submit(f"/manage/transfers/{request.id}/approve", {},
                          form_url="/manage/transfers")
    assert f"Molly Mover now belongs to {other_organisation.name}" in page.notifications[0]
    assert outbox[-1].to == learner.email and "approved" in outbox[-1].text
    assert browser.get(f"/manage/learners/{learner.id}").status == 200
    browser.sign_out()

    browser.sign_in(old_manager.email)
    assert browser.get(f"/manage/learners/{learner.id}").status == 404
    session.expire_all()
    assert session.get(User, learner.id).organisation_id == other_organisation.id
    assert [p.organisation_id for p in session.scalars(select(PreviousMembership).where(
        PreviousMembership.user_id == learner.id))] == [organisation.id]


def test_the_old_managers_historic_report_counts_the_person_but_opens_no_current_record(
        browser, session, make, organisation, other_organisation, course):
    mover = make.user(organisation=organisation, name="Hana Historic")
    old_manager = make.user(organisation=organisation, permissions={"manager"})
    mover.created_at = mover.approved_at = mover.joined_at = utcnow() - timedelta(days=400)
    transfers.move_user(session, None, mover, other_organisation,
                        at=utcnow() - timedelta(days=100))
    session.commit()
    browser.sign_in(old_manager.email)
    before = (utcnow() - timedelta(days=200)).date()
    page = browser.get(f"/manage/compliance/learners?as_of-day={before.day}"
                       f"&as_of-month={before.month}&as_of-year={before.year}")
    row = next(tr for tr in page.soup.select("tbody tr") if "Hana Historic" in tr.get_text())
    assert row.find("a") is None and "Has since moved" in row.get_text()
    assert "Hana Historic" not in browser.get("/manage/compliance/learners").text


def test_a_declined_request_leaves_the_person_where_they_are(
        browser, session, make, organisation, other_organisation, outbox):
    learner = make.user(organisation=organisation, name="Dee Declined")
    new_manager = make.user(organisation=other_organisation, permissions={"manager"})
    request = transfers.request_transfer(session, learner, organisation_id=other_organisation.id,
                                         command_role="staff")
    session.commit()
    browser.sign_in(new_manager.email)
    page = browser.submit(f"/manage/transfers/{request.id}/decline", {},
                          form_url="/manage/transfers")
    assert "has been declined" in page.notifications[0]
    assert outbox[-1].to == learner.email and "declined" in outbox[-1].text
    session.expire_all()
    assert session.get(User, learner.id).organisation_id == organisation.id
    page = browser.submit(f"/manage/transfers/{request.id}/approve", {},
                          form_url="/manage/transfers")
    assert page.notifications == ["This request has already been dealt with"]


def test_a_learner_cancels_their_request(browser, session, make, organisation,
                                         other_organisation):
    learner = make.user(organisation=organisation)
    transfers.request_transfer(session, learner, organisation_id=other_organisation.id,
                               command_role="staff")
    session.commit()
    browser.sign_in(learner.email)
    page = browser.submit("/account/transfer/cancel", {}, form_url="/account/transfer")
    assert "cancelled" in page.notifications[0]
    assert transfers.pending_request(session, learner) is None


def test_an_administrator_moves_a_person_by_changing_their_organisation(
        browser, session, make, organisation, other_organisation):
    admin = make.user(organisation=organisation, permissions={"admin"})
    person = make.user(organisation=organisation, name="Ada Moved")
    browser.sign_in(admin.email)
    browser.submit(f"/admin/users/{person.id}", {
        "name": "Ada Moved", "organisation": str(other_organisation.id),
        "command_role": "operational", "permissions": ["learner"], "is_active": "y"})
    session.expire_all()
    assert session.get(User, person.id).organisation_id == other_organisation.id
    assert [p.organisation_id for p in session.scalars(select(PreviousMembership).where(
        PreviousMembership.user_id == person.id))] == [organisation.id]
    assert len(_events(session, "account.moved", person)) == 1


def test_an_administrator_erases_on_request_after_a_confirmation_step(
        browser, session, make, organisation, course):
    admin = make.user(organisation=organisation, permissions={"admin"})
    person = make.user(organisation=organisation, name="Eve Erased")
    session.add(Completion(user_id=person.id, course_id=course.course_id, version_id=course.id,
                           completed_at=utcnow(), certificate_code="JL-ERASE-00001"))
    session.commit()
    browser.sign_in(admin.email)
    url = f"/admin/users/{person.id}/erasure"
    page = browser.get(url)
    assert page.h1 == "Request for erasure" and "not absolute" in page.text
    page = browser.submit(url, {"decision": "erase", "reason": ""})
    assert page.errors == ["Enter the reason for the decision"]
    page = browser.submit(url, {"decision": "", "reason": "asked"})
    assert page.errors == ["Select whether to erase or refuse"]
    page = browser.submit(url, {"decision": "erase", "reason": "Left in 2020; asked by letter"})
    assert page.h1 == "Erase Eve Erased’s details?" and "1 completions" in page.text
    assert session.scalar(select(Anonymisation).where(Anonymisation.user_id == person.id)) \
        is None
    form = page.soup.find("form", action=url)
    data = {field["name"]: field.get("value", "") for field in form.find_all("input")}
    page = browser.submit(url, data)
    assert f"The details of account {person.id} have been anonymised" in page.notifications[0]
    session.expire_all()
    erased = session.get(User, person.id)
    assert erased.name == f"Former user {person.id}" and not erased.is_active
    done = session.scalar(select(Anonymisation).where(Anonymisation.user_id == person.id))
    assert done.reason == "Left in 2020; asked by letter" and done.actor_id == admin.id
    assert session.scalar(select(Completion).where(Completion.user_id == person.id)) is not None
    assert "There is nothing more to erase" in browser.get(url).text


def test_an_administrator_refuses_erasure_with_a_reason(browser, session, make, organisation):
    admin = make.user(organisation=organisation, permissions={"admin"})
    person = make.user(organisation=organisation, name="Rhys Refused")
    browser.sign_in(admin.email)
    page = browser.submit(f"/admin/users/{person.id}/erasure", {
        "decision": "refuse", "reason": "Still employed: the force must show the training"})
    assert "refusal and its reason have been recorded" in page.notifications[0]
    event, = _events(session, "records.erasure_refused", person)
    assert event.details == {"reason": "Still employed: the force must show the training"}
    assert session.get(User, person.id).name == "Rhys Refused"
    assert session.scalar(select(Anonymisation).where(Anonymisation.user_id == person.id)) \
        is None


def test_the_readable_copy_speaks_in_words_and_uk_time():
    from jesip_learn.records.readable import day, when
    assert when("2026-07-01T11:05:09.123456+00:00") == "1 July 2026 at 12:05"
    assert when("2026-01-01T11:05:09+00:00") == "1 January 2026 at 11:05"
    assert day("2026-07-01T23:30:00+00:00") == "2 July 2026"
    assert when(None) == "" and day("2026-03-14") == "14 March 2026"
