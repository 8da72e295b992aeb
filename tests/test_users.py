"""Accounts in the domain layer: registration, tokens, sign-in, passwords, permissions."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.administration import (
    AccountChanges,
    create_first_administrator,
    issue_first_administrator_token,
    update_account,
)
from jesip_learn.accounts.details import AccountError
from jesip_learn.accounts.models import LoginFailure, OneTimeToken, TokenPurpose, User
from jesip_learn.accounts.own_account import change_password
from jesip_learn.accounts.password_reset import request_password_reset, reset_password
from jesip_learn.accounts.registration import approve_user, confirm_email, register_user
from jesip_learn.accounts.sign_in import WRONG_DETAILS, authenticate, user_for_session
from jesip_learn.accounts.throttle import DatabaseLoginThrottle, ThrottlePolicy
from jesip_learn.accounts.tokens import TokenError, issue_token, peek_token
from jesip_learn.accounts.user_search import UserSearch, search_users
from jesip_learn.core.columns import utcnow
from tests.support.factories import PASSWORD, make_organisation, make_user

THROTTLE = DatabaseLoginThrottle(ThrottlePolicy(failures_per_account=10, failures_per_address=50,
                                                window=timedelta(minutes=15)))


def register(session, organisation, **overrides):
    details = {"name": "Sam Jones", "email": "sam.jones@northshire.police.uk",
               "password": PASSWORD, "organisation_id": organisation.id,
               "command_role": "tactical"}
    details.update(overrides)
    return register_user(session, **details)


@pytest.fixture
def police(session):
    return make_organisation(session, name="Northshire Police", domains=["northshire.police.uk"])


def test_registration_with_the_organisations_domain_needs_only_email_confirmation(session, police):
    registration = register(session, police)
    user = registration.user
    assert not registration.needs_approval
    assert user.approved_at is not None and user.email_confirmed_at is None
    assert user.status == "unconfirmed" and not user.can_sign_in
    assert user.permissions == {"learner"}
    confirm_email(session, registration.confirmation_token)
    assert user.status == "active"


def test_registration_with_another_domain_waits_for_approval(session, police):
    registration = register(session, police, email="sam@gmail.com")
    assert registration.needs_approval
    confirm_email(session, registration.confirmation_token)
    assert registration.user.status == "pending"
    manager = make_user(session, organisation=police, permissions={"manager"})
    approve_user(session, manager, registration.user)
    assert registration.user.status == "active"


def test_registering_an_address_that_has_an_account_makes_nothing_whatever_its_case(
        session, police):
    first = register(session, police)
    again = register(session, police, email="Sam.Jones@NORTHSHIRE.police.uk", name="Other Name")
    assert again.already_registered and again.user is first.user and again.send_email
    assert again.confirmation_token is None
    assert session.scalar(select(func.count()).select_from(User)) == 1
    assert first.user.name == "Sam Jones"


def test_a_registration_is_checked_in_full_whether_or_not_the_address_has_an_account(
        session, police):
    register(session, police)
    # A weak password is refused for an address with an account just as for a new one, so
    # the errors shown say nothing about who has an account.
    with pytest.raises(AccountError, match="12 characters or more"):
        register(session, police, password="short")
    # Whether approval is needed comes from the details given, not from the account.
    elsewhere = make_organisation(session, name="Southshire Fire and Rescue Service")
    assert register(session, elsewhere).needs_approval


@pytest.mark.parametrize(("field", "overrides", "message"), [
    ("password", {"password": "short"}, "12 characters or more"),
    ("password", {"password": "password1234"}, "too common"),
    ("email", {"email": "not-an-email"}, "correct format"),
    ("name", {"name": "   "}, "Enter your full name"),
    ("organisation", {"organisation_id": 999999}, "Select your organisation"),
    ("command_role", {"command_role": "gold"}, "Select your command role"),
])
def test_bad_registration_details_name_their_field_and_write_nothing(
        session, police, field, overrides, message):
    with pytest.raises(AccountError) as error:
        register(session, police, **overrides)
    assert error.value.field == field and message in error.value.message
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_a_deactivated_organisation_takes_no_registrations(session, police):
    police.is_active = False
    with pytest.raises(AccountError):
        register(session, police)


def test_tokens_work_once(session, police):
    registration = register(session, police)
    confirm_email(session, registration.confirmation_token)
    with pytest.raises(TokenError, match="already been used"):
        confirm_email(session, registration.confirmation_token)


def test_expired_tokens_are_refused(session, police):
    registration = register(session, police)
    token = session.scalar(select(OneTimeToken))
    token.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(TokenError, match="expired"):
        confirm_email(session, registration.confirmation_token)


def test_tokens_are_stored_only_as_hashes(session, police):
    registration = register(session, police)
    stored = session.scalar(select(OneTimeToken.token_hash))
    assert registration.confirmation_token not in stored and len(stored) == 64


def test_tokens_of_one_purpose_do_not_open_another(session, police):
    registration = register(session, police)
    with pytest.raises(TokenError):
        reset_password(session, registration.confirmation_token, "another good passphrase")


def test_sign_in_with_right_and_wrong_passwords(session, police):
    user = make_user(session, organisation=police)
    wrong = authenticate(session, user.email, "wrong password!", address="10.0.0.1",
                         throttle=THROTTLE)
    assert wrong.user is None and wrong.error == WRONG_DETAILS
    unknown = authenticate(session, "nobody@example.org", PASSWORD, address="10.0.0.1",
                           throttle=THROTTLE)
    assert unknown.error == WRONG_DETAILS  # the same words: no account enumeration
    right = authenticate(session, user.email.upper(), PASSWORD, address="10.0.0.1",
                         throttle=THROTTLE)
    assert right.user is user and user.last_sign_in_at is not None


def test_ten_failures_lock_the_account_for_the_window(session, police):
    user = make_user(session, organisation=police)
    for _ in range(10):
        authenticate(session, user.email, "wrong password!", address="10.0.0.2",
                     throttle=THROTTLE)
    locked = authenticate(session, user.email, PASSWORD, address="10.0.0.3",
                          throttle=THROTTLE)
    assert locked.user is None and "too many failed attempts" in locked.error
    later = utcnow() + timedelta(minutes=16)
    assert authenticate(session, user.email, PASSWORD, address="10.0.0.3",
                        throttle=THROTTLE, now=later).user is user


def test_one_address_failing_across_many_accounts_is_throttled(session, police):
    throttle = DatabaseLoginThrottle(ThrottlePolicy(failures_per_account=10,
                                                    failures_per_address=3))
    for number in range(3):
        authenticate(session, f"guess{number}@example.org", "x" * 12,
                     address="10.9.9.9", throttle=throttle)
    user = make_user(session, organisation=police)
    result = authenticate(session, user.email, PASSWORD, address="10.9.9.9",
                          throttle=throttle)
    assert result.user is None and "from your network" in result.error


def test_success_clears_the_accounts_failures(session, police):
    user = make_user(session, organisation=police)
    authenticate(session, user.email, "wrong password!", address="a", throttle=THROTTLE)
    authenticate(session, user.email, PASSWORD, address="a", throttle=THROTTLE)
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 0


@pytest.mark.parametrize(("state", "message"), [
    ("deactivated", "deactivated"), ("unconfirmed", "Confirm your email"), ("pending", "approve"),
])
def test_accounts_not_yet_or_no_longer_active_get_a_clear_reason(session, police, state, message):
    user = make_user(session, organisation=police)
    if state == "deactivated":
        user.is_active = False
    elif state == "unconfirmed":
        user.email_confirmed_at = None
    else:
        user.approved_at = None
    result = authenticate(session, user.email, PASSWORD, address="a", throttle=THROTTLE)
    assert result.user is None and message in result.error


def test_password_reset_changes_the_password_once_and_ends_sessions(session, police):
    user = make_user(session, organisation=police)
    epoch = user.session_epoch
    _, token = request_password_reset(session, user.email, timedelta(hours=2))
    reset_password(session, token, "a brand new passphrase here")
    assert user.session_epoch == epoch + 1
    assert authenticate(session, user.email, "a brand new passphrase here", address="a",
                        throttle=THROTTLE).user is user
    with pytest.raises(TokenError, match="already been used"):
        reset_password(session, token, "yet another passphrase now")


def test_reset_with_a_weak_password_keeps_the_token_usable(session, police):
    user = make_user(session, organisation=police)
    _, token = request_password_reset(session, user.email, timedelta(hours=2))
    with pytest.raises(AccountError):
        reset_password(session, token, "short")
    reset_password(session, token, "a brand new passphrase here")


def test_a_password_reset_revokes_every_other_reset_link(session, police):
    user = make_user(session, organisation=police)
    _, older = request_password_reset(session, user.email, timedelta(hours=2))
    _, newer = request_password_reset(session, user.email, timedelta(hours=2))
    reset_password(session, newer, "a brand new passphrase here")
    with pytest.raises(TokenError, match="expired"):
        reset_password(session, older, "an attacker's passphrase now")
    assert authenticate(session, user.email, "a brand new passphrase here", address="a",
                        throttle=THROTTLE).user is user


def test_changing_the_password_revokes_reset_links_sent_before(session, police):
    user = make_user(session, organisation=police)
    _, token = request_password_reset(session, user.email, timedelta(hours=2))
    change_password(session, user, PASSWORD, "a brand new passphrase here")
    with pytest.raises(TokenError, match="expired"):
        peek_token(session, token, TokenPurpose.PASSWORD_RESET)
    # A link asked for after the change works.
    _, later = request_password_reset(session, user.email, timedelta(hours=2))
    reset_password(session, later, "yet another passphrase here")


def test_deactivating_an_account_revokes_its_reset_links(session, police):
    admin = make_user(session, organisation=police, permissions={"admin"})
    user = make_user(session, organisation=police)
    _, token = request_password_reset(session, user.email, timedelta(hours=2))
    update_account(session, admin, user, AccountChanges(
        name=user.name, organisation_id=police.id, command_role=user.command_role,
        permissions=set(), is_active=False))
    with pytest.raises(TokenError, match="expired"):
        reset_password(session, token, "a brand new passphrase here")


def test_reset_requests_for_unknown_addresses_return_nothing(session):
    assert request_password_reset(session, "nobody@example.org", timedelta(hours=1)) is None


def test_change_password_checks_the_current_one(session, police):
    user = make_user(session, organisation=police)
    with pytest.raises(AccountError) as error:
        change_password(session, user, "not my password", "a brand new passphrase here")
    assert error.value.field == "current_password"
    change_password(session, user, PASSWORD, "a brand new passphrase here")
    assert user_for_session(session, f"{user.id}:{user.session_epoch - 1}") is None
    assert user_for_session(session, user.get_id()) is user


@pytest.mark.parametrize("session_id", ["", "abc", "1", "1:x", ":", "999999:0"])
def test_malformed_or_unknown_session_ids_load_nobody(session, session_id):
    assert user_for_session(session, session_id) is None


def test_only_one_first_administrator_can_be_made(session, police):
    token = issue_first_administrator_token(session)
    admin = create_first_administrator(
        session, token, email="admin@northshire.police.uk", name="Alex Admin",
        password=PASSWORD, organisation_id=police.id, command_role="staff")
    assert admin.is_admin and admin.can_sign_in
    assert issue_first_administrator_token(session) is None
    with pytest.raises(TokenError):
        create_first_administrator(
            session, token, email="second@northshire.police.uk", name="B", password=PASSWORD,
            organisation_id=police.id, command_role="staff")


def test_a_manager_cannot_hand_out_administrator(session, police):
    manager = make_user(session, organisation=police, permissions={"manager"})
    learner = make_user(session, organisation=police)
    changes = AccountChanges(name=learner.name, organisation_id=police.id,
                             command_role="tactical", permissions={"admin"})
    with pytest.raises(AccountError, match="Only an administrator"):
        update_account(session, manager, learner, changes)


def test_a_manager_cannot_touch_another_organisations_people(session, police):
    manager = make_user(session, organisation=police, permissions={"manager"})
    stranger = make_user(session)
    changes = AccountChanges(name="Renamed", organisation_id=stranger.organisation_id,
                             command_role="staff", permissions=set())
    with pytest.raises(PermissionError):
        update_account(session, manager, stranger, changes)
    with pytest.raises(PermissionError):
        approve_user(session, manager, stranger)


def test_administrators_keep_their_own_administrator_permission(session, police):
    admin = make_user(session, organisation=police, permissions={"admin"})
    changes = AccountChanges(name=admin.name, organisation_id=police.id,
                             command_role="staff", permissions=set())
    with pytest.raises(AccountError, match="your own administrator"):
        update_account(session, admin, admin, changes)


def test_an_administrator_makes_an_area_manager(session):
    from jesip_learn.accounts.organisations import area_named
    area, _ = area_named(session, "Testshire LRF", "England")
    session.flush()
    first = make_organisation(session, area_ids=[area.id])
    second = make_organisation(session, area_ids=[area.id])
    outside = make_organisation(session)
    admin = make_user(session, permissions={"admin"})
    person = make_user(session, organisation=first)
    update_account(session, admin, person, AccountChanges(
        name=person.name, organisation_id=first.id, command_role="strategic",
        permissions={"manager"}, manager_area_id=area.id))
    visible = search_users(session, person, UserSearch()).users
    in_second = make_user(session, organisation=second)
    in_outside = make_user(session, organisation=outside)
    visible = {u.id for u in search_users(session, person, UserSearch()).users}
    assert in_second.id in visible and person.id in visible and in_outside.id not in visible


def test_deactivation_ends_the_persons_sessions(session, police):
    admin = make_user(session, organisation=police, permissions={"admin"})
    person = make_user(session, organisation=police)
    session_id = person.get_id()
    update_account(session, admin, person, AccountChanges(
        name=person.name, organisation_id=police.id, command_role=person.command_role,
        permissions=set(), is_active=False))
    assert user_for_session(session, session_id) is None


def test_search_filters_by_text_permission_and_status(session, police):
    admin = make_user(session, organisation=police, permissions={"admin"},
                      name="Zed Administrator")
    trainer = make_user(session, organisation=police, permissions={"trainer"}, name="Tia Trainer")
    pending = make_user(session, organisation=police, name="Pat Pending")
    pending.approved_at = None
    assert [u.id for u in search_users(session, admin, UserSearch(
        text="tia")).users] == [trainer.id]
    assert [u.id for u in search_users(session, admin, UserSearch(
        permission="trainer")).users] == [trainer.id]
    assert [u.id for u in search_users(session, admin, UserSearch(
        status="pending")).users] == [pending.id]
    assert search_users(session, admin, UserSearch(text="%")).total == 0


def test_tokens_expire_at_the_lifetime_given(session, police):
    user = make_user(session, organisation=police)
    issue_token(session, TokenPurpose.PASSWORD_RESET, timedelta(hours=2), user)
    token = session.scalar(select(OneTimeToken))
    assert timedelta(hours=1, minutes=59) < token.expires_at - utcnow() <= timedelta(hours=2)
