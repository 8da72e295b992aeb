"""Approvals are not silent: a manager is emailed when an account waits for their approval
(the administrators when the organisation has no manager); the person is emailed when it is
approved or refused; the move email says who approved it, "an administrator" when it was
one. Each is sent once the decision is saved."""

from __future__ import annotations

import re

from sqlalchemy import select

from jesip_learn.accounts.models import TransferRequest, User
from tests.web.test_auth_pages import link_in, registration


def test_the_manager_hears_of_an_account_waiting_for_approval(browser, make, organisation,
                                                               other_organisation, outbox):
    manager = make.user(organisation=organisation, name="Mo Manager", permissions={"manager"})
    make.user(organisation=other_organisation, permissions={"manager"})  # not theirs
    make.user(organisation=other_organisation, permissions={"admin"})  # a manager exists
    browser.submit("/register", registration(organisation, email="sam@example.org"))
    browser.submit(link_in(outbox[0]), {})
    waiting, = [m for m in outbox[1:]]
    assert waiting.to == manager.email
    assert "Sam Jones has registered on JESIP Learn with Northshire Police" in waiting.text
    assert "http://jesip.test/manage/approvals" in waiting.text


def test_without_a_manager_the_administrators_hear_of_it(browser, make, organisation,
                                                          other_organisation, outbox):
    admin = make.user(organisation=other_organisation, permissions={"admin"})
    browser.submit("/register", registration(organisation, email="sam@example.org"))
    browser.submit(link_in(outbox[0]), {})
    assert [m.to for m in outbox[1:]] == [admin.email]


def test_an_account_on_the_organisations_domain_waits_for_nobody(browser, make, organisation,
                                                                 outbox):
    make.user(organisation=organisation, permissions={"manager"})
    browser.submit("/register", registration(organisation))
    browser.submit(link_in(outbox[0]), {})
    assert len(outbox) == 1


def _waiting(make, session, organisation, name):
    person = make.user(organisation=organisation, name=name)
    session.get(User, person.id).approved_at = None
    session.commit()
    return person


def test_the_person_is_told_who_approved_them(browser, make, organisation, session, outbox):
    manager = make.user(organisation=organisation, name="Mo Manager", permissions={"manager"})
    person = _waiting(make, session, organisation, "Wendy Waiting")
    browser.sign_in(manager.email)
    browser.submit(f"/manage/approvals/{person.id}/approve", {}, form_url="/manage/approvals")
    mail, = [m for m in outbox if m.to == person.email]
    assert "Mo Manager (a manager of Northshire Police) has approved your JESIP Learn" in mail.text
    assert "http://jesip.test/sign-in" in mail.text
    # Approving again sends nothing more.
    browser.submit(f"/manage/approvals/{person.id}/approve", {}, form_url="/manage/approvals")
    assert len([m for m in outbox if m.to == person.email]) == 1


def test_the_person_is_told_an_administrator_refused_them(browser, make, organisation,
                                                          other_organisation, session, outbox):
    admin = make.user(organisation=other_organisation, permissions={"admin"})
    person = _waiting(make, session, organisation, "Rory Refused")
    browser.sign_in(admin.email)
    browser.submit(f"/manage/approvals/{person.id}/reject", {}, form_url="/manage/approvals")
    mail, = [m for m in outbox if m.to == person.email]
    assert mail.text.count("An administrator has refused your registration") == 1
    assert admin.name not in mail.text


def test_the_move_email_says_who_approved_it(browser, make, organisation, other_organisation,
                                             session, outbox):
    learner = make.user(organisation=organisation, name="Molly Mover")
    admin = make.user(organisation=organisation, name="Ada Admin", permissions={"admin"})
    manager = make.user(organisation=other_organisation, name="Nell New",
                        permissions={"manager"})
    for decider, expected in ((manager, "Nell New (a manager of Southshire Fire and Rescue "
                                        "Service) has approved your move"),
                              (admin, "An administrator has approved your move")):
        browser.sign_in(learner.email)
        target = other_organisation if decider is manager else organisation
        browser.submit("/account/transfer", {"organisation": str(target.id),
                                             "command_role": "staff"})
        browser.sign_out()
        request = session.scalar(select(TransferRequest).where(
            TransferRequest.user_id == learner.id, TransferRequest.status == "pending"))
        browser.sign_in(decider.email)
        browser.submit(f"/manage/transfers/{request.id}/approve", {},
                       form_url="/manage/transfers")
        browser.sign_out()
        assert re.sub(r"\s+", " ", outbox[-1].text).count(expected) == 1, outbox[-1].text
        assert outbox[-1].to == learner.email
