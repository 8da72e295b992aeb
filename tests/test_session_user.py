"""The signed-in person, as every request loads them (`accounts.sign_in.user_for_session`):
one statement with their organisation and the names of their permissions, and without
their password hash or two-step secret, which load only when asked for."""

import pytest
from sqlalchemy import event, select

from jesip_learn.accounts import passwords
from jesip_learn.accounts.models import Organisation, PermissionGrant, User
from jesip_learn.accounts.sign_in import user_for_session
from tests.support.factories import PASSWORD, make_organisation, make_user


@pytest.fixture
def statements(session):
    sent = []

    def note(_connection, _cursor, statement, *_args):
        sent.append(statement)

    engine = session.connection().engine
    event.listen(engine, "before_cursor_execute", note)
    yield sent
    event.remove(engine, "before_cursor_execute", note)


def signed_in(session, user, statements=None):
    """The person as the next request loads them, from the database, not from this session;
    `statements`, if given, then holds only what loading them sent."""
    session_id = user.get_id()
    session.flush()
    session.expunge_all()
    if statements is not None:
        statements.clear()
    return user_for_session(session, session_id)


@pytest.mark.parametrize("permissions", [set(), {"trainer"}, {"manager", "trainer", "admin"}])
def test_one_statement_loads_the_person_their_organisation_and_permissions(
        session, organisation, statements, permissions):
    user = make_user(session, organisation=organisation, permissions=permissions)
    held = {grant.permission for grant in user.grants}
    loaded = signed_in(session, user, statements)
    assert loaded.permissions == held
    assert permissions <= loaded.permissions
    assert loaded.organisation.name == organisation.name
    assert loaded.is_admin == ("admin" in permissions)
    assert len(statements) == 1


def test_the_password_hash_and_two_step_secret_are_left_until_asked_for(
        session, organisation, statements):
    user = make_user(session, organisation=organisation, permissions={"manager"})
    secret = user.mfa_secret
    loaded = signed_in(session, user)
    assert "password_hash" not in loaded.__dict__ and "mfa_secret" not in loaded.__dict__
    statements.clear()
    assert passwords.verify_password(loaded.password_hash, PASSWORD)
    assert loaded.mfa_secret == secret
    assert len(statements) == 2


def test_grants_changed_after_loading_are_what_the_permissions_say(session, organisation):
    user = make_user(session, organisation=organisation, permissions={"trainer"})
    loaded = signed_in(session, user)
    loaded.grants.append(PermissionGrant(permission="admin"))
    assert loaded.permissions >= {"trainer", "admin"}
    trainer = next(grant for grant in loaded.grants if grant.permission == "trainer")
    loaded.grants.remove(trainer)
    session.flush()
    assert "trainer" not in loaded.permissions and loaded.is_admin
    assert "trainer" not in signed_in(session, loaded).permissions


def test_other_loads_of_people_leave_the_permission_names_out(session, organisation):
    user = make_user(session, organisation=organisation, permissions={"trainer"})
    session.flush()
    session.expunge_all()
    listed = session.scalars(select(User).where(User.id == user.id)).one()
    assert "permission_names" not in listed.__dict__
    assert "trainer" in listed.permissions


def test_the_organisation_loaded_with_them_is_the_sessions_own_and_can_change(
        session, organisation, statements):
    user = make_user(session, organisation=organisation)
    loaded = signed_in(session, user, statements)
    assert session.get(Organisation, organisation.id) is loaded.organisation
    assert len(statements) == 1
    assert not session.dirty  # loaded, not changed: nothing to save
    other = make_organisation(session, name="Southshire Fire", domains=["southshire.fire.uk"])
    loaded.organisation = other
    session.flush()
    moved = signed_in(session, loaded)
    assert moved.organisation_id == other.id and moved.organisation.name == "Southshire Fire"


def test_no_one_is_loaded_for_an_unknown_or_malformed_session(session, organisation):
    user = make_user(session, organisation=organisation)
    session.flush()
    assert user_for_session(session, f"{user.id + 1000}:0") is None
    for malformed in ("", "x:0", f"{user.id}", f"{user.id}:", ":0"):
        assert user_for_session(session, malformed) is None
