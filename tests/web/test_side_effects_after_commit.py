"""Nothing a request does outside the database happens unless its changes are saved: when
the edge's commit fails, no email leaves and no flashed "done" message is shown, then or on
the next page. The commit is made to fail the way a lost database would make it."""

from __future__ import annotations

import pytest
from flask import g, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import OneTimeToken, TokenPurpose
from tests.support.pages import read_page


@pytest.fixture
def failing_commit(monkeypatch):
    """Turned on by calling it: the request's own commit at the edge fails from then on.
    (Others, such as the rate limits' counts on PostgreSQL, commit on sessions of their own.)"""
    original = Session.commit

    def fail_for_the_request(session, *args, **kwargs):
        if has_app_context() and g.get("db_session") is session:
            raise RuntimeError("the database went away")
        return original(session, *args, **kwargs)

    return lambda: monkeypatch.setattr(Session, "commit", fail_for_the_request)


@pytest.fixture
def learner(make, organisation):
    return make.user(organisation=organisation, name="Lee Learner")


def test_a_password_reset_is_emailed_only_once_its_link_is_saved(browser, learner, outbox,
                                                                  failing_commit, session):
    token = browser.get("/forgot-password").csrf_token()
    failing_commit()
    response = browser.client.post("/forgot-password",
                                   data={"csrf_token": token, "email": learner.email})
    assert response.status_code == 500
    assert outbox == []
    assert session.scalar(select(OneTimeToken).where(
        OneTimeToken.purpose == TokenPurpose.PASSWORD_RESET)) is None


def test_the_same_reset_is_emailed_when_the_commit_succeeds(browser, learner, outbox):
    page = browser.submit("/forgot-password", {"email": learner.email})
    assert page.status == 200
    assert [mail.to for mail in outbox] == [learner.email]
    assert "/reset-password/" in outbox[0].text


def test_a_registration_whose_commit_fails_sends_no_confirmation(browser, organisation, outbox,
                                                                 failing_commit):
    token = browser.get("/register").csrf_token()
    failing_commit()
    response = browser.client.post("/register", data={
        "csrf_token": token, "name": "Rae Recruit", "email": "rae.recruit@example.org",
        "password": "harbour lantern quietly folds", "organisation": str(organisation.id),
        "command_role": "operational"})
    assert response.status_code == 500
    assert outbox == []


def test_a_failed_commit_shows_no_message_that_something_was_done(browser, learner,
                                                                  failing_commit, monkeypatch):
    browser.sign_in(learner.email)
    token = browser.get("/account").csrf_token()
    failing_commit()
    response = browser.client.post("/sign-out", data={"csrf_token": token})
    page = read_page(response)
    assert page.status == 500
    assert "You have signed out" not in page.text
    monkeypatch.undo()
    # Nor is it kept for the next page.
    after = browser.get("/sign-in")
    assert after.status == 200
    assert after.notifications == []
