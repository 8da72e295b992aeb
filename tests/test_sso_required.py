"""What an organisation that requires single sign-on refuses besides signing in with a
password (tests/test_sso_sign_in.py): registering with a password, resetting one,
changing one, and the link to choose one sent to people added by others.
Northshire Police (tests/conftest.py's `organisation`, domain northshire.police.uk) signs
in through `entra` and, in most tests, requires it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.administration import invite_user
from jesip_learn.accounts.models import OneTimeToken, User
from jesip_learn.accounts.own_account import change_password
from jesip_learn.accounts.password_reset import (
    request_password_reset,
    reset_password,
    usable_reset_link,
)
from jesip_learn.accounts.registration import register_user
from jesip_learn.accounts.tokens import TokenError
from jesip_learn.imports import bulk as bulk_import
from jesip_learn.records.models import AuditEvent
from jesip_learn.sso import providers as sso_providers
from jesip_learn.sso.providers import SingleSignOnRequired
from tests.support.bulk_import import TODAY, USERS_HEADER, dry_run
from tests.support.factories import PASSWORD, make_organisation, make_user


@pytest.fixture
def required(session, entra, admin, organisation):
    """Northshire Police requires single sign-on."""
    assert sso_providers.set_requirement(session, admin, organisation, True)
    session.flush()
    return organisation


def register(session, organisation, **overrides):
    details = {"name": "Sam Jones", "email": "sam.jones@northshire.police.uk",
               "password": PASSWORD, "organisation_id": organisation.id,
               "command_role": "tactical"}
    return register_user(session, **{**details, **overrides})


def people(session) -> int:
    return session.scalar(select(func.count()).select_from(User))


# --- requiring it ------------------------------------------------------------------------------


def test_requiring_it_signs_out_the_members_but_not_administrators_or_other_staff(
        session, entra, admin, organisation, other_organisation):
    members = [make_user(session, organisation=organisation, email=f"m{n}@northshire.police.uk")
               for n in range(2)]
    elsewhere = make_user(session, organisation=other_organisation, email="e@example.org")
    session.flush()
    epochs = {person.id: person.session_epoch for person in (*members, elsewhere, admin)}

    assert sso_providers.set_requirement(session, admin, organisation, True)
    session.flush()

    assert [person.session_epoch for person in members] == [epochs[p.id] + 1 for p in members]
    assert elsewhere.session_epoch == epochs[elsewhere.id]
    assert admin.session_epoch == epochs[admin.id]
    event = session.scalars(select(AuditEvent).where(
        AuditEvent.action == "sso.requirement_changed")).one()
    assert event.details == {"required": True, "members_signed_out": 2}


def test_allowing_passwords_again_signs_no_one_out(session, required):
    member = make_user(session, organisation=required)
    session.flush()
    epoch = member.session_epoch
    admin = session.scalars(select(User).where(User.name == "Alex Admin")).one()
    assert sso_providers.set_requirement(session, admin, required, False)
    session.flush()
    assert member.session_epoch == epoch


# --- registering ------------------------------------------------------------------------------


def test_an_address_at_the_organisations_domain_registers_no_account(session, required):
    before = people(session)
    with pytest.raises(SingleSignOnRequired) as refused:
        register(session, required)
    assert refused.value.field == "email" and refused.value.organisation == "Northshire Police"
    assert refused.value.message.startswith("Northshire Police signs its staff in to JESIP "
                                            "Learn with their work account")
    assert people(session) == before


def test_choosing_another_organisation_does_not_get_round_the_domain(session, required):
    elsewhere = make_organisation(session, name="Southshire Fire and Rescue Service")
    with pytest.raises(SingleSignOnRequired) as refused:
        register(session, elsewhere)
    assert refused.value.field == "email" and refused.value.organisation == "Northshire Police"


def test_choosing_the_organisation_with_another_address_registers_no_account(session, required):
    with pytest.raises(SingleSignOnRequired) as refused:
        register(session, required, email="sam.jones@example.org")
    assert refused.value.field == "organisation"


def test_the_refusal_is_the_same_whether_or_not_the_address_has_an_account(session, required):
    make_user(session, organisation=required, email="sam.jones@northshire.police.uk")
    with pytest.raises(SingleSignOnRequired) as taken:
        register(session, required)
    with pytest.raises(SingleSignOnRequired) as fresh:
        register(session, required, email="new.person@northshire.police.uk")
    assert taken.value.message == fresh.value.message and taken.value.field == fresh.value.field


def test_it_comes_before_the_password_is_judged(session, required):
    """No password is wanted at all: the person is not sent to choose a better one first."""
    with pytest.raises(SingleSignOnRequired):
        register(session, required, password="short")


def test_an_address_of_a_members_account_elsewhere_is_told_of_the_organisations_sign_in(
        session, required, other_organisation):
    """Neither the domain nor the choice requires single sign-on, but the address is a
    member's: as for any address with an account, nothing is made and its owner is emailed,
    about their organisation's sign-in rather than a password reset."""
    member = make_user(session, organisation=required, email="sam@example.org")
    registration = register(session, other_organisation, email="sam@example.org")
    assert registration.already_registered and registration.user is member
    assert registration.signs_in_with == "Northshire Police"
    assert register(session, other_organisation, email="new@example.org").signs_in_with == ""


def test_other_organisations_and_organisations_that_no_longer_require_it_register_as_before(
        session, required, admin):
    elsewhere = make_organisation(session, name="Westshire Police", domains=["westshire.police.uk"])
    assert register(session, elsewhere, email="jo@westshire.police.uk").confirmation_token
    assert sso_providers.set_requirement(session, admin, required, False)
    assert register(session, required).confirmation_token


# --- a forgotten password -----------------------------------------------------------------------

HOURS = timedelta(hours=2)


def actions(session, user) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_user_id == user.id, AuditEvent.action.like("password.%"))
        .order_by(AuditEvent.id)))


def test_a_member_who_forgot_their_password_is_told_to_sign_in_with_no_link(session, required):
    member = make_user(session, organisation=required)
    asked = request_password_reset(session, member.email, HOURS)
    assert asked.user is member and asked.token is None
    assert session.scalar(select(func.count()).select_from(OneTimeToken)) == 0
    assert actions(session, member) == ["password.reset_refused"]


def test_administrators_of_the_organisation_still_get_a_link(session, required, admin):
    asked = request_password_reset(session, admin.email, HOURS)
    assert asked.user is admin and asked.token
    assert usable_reset_link(session, asked.token).user is admin


def test_a_link_sent_before_the_organisation_required_it_is_refused(
        session, entra, admin, organisation):
    member = make_user(session, organisation=organisation)
    _, token = request_password_reset(session, member.email, HOURS)
    old_hash = member.password_hash
    assert sso_providers.set_requirement(session, admin, organisation, True)
    with pytest.raises(SingleSignOnRequired) as refused:
        usable_reset_link(session, token)
    assert refused.value.message.startswith("Northshire Police now signs its staff in to "
                                            "JESIP Learn with their work account, so this link")
    with pytest.raises(SingleSignOnRequired):
        reset_password(session, token, "a brand new passphrase here")
    assert member.password_hash == old_hash
    assert actions(session, member) == ["password.reset_requested"]


def test_a_link_that_was_never_valid_says_so_first(session, required):
    with pytest.raises(TokenError):
        usable_reset_link(session, "not a real token")


# --- changing a password ------------------------------------------------------------------------


def test_a_member_has_no_password_to_change(session, required):
    member = make_user(session, organisation=required)
    old_hash = member.password_hash
    with pytest.raises(SingleSignOnRequired) as refused:
        change_password(session, member, PASSWORD, "a brand new passphrase here")
    assert refused.value.message.startswith("Northshire Police signs its staff in to JESIP "
                                            "Learn with their work account, so you have no")
    assert member.password_hash == old_hash and actions(session, member) == []


def test_an_administrator_of_the_organisation_still_changes_theirs(session, required, admin):
    change_password(session, admin, PASSWORD, "a brand new passphrase here")
    assert actions(session, admin) == ["password.changed"]


# --- people added by others ---------------------------------------------------------------------


def invite(session, actor, organisation, permissions=frozenset(), email="nia@example.org"):
    return invite_user(session, actor, email=email, name="Nia Newcomer",
                       organisation_id=organisation.id, command_role="tactical",
                       permissions=set(permissions))


def tokens_of(session, user) -> int:
    return session.scalar(select(func.count()).select_from(OneTimeToken)
                          .where(OneTimeToken.user_id == user.id))


def test_a_person_invited_into_the_organisation_gets_no_link_to_choose_a_password(
        session, required):
    manager = make_user(session, organisation=required, permissions={"manager"})
    person, token = invite(session, manager, required)
    assert token is None and tokens_of(session, person) == 0
    assert person.shown_status == "invited" and person.password_hash == ""
    invited = session.scalar(select(AuditEvent).where(AuditEvent.action == "account.invited"))
    assert invited.summary == ("Nia Newcomer added and told to sign in with Northshire "
                               "Police’s account")


def test_an_administrator_invited_into_it_still_chooses_a_password(session, required, admin):
    person, token = invite(session, admin, required, {"admin"})
    assert token and usable_reset_link(session, token).user is person


def test_an_invitation_sent_before_the_organisation_required_it_is_refused(
        session, entra, admin, organisation):
    person, token = invite(session, admin, organisation)
    assert sso_providers.set_requirement(session, admin, organisation, True)
    with pytest.raises(SingleSignOnRequired):
        reset_password(session, token, "a brand new passphrase here")
    assert person.password_hash == ""


def test_people_imported_into_the_organisation_get_no_link(session, required, admin):
    make_organisation(session, name="Westshire Police")
    batch, plan = dry_run(session, admin, USERS_HEADER
                          + "Nia New,nia@northshire.police.uk,Northshire Police,staff\n"
                          + "Sol Else,sol@example.org,Westshire Police,staff\n")
    applied = bulk_import.apply_import(session, batch, admin, plan.digest, today=TODAY)
    links = {user.email: token for user, token in applied.new_accounts}
    assert links["nia@northshire.police.uk"] is None and links["sol@example.org"]
    nia = session.scalar(select(User).where(User.email == "nia@northshire.police.uk"))
    assert tokens_of(session, nia) == 0 and nia.shown_status == "invited"
