"""A learner corrects their own name, and asks to change their command role, which a
manager of their organisation approves (it changes the training required of them)."""

from __future__ import annotations

from sqlalchemy import select

from jesip_learn.accounts.models import PreviousMembership, TransferRequest, User
from jesip_learn.records.models import AuditEvent


def test_a_learner_corrects_their_own_name(browser, make, organisation, session):
    learner = make.user(organisation=organisation, name="Jon Smiht")
    browser.sign_in(learner.email)
    account = browser.get("/account")
    assert account.soup.find("a", string="Change your name")["href"] == "/account/name"
    page = browser.get("/account/name")
    assert page.status == 200 and page.h1 == "Change your name"
    page = browser.submit("/account/name", {"name": ""})
    assert page.errors == ["Enter your full name"]
    page = browser.submit("/account/name", {"name": "Jon\u202eSmith"})
    assert page.errors
    page = browser.submit("/account/name", {"name": "  Jon   Smith "})
    assert page.h1 == "Your account" and "Your name has been changed." in page.notifications
    session.expire_all()
    assert session.get(User, learner.id).name == "Jon Smith"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "account.renamed"))
    assert event.details == {"before": {"name": "Jon Smiht"}, "after": {"name": "Jon Smith"}}


def test_a_change_of_command_role_waits_for_a_manager(browser, make, organisation,
                                                      other_organisation, session, outbox):
    learner = make.user(organisation=organisation, name="Rory Role", command_role="staff")
    manager = make.user(organisation=organisation, name="Mo Manager", permissions={"manager"})
    elsewhere = make.user(organisation=other_organisation, permissions={"manager"})
    browser.sign_in(learner.email)
    page = browser.get("/account/command-role")
    assert page.status == 200
    page = browser.submit("/account/command-role", {"command_role": "staff"})
    assert page.errors == ["That is already your command role: select the one you now hold"]
    page = browser.submit("/account/command-role", {"command_role": "tactical"})
    assert "Your request has been sent" in page.notifications[0]
    assert "to change your command role to Tactical commander" in page.text
    assert session.get(User, learner.id).command_role == "staff"
    browser.sign_out()

    request = session.scalar(select(TransferRequest))
    browser.sign_in(elsewhere.email)
    token = browser.get("/manage/transfers").csrf_token()
    assert browser.client.post(f"/manage/transfers/{request.id}/approve",
                               data={"csrf_token": token}).status_code == 404
    browser.sign_out()

    browser.sign_in(manager.email)
    listed = browser.get("/manage/transfers")
    assert "Change of command role: staff (no command role) to tactical commander" in \
        listed.text
    page = browser.submit(f"/manage/transfers/{request.id}/approve", {},
                          form_url="/manage/transfers")
    assert "Rory Role is now tactical commander." in page.notifications[0]
    session.expire_all()
    person = session.get(User, learner.id)
    assert person.command_role == "tactical" and person.organisation_id == organisation.id
    earlier, = session.scalars(select(PreviousMembership).where(
        PreviousMembership.user_id == learner.id))
    assert (earlier.organisation_id, earlier.command_role) == (organisation.id, "staff")
    mail = outbox[-1]
    assert mail.to == learner.email
    assert "Mo Manager (a manager of Northshire Police) has approved your change of command " \
        "role" in mail.text.replace("\n", " ")


def test_a_declined_change_leaves_the_role(browser, make, organisation, session, outbox):
    learner = make.user(organisation=organisation, command_role="staff")
    manager = make.user(organisation=organisation, permissions={"manager"})
    browser.sign_in(learner.email)
    browser.submit("/account/command-role", {"command_role": "strategic"})
    browser.sign_out()
    request = session.scalar(select(TransferRequest))
    browser.sign_in(manager.email)
    page = browser.submit(f"/manage/transfers/{request.id}/decline", {},
                          form_url="/manage/transfers")
    assert "has been declined" in page.notifications[0]
    session.expire_all()
    assert session.get(User, learner.id).command_role == "staff"
    assert "has declined your request to change your command role" in outbox[-1].text
