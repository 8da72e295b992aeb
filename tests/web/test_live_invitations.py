"""Someone invited to a live exercise gets an email with its link, sent once the invitation is
saved, never when it is refused. The link starts with SITE_URL whatever host the request
named. An address that cannot be sent to costs only its own email: the person stays invited,
the facilitator is told, and the next invitation's email goes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.exercises.live import sessions
from jesip_learn.exercises.live.models import LiveParticipant
from jesip_learn.factory import create_app
from jesip_learn.records.models import AuditEvent
from tests.support.live import import_live_course
from tests.support.pages import StatusCheckedClient
from tests.support.web import Browser, app_settings

SITE = "https://learn.jesip.example"
ANY_LINK = re.compile(r"https?://\S+")


@pytest.fixture
def elsewhere(transactional_db, tmp_path):
    """The site at SITE_URL, reached here under another name it answers to: every request of
    the test client names the host jesip.test (its SERVER_NAME)."""
    app = create_app(app_settings(transactional_db, INSTANCE_PATH=tmp_path,
                                  SERVER_NAME="jesip.test", SITE_URL=SITE,
                                  TRUSTED_HOSTS=["jesip.test"]))
    app.test_client_class = StatusCheckedClient
    return app


@pytest.fixture
def lobby(session, make, organisation):
    """A trainer's session in its lobby, and two people of the trainer's organisation."""
    version = import_live_course(session)
    trainer = make.user(organisation=organisation, permissions={"trainer"}, name="Tara Trainer")
    script = next(s for s in sessions.published_scripts(session) if s.version_id == version.id
                  and "attack" in s.slug)
    live = sessions.create_session(session, trainer, version.id, script.slug)
    session.commit()
    return live, trainer


def invite(browser: Browser, live_id: int, person: User, role: str = ""):
    control = f"/exercises/live/{live_id}"
    token = browser.get(control).csrf_token()
    return browser.client.post(f"{control}/invite", data={
        "csrf_token": token, "user_id": str(person.id), "role": role})


def signed_in(app, user) -> Browser:
    browser = Browser(app.test_client())
    assert browser.sign_in(user.email).status == 200
    return browser


def test_the_invitation_email_links_to_site_url_whatever_host_the_request_named(
        elsewhere, lobby, make, organisation):
    live, trainer = lobby
    person = make.user(organisation=organisation, name="Pam Police")
    browser = signed_in(elsewhere, trainer)
    response = invite(browser, live.id, person, "police-control")
    assert response.status_code == 302 and response.request.host == "jesip.test"
    mail, = elsewhere.extensions["mailer"].outbox
    assert mail.to == person.email
    assert mail.subject == "You are invited to a live exercise: Attack at Kingsford Quay"
    assert "Dear Pam Police" in mail.text and "Tara Trainer of Northshire Police" in mail.text
    assert "You will play the Police control room supervisor." in mail.text
    found = ANY_LINK.findall(mail.text)
    assert found == [f"{SITE}/live/{live.id}", f"{SITE}/live/join"], found
    assert "jesip.test" not in mail.text and "localhost" not in mail.text
    # The link opens the exercise for the person invited.
    page = signed_in(elsewhere, person).get(found[0].removeprefix(SITE))
    assert page.status == 200 and page.h1 == "Police control room supervisor"
    notice = browser.get(f"/exercises/live/{live.id}").notifications
    assert notice == ["Invited. They will get an email with the exercise’s link."]


def test_a_refused_invitation_sends_nothing(app, lobby, make, organisation,
                                            other_organisation, outbox):
    live, trainer = lobby
    outsider = make.user(organisation=other_organisation)
    browser = signed_in(app, trainer)
    refused = invite(browser, live.id, outsider)
    assert refused.status_code == 400
    assert "Select a person from the search results" in refused.get_data(as_text=True)
    person = make.user(organisation=organisation)
    assert invite(browser, live.id, person).status_code == 302
    assert invite(browser, live.id, person).status_code == 400  # already in it
    assert [mail.to for mail in outbox] == [person.email]


def test_an_unsendable_address_does_not_fail_the_invitation_or_the_next(
        app, lobby, make, organisation, session, outbox, caplog):
    live, trainer = lobby
    # An address no email can be built for: a line break would add headers of its own.
    broken = make.user(organisation=organisation, name="Bea Broken")
    broken.email = "bea.broken@example.org\r\nBcc: someone@example.net"
    session.commit()
    fine = make.user(organisation=organisation, name="Finn Fine")
    browser = signed_in(app, trainer)
    assert invite(browser, live.id, broken).status_code == 302
    control = browser.get(f"/exercises/live/{live.id}")
    assert control.status == 200
    assert control.notifications == [
        "Invited. They will get an email with the exercise’s link.",
        "We could not email Bea Broken the exercise’s link. Tell them it is under “Your live "
        "exercises” once they sign in."]
    assert "Bea Broken" in control.text
    assert any("invitation could not be emailed" in r.getMessage() for r in caplog.records)
    assert invite(browser, live.id, fine).status_code == 302
    assert [mail.to for mail in outbox] == [fine.email]
    session.expire_all()
    invited = set(session.scalars(select(LiveParticipant.user_id)
                                  .where(LiveParticipant.session_id == live.id)))
    assert invited == {broken.id, fine.id}
    assert len(list(session.scalars(select(AuditEvent).where(
        AuditEvent.action == "live.invited")))) == 2


def test_no_email_when_the_invitation_is_not_saved(app, lobby, make, organisation, outbox,
                                                   session, monkeypatch):
    live, trainer = lobby
    person = make.user(organisation=organisation)
    browser = signed_in(app, trainer)
    token = browser.get(f"/exercises/live/{live.id}").csrf_token()

    def busy(_session):
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    monkeypatch.setattr(Session, "commit", busy)  # the request's one commit fails
    response = browser.client.post(f"/exercises/live/{live.id}/invite", data={
        "csrf_token": token, "user_id": str(person.id)})
    monkeypatch.undo()
    assert response.status_code == 503
    assert outbox == []
    session.expire_all()
    assert session.scalar(select(LiveParticipant).where(
        LiveParticipant.user_id == person.id)) is None
