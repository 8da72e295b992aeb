"""Proposed requirements through the test client: the manager's dashboard says one waits;
the requirements page offers to accept or decline it for their organisation; another
organisation's id and site-wide decisions are refused to managers; learners are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from jesip_learn.compliance.models import RequirementAcceptance
from jesip_learn.courses import catalogue as courses

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"
PAGE = "/manage/requirements"
DECIDE = "/manage/requirements/courses/JESIP-AWARE/decide"


@pytest.fixture
def trainers_course(session, make):
    """The fixture course, required of every service, published by a trainer in the
    browser (so nobody has accepted its required_for)."""
    trainer = make.user(permissions={"trainer"})
    courses.import_parsed(session, courses.parse_folders(VALID), actor=trainer,
                          source="editor")
    session.commit()


@pytest.fixture
def manager(make, organisation, browser, trainers_course):
    user = make.user(organisation=organisation, name="Mo Manager", permissions={"manager"})
    browser.sign_in(user.email)
    return user


def test_the_dashboard_and_requirements_page_show_the_proposal(browser, manager):
    dashboard = browser.get("/manage/compliance")
    assert dashboard.status == 200
    assert "1 proposed requirement waits for you to accept or decline" in dashboard.text
    page = browser.get(PAGE)
    assert page.status == 200
    assert "JESIP-AWARE: JESIP Awareness" in page.text
    assert "in Northshire Police" in page.text
    assert "Not in effect anywhere: proposed, not yet accepted" in page.text


def test_a_manager_accepts_for_their_organisation(browser, manager, organisation, session):
    done = browser.submit(DECIDE, {"organisation_id": str(organisation.id),
                                   "decision": "accept"}, form_url=PAGE)
    assert done.status == 200
    assert any("JESIP-AWARE is now required for Northshire Police" in n
               for n in done.notifications)
    assert "In effect in Northshire Police" in done.text
    assert "Nothing is waiting for your decision." in done.text
    row = session.scalar(select(RequirementAcceptance))
    assert (row.organisation_id, row.accepted, row.decided_by_id) == (
        organisation.id, True, manager.id)
    assert "proposed requirement" not in browser.get("/manage/compliance").text


def test_a_manager_declines_and_may_still_accept_later(browser, manager, organisation,
                                                       session):
    page = browser.submit(DECIDE, {"organisation_id": str(organisation.id),
                                   "decision": "decline"}, form_url=PAGE)
    assert page.status == 200 and "Declined" in page.text
    assert session.scalar(select(RequirementAcceptance)).accepted is False
    buttons = [b.get_text(" ", strip=True) for b in page.soup.find_all("button")]
    assert "Accept JESIP-AWARE as required in Northshire Police" in buttons
    assert not any(b.startswith("Decline") for b in buttons)


@pytest.mark.parametrize("where", ["other", "site"])
def test_a_manager_cannot_decide_beyond_their_organisations(browser, manager,
                                                            other_organisation, session,
                                                            where):
    organisation_id = str(other_organisation.id) if where == "other" else ""
    page = browser.submit(DECIDE, {"organisation_id": organisation_id, "decision": "accept"},
                          form_url=PAGE)
    assert page.status == 403  # the form offers no such choice: the address was changed
    assert "Only an administrator, or a manager of the organisation, can decide this." \
        in page.text
    assert session.scalar(select(RequirementAcceptance)) is None


def test_an_administrator_accepts_everywhere(browser, make, organisation, trainers_course,
                                             session):
    browser.sign_in(make.user(organisation=organisation, permissions={"admin"}).email)
    page = browser.get(PAGE)
    assert "in every organisation" in page.text
    done = browser.submit(DECIDE, {"organisation_id": "", "decision": "accept"},
                          form_url=PAGE)
    assert "In effect everywhere (accepted by an administrator)" in done.text
    assert session.scalar(select(RequirementAcceptance)).scope_key == "site"


def test_unknown_courses_are_not_found_and_learners_refused(browser, manager, make,
                                                            organisation):
    token = browser.get(PAGE).csrf_token()
    response = browser.client.post("/manage/requirements/courses/NOPE/decide",
                                    data={"csrf_token": token, "decision": "accept"})
    assert response.status_code == 404
    browser.sign_out()
    browser.sign_in(make.user(organisation=organisation).email)
    token = browser.get("/account").csrf_token()
    response = browser.client.post(DECIDE, data={"csrf_token": token, "decision": "accept",
                                                 "organisation_id": str(organisation.id)})
    assert response.status_code == 403


def test_deciding_needs_the_csrf_token(browser, manager, organisation, session):
    response = browser.client.post(DECIDE, data={"organisation_id": str(organisation.id),
                                                 "decision": "accept"})
    assert response.status_code in (302, 400)
    assert session.scalar(select(RequirementAcceptance)) is None
