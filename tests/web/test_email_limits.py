"""Emails sent on request (password resets, registrations, new confirmation links) are
limited per email address, per account and per network address, in the database or in
Redis. A refusal is a 429 page saying when to try again, the same whether or not the
address has an account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import User
from jesip_learn.accounts.password_reset import request_password_reset
from jesip_learn.accounts.registration import register_user
from jesip_learn.accounts.throttle import (
    DatabaseRequestCounter,
    EmailRequestLimiter,
    EmailRequestPolicy,
)
from jesip_learn.core.columns import utcnow
from jesip_learn.records.models import AuditEvent
from tests.support.factories import PASSWORD, make_user
from tests.support.limit_stores import either_store
from tests.support.web import Browser


def from_address(app, address: str) -> Browser:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Browser(client)


def registration(organisation, email: str) -> dict:
    return {"name": "Sam Jones", "email": email, "organisation": str(organisation.id),
            "command_role": "tactical", "password": PASSWORD}


def assert_too_many(page):
    assert page.status == 429
    assert page.title == "Too many requests – JESIP Learn" and page.h1 == "Too many requests"
    assert "You have asked for too many emails" in page.text
    assert "Wait 60 minutes, then try again." in page.text


@pytest.fixture
def limited(app):
    app.config.update(EMAIL_REQUESTS_PER_ACCOUNT=3, EMAIL_REQUESTS_PER_ADDRESS=6)
    return app


@pytest.fixture(params=["database", "redis"])
def store(request, limited):
    """Both stores: the database, and Redis."""
    with either_store(request.param, limited, "email-requests") as kind:
        yield kind


def test_reset_emails_to_one_address_are_limited_and_say_when_to_try_again(
        limited, store, make, organisation, outbox):
    user = make.user(organisation=organisation)
    browser = from_address(limited, "192.0.2.10")
    for _ in range(3):
        assert browser.submit("/forgot-password", {"email": user.email}).h1 == "Check your email"
    assert len(outbox) == 3
    response = browser.submit("/forgot-password", {"email": user.email.upper()},
                              follow_redirects=False)
    assert response.status_code == 429 and response.headers["Retry-After"] == "3600"
    assert_too_many(browser.submit("/forgot-password", {"email": user.email}))
    assert len(outbox) == 3
    # Another address is not held up.
    assert browser.submit("/forgot-password", {"email": "other@example.org"}).status == 200


def test_the_refusal_is_the_same_whether_or_not_there_is_an_account(
        limited, store, make, organisation):
    user = make.user(organisation=organisation)
    pages = {}
    for email in (user.email, "nobody@example.org"):
        browser = from_address(limited, "192.0.2.11")
        for _ in range(3):
            browser.submit("/forgot-password", {"email": email})
        pages[email] = browser.submit("/forgot-password", {"email": email})
    for page in pages.values():
        assert_too_many(page)
    assert pages[user.email].text == pages["nobody@example.org"].text


def test_registrations_from_one_network_address_are_limited(limited, store, organisation,
                                                            outbox, session):
    spammer = from_address(limited, "198.51.100.7")
    for number in range(6):
        victim = f"victim{number}@example.org"
        assert spammer.submit("/register", registration(organisation, victim)).h1 == (
            "Check your email")
    assert_too_many(spammer.submit("/register", registration(organisation,
                                                             "victim6@example.org")))
    assert len(outbox) == 6
    assert session.scalar(select(func.count()).select_from(User)) == 6
    refused = session.scalar(select(AuditEvent).where(AuditEvent.action == "email_request.refused"))
    assert refused.address == "198.51.100.7" and refused.details["page"] == "registration"
    someone_else = from_address(limited, "198.51.100.8")
    page = someone_else.submit("/register", registration(organisation, "sam@example.org"))
    assert page.h1 == "Check your email" and len(outbox) == 7


def test_new_confirmation_links_count_towards_the_same_limit(limited, store, organisation,
                                                             outbox):
    browser = from_address(limited, "192.0.2.12")
    browser.submit("/register", registration(organisation, "sam@example.org"))
    browser.submit("/confirm-email", {"email": "sam@example.org"})
    browser.submit("/forgot-password", {"email": "sam@example.org"})
    assert_too_many(browser.submit("/confirm-email", {"email": "sam@example.org"}))
    assert len(outbox) == 3  # the confirmation, the new link and the reset


def test_an_account_with_too_many_emails_lately_gets_no_more_and_nobody_is_told(
        session, organisation):
    user = make_user(session, organisation=organisation)
    limiter = EmailRequestLimiter(EmailRequestPolicy(per_account=2), DatabaseRequestCounter())
    for _ in range(2):  # as if sent under other spellings of the address
        assert limiter.check_account(session, user.id, utcnow()) is None
    found = request_password_reset(session, user.email, timedelta(hours=2),
                                   "192.0.2.13", limiter=limiter)
    assert found is None
    again = register_user(session, name="Sam Jones", email=user.email, password=PASSWORD,
                          organisation_id=organisation.id, command_role="staff",
                          limiter=limiter)
    assert again.already_registered and not again.send_email
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "email_request.not_sent")) == 2
