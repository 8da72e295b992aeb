"""Adding a person through the test client: administrators anywhere, managers in their
own organisations (another organisation's id refused), learners and trainers not at all;
every missing field named at once; the invitation sent after the commit, with a link from
SITE_URL; "Invited" until the person sets a password."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from jesip_learn.accounts.models import User
from jesip_learn.records.models import AuditEvent

URL = "/manage/people/new"


@pytest.fixture
def manager(make, organisation, browser):
    user = make.user(organisation=organisation, name="Mo Manager", permissions={"manager"})
    browser.sign_in(user.email)
    return user


def person_form(organisation, **changes):
    return {"name": "Nia Newcomer", "email": "nia.newcomer@northshire.police.uk",
            "organisation": str(organisation.id), "command_role": "tactical", **changes}


def test_a_manager_adds_a_person_who_is_invited_by_email(browser, manager, organisation,
                                                         session, outbox):
    page = browser.get(URL)
    assert page.status == 200 and page.h1 == "Add a person"
    # A manager gives no permission but learner: the boxes are not offered.
    assert not page.soup.find("input", attrs={"name": "permissions"})
    done = browser.submit(URL, person_form(organisation))
    assert done.status == 200
    assert any("Nia Newcomer has been added" in n for n in done.notifications)
    person = session.scalar(select(User).where(User.email == "nia.newcomer@northshire.police.uk"))
    assert person.shown_status == "invited" and person.password_hash == ""
    assert person.permissions == {"learner"} and person.approved_by_id == manager.id
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "account.invited"))
    assert event.actor_id == manager.id and event.subject_user_id == person.id
    mail, = [m for m in outbox if m.to == person.email]
    link = re.search(r"http://jesip\.test/reset-password/\S+", mail.text).group(0)
    # The person sets a password through the link, and is invited no longer.
    path = link.removeprefix("http://jesip.test")
    browser.sign_out()
    page = browser.get(path)
    assert page.status == 200
    browser.submit(path, {"password": "harbour lantern quietly folds"})
    session.expire_all()
    assert session.get(User, person.id).shown_status == "active"


def test_every_missing_field_is_listed_at_once(browser, manager, session, outbox):
    page = browser.submit(URL, {"organisation": ""})
    assert page.status == 400
    # A manager of one organisation has it chosen for them.
    assert page.errors == ["Enter the person’s full name",
                           "Enter the person’s work email address",
                           "Select the person’s command role"]
    assert outbox == []


def test_a_manager_cannot_add_to_another_organisation(browser, manager, other_organisation,
                                                      session, outbox):
    page = browser.submit(URL, person_form(other_organisation))
    assert page.status == 400
    assert "Select an organisation from the list" in page.errors
    assert session.scalar(select(User).where(User.name == "Nia Newcomer")) is None
    assert outbox == []


def test_a_manager_cannot_give_more_than_learner(browser, manager, organisation, session,
                                                 outbox):
    page = browser.submit(URL, {**person_form(organisation), "permissions": ["admin"]})
    assert page.status == 400
    assert any("Only administrators" in e for e in page.errors)
    assert session.scalar(select(User).where(User.name == "Nia Newcomer")) is None
    assert outbox == []


def test_an_existing_address_is_refused_and_nothing_is_sent(browser, manager, organisation,
                                                            outbox):
    page = browser.submit(URL, person_form(organisation, email=manager.email))
    assert page.status == 400
    assert any("already exists" in e for e in page.errors)
    assert outbox == []


def test_control_characters_in_the_name_are_refused(browser, manager, organisation, session):
    page = browser.submit(URL, person_form(organisation, name="Nia\u202eNewcomer"))
    assert page.status == 400 and page.errors
    assert session.scalar(select(User).where(User.email.like("nia.%"))) is None


def test_an_administrator_adds_a_trainer_in_any_organisation(browser, make, organisation,
                                                             other_organisation, session,
                                                             outbox):
    admin = make.user(organisation=organisation, permissions={"admin"})
    browser.sign_in(admin.email)
    page = browser.get(URL)
    assert page.soup.find("input", attrs={"name": "permissions", "value": "trainer"})
    browser.submit(URL, {**person_form(other_organisation), "permissions": ["trainer",
                                                                           "manager"]})
    person = session.scalar(select(User).where(User.name == "Nia Newcomer"))
    assert person.organisation_id == other_organisation.id
    assert person.permissions == {"learner", "trainer", "manager"}
    assert person.manager_grant().organisation_id == other_organisation.id
    assert [m.to for m in outbox] == [person.email]
    page = browser.submit(URL, {"organisation": ""})
    assert page.status == 400 and "Select the person’s organisation" in page.errors
    users_page = browser.get("/admin/users?status=invited")
    assert users_page.status == 200 and "Nia Newcomer" in users_page.text


@pytest.mark.parametrize("permissions", [set(), {"trainer"}])
def test_learners_and_trainers_may_not_add_people(browser, make, organisation, permissions):
    user = make.user(organisation=organisation, permissions=permissions)
    browser.sign_in(user.email)
    assert browser.get(URL).status == 403
    token = browser.get("/account").csrf_token()
    assert browser.client.post(URL, data={"csrf_token": token}).status_code == 403


def test_no_email_is_sent_when_the_commit_fails(browser, manager, organisation, app, outbox,
                                                monkeypatch):
    from jesip_learn.web import edge

    def failing_commit(*args, **kwargs):
        raise RuntimeError("the database went away")

    original = edge._run_after_commit
    token = browser.get(URL).csrf_token()
    monkeypatch.setattr("sqlalchemy.orm.Session.commit", failing_commit)
    response = browser.client.post(URL, data={**person_form(organisation), "csrf_token": token})
    monkeypatch.undo()
    assert response.status_code >= 500
    assert outbox == []
    assert edge._run_after_commit is original
