"""Who hears of an account waiting for approval, and how a decision names who made it."""

from __future__ import annotations

from jesip_learn.accounts.models import Area
from jesip_learn.accounts.registration import approvers_for, decider_in_words
from tests.support.factories import make_organisation, make_user


def test_managers_of_the_organisation_or_its_area_hear_of_it(session):
    area = Area(name="Northshire LRF", country="England")
    session.add(area)
    session.flush()
    home = make_organisation(session, name="Northshire Police", area_ids=[area.id])
    elsewhere = make_organisation(session, name="Southshire Police")
    person = make_user(session, organisation=home)
    own = make_user(session, organisation=home, permissions={"manager"})
    by_area = make_user(session, organisation=elsewhere, permissions={"manager"})
    by_area.manager_grant().organisation, by_area.manager_grant().area = None, area
    other = make_user(session, organisation=elsewhere, permissions={"manager"})
    gone = make_user(session, organisation=home, permissions={"manager"})
    gone.is_active = False
    make_user(session, organisation=elsewhere, permissions={"admin"})
    session.flush()
    assert {u.id for u in approvers_for(session, person)} == {own.id, by_area.id}
    assert other.id not in {u.id for u in approvers_for(session, person)}


def test_a_decision_names_a_manager_and_not_an_administrator(session):
    home = make_organisation(session, name="Northshire Police")
    manager = make_user(session, organisation=home, name="Mo Manager",
                        permissions={"manager"})
    admin = make_user(session, organisation=home, name="Ada Admin", permissions={"admin"})
    both = make_user(session, organisation=make_organisation(session), name="Bo Both",
                     permissions={"admin", "manager"})
    assert decider_in_words(session, manager, home) == (
        "Mo Manager (a manager of Northshire Police)")
    assert decider_in_words(session, admin, home) == "an administrator"
    # A manager elsewhere who decided as an administrator.
    assert decider_in_words(session, both, home) == "an administrator"
