"""Records that travel: moves between organisations, checked against each organisation's
figures computed independently in plain Python; who manages a person after a move, and what
becomes of a manager's own management when they move; requests to move, and who decides."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from jesip_learn.accounts import transfers
from jesip_learn.accounts.administration import AccountChanges, update_account
from jesip_learn.accounts.details import AccountError
from jesip_learn.accounts.models import PermissionGrant, PreviousMembership
from jesip_learn.accounts.organisations import area_named
from jesip_learn.accounts.permissions import (
    can_manage_user,
    manageable_user_ids,
    managed_organisation_ids,
)
from jesip_learn.accounts.user_search import UserSearch, search_users
from jesip_learn.compliance.person_status import learner_statuses, person_statuses
from jesip_learn.compliance.report_filters import ReportFilters, end_of_day
from jesip_learn.learning import progress
from jesip_learn.records.models import AuditEvent
from tests.support.factories import make_organisation, make_user
from tests.support.records import START, complete, matrix_counts, since

MOVE = datetime(2025, 6, 15, 12, tzinfo=UTC)


# --- moves and each organisation's figures -------------------------------------------------


def _expected(people, as_of: date, expiring_days=90) -> dict[tuple[int, str], int]:
    """(organisation id, state) → people, from the test's own account of who was where and
    what they had done: no SQL."""
    moment = end_of_day(as_of)
    counts: dict[tuple[int, str], int] = {}
    for person in people:
        organisation = next((org for org, start, end in person["where"]
                             if start <= moment and (end is None or moment < end)), None)
        if organisation is None:
            continue
        done = [c for c in person["completions"] if c[0] <= moment]
        if not done:
            state = "not-started"
        else:
            expires = max(done)[1]
            state = ("expired" if expires <= moment else "expiring"
                     if expires <= moment + timedelta(days=expiring_days) else "in-date")
        counts[(organisation, state)] = counts.get((organisation, state), 0) + 1
    return counts


def test_a_move_keeps_each_organisations_historic_and_current_figures_right(session, course):
    north, south = make_organisation(session), make_organisation(session)
    mover = make_user(session, organisation=north, name="Mo Mover")
    stay_north = make_user(session, organisation=north)
    stay_south = make_user(session, organisation=south)
    for person in (mover, stay_north, stay_south):
        since(person, START)
    # The mover completed before the move (in date at the move) and again after it.
    before, after = MOVE - timedelta(days=200), MOVE + timedelta(days=300)
    complete(session, mover, course, before)
    complete(session, mover, course, after)
    complete(session, stay_north, course, MOVE - timedelta(days=500))
    session.flush()
    transfers.move_user(session, None, mover, south, at=MOVE)
    session.flush()

    def expiry(moment):
        return progress.add_months(moment, 12)
    people = [
        {"where": [(north.id, START, MOVE), (south.id, MOVE, None)],
         "completions": [(before, expiry(before)), (after, expiry(after))]},
        {"where": [(north.id, START, None)],
         "completions": [(MOVE - timedelta(days=500), expiry(MOVE - timedelta(days=500)))]},
        {"where": [(south.id, START, None)], "completions": []},
    ]
    days = [date(2024, 6, 30), date(2025, 3, 31), MOVE.date() - timedelta(days=1),
            MOVE.date(), date(2025, 12, 31), date(2026, 5, 31)]
    for as_of in days:
        expected = _expected(people, as_of)
        assert matrix_counts(session, None, as_of) == expected, as_of
        for organisation in (north, south):  # each organisation's own report
            assert matrix_counts(session, {organisation.id}, as_of) == {
                key: n for key, n in expected.items() if key[0] == organisation.id}, as_of
    # The old organisation's report before the move counts the mover, in date, there.
    day_before = MOVE.date() - timedelta(days=1)
    rows = learner_statuses(session, {north.id}, ReportFilters(as_of=day_before)).rows
    assert {(row.name, row.organisation, row.state) for row in rows if row.name == "Mo Mover"} \
        == {("Mo Mover", north.name, "in-date")}
    rows = learner_statuses(session, {north.id}, ReportFilters(as_of=MOVE.date())).rows
    assert "Mo Mover" not in {row.name for row in rows}
    # Their record page as of before the move shows where they stood then.
    statuses = person_statuses(session, mover, ReportFilters(as_of=day_before))
    assert [(s.organisation, s.state) for s in statuses] == [(north.name, "in-date")]


def test_after_a_move_the_old_managers_no_longer_see_the_person(session):
    north, south = make_organisation(session), make_organisation(session)
    old_manager = make_user(session, organisation=north, permissions={"manager"})
    new_manager = make_user(session, organisation=south, permissions={"manager"})
    mover = make_user(session, organisation=north)
    assert can_manage_user(session, old_manager, mover)
    transfers.move_user(session, None, mover, south)
    assert not can_manage_user(session, old_manager, mover)
    assert can_manage_user(session, new_manager, mover)
    assert manageable_user_ids(session, old_manager, [mover.id]) == set()
    assert manageable_user_ids(session, new_manager, [mover.id]) == {mover.id}
    history = transfers.membership_history(session, mover)
    assert [(m.organisation.id, m.ended_at is None) for m in history] == [
        (north.id, False), (south.id, True)]


def test_an_administrators_change_of_organisation_is_a_move(session):
    north, south = make_organisation(session), make_organisation(session)
    admin = make_user(session, organisation=north, permissions={"admin"})
    mover = make_user(session, organisation=north, command_role="tactical")
    update_account(session, admin, mover, AccountChanges(
        name=mover.name, organisation_id=south.id, command_role="strategic",
        permissions={"learner"}))
    session.flush()
    previous = session.scalars(select(PreviousMembership)
                               .where(PreviousMembership.user_id == mover.id)).all()
    assert [(p.organisation_id, p.command_role) for p in previous] == [(north.id, "tactical")]
    assert mover.organisation_id == south.id and mover.command_role == "strategic"
    moved = session.scalar(select(AuditEvent).where(AuditEvent.action == "account.moved",
                                                    AuditEvent.subject_user_id == mover.id))
    assert moved.actor_id == admin.id and moved.organisation_id == south.id


def test_a_manager_who_moves_stops_managing_the_organisation_they_left(session):
    north, south = make_organisation(session), make_organisation(session)
    manager = make_user(session, organisation=north, permissions={"manager"})
    manager.manager_grant().organisation_id = north.id
    session.flush()
    transfers.move_user(session, None, manager, south)
    assert manager.manager_grant() is None


def test_a_manager_whose_move_is_approved_manages_no_one_in_the_new_organisation(session):
    """The finding: a manager asked to move, the receiving organisation's manager approved,
    and the mover managed the receiving organisation's people from then on."""
    north, south = make_organisation(session), make_organisation(session)
    mover = make_user(session, organisation=north, permissions={"manager"})
    assert mover.manager_grant().organisation is north  # a grant names what it manages
    receiving = make_user(session, organisation=south, permissions={"manager"})
    stranger = make_user(session, organisation=south)
    request = transfers.request_transfer(session, mover, organisation_id=south.id,
                                         command_role="staff")
    transfers.approve_transfer(session, receiving, request, address="192.0.2.1")
    session.flush()
    assert mover.organisation_id == south.id and mover.manager_grant() is None
    assert managed_organisation_ids(session, mover) == set()
    assert not can_manage_user(session, mover, stranger)
    assert search_users(session, mover, UserSearch()).users == []
    ended = session.scalar(select(AuditEvent).where(
        AuditEvent.action == "account.manager_ended", AuditEvent.subject_user_id == mover.id))
    assert ended.actor_id == receiving.id and ended.organisation_id == north.id
    assert ended.summary == f"Stopped managing {north.name} on moving to {south.name}"
    assert ended.details["organisation_id"] == north.id and ended.address == "192.0.2.1"


def test_an_area_manager_who_moves_stops_managing_the_area(session):
    area, _ = area_named(session, "Moveshire LRF", "England")
    session.flush()
    north = make_organisation(session, area_ids=[area.id])
    south = make_organisation(session, area_ids=[area.id])
    admin = make_user(session, permissions={"admin"})
    mover = make_user(session, organisation=north)
    update_account(session, admin, mover, AccountChanges(
        name=mover.name, organisation_id=north.id, command_role="strategic",
        permissions={"manager"}, manager_area_id=area.id))
    session.flush()
    assert managed_organisation_ids(session, mover) == {north.id, south.id}
    transfers.move_user(session, admin, mover, south)
    session.flush()
    assert managed_organisation_ids(session, mover) == set()
    assert session.scalar(select(AuditEvent.summary).where(
        AuditEvent.action == "account.manager_ended")) == (
        f"Stopped managing Moveshire LRF on moving to {south.name}")


def test_a_grant_that_names_nothing_manages_nothing(session):
    """Never the person's own organisation, which changes when they move; and the database
    refuses such a grant."""
    person = make_user(session)
    person.grants.append(PermissionGrant(permission="manager"))
    assert managed_organisation_ids(session, person) == set()
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_an_administrator_moving_a_manager_decides_again_whether_they_manage(session):
    north, south = make_organisation(session), make_organisation(session)
    admin = make_user(session, organisation=north, permissions={"admin"})
    manager = make_user(session, organisation=north, permissions={"manager"})
    carried_over = AccountChanges(name=manager.name, organisation_id=south.id,
                                  command_role="staff",
                                  permissions={"learner", "manager"})
    with pytest.raises(AccountError) as refused:
        update_account(session, admin, manager, carried_over)
    assert refused.value.field == "permissions"
    assert str(refused.value) == (
        f"Moving {manager.name} to {south.name} ends their management of {north.name}. "
        f"Untick Manager to move them, then give the permission again if they are to "
        f"manage in {south.name}.")
    assert manager.organisation_id == north.id
    update_account(session, admin, manager, AccountChanges(
        name=manager.name, organisation_id=south.id, command_role="staff",
        permissions={"learner"}))
    session.flush()
    assert manager.manager_grant() is None and manager.organisation_id == south.id
    update_account(session, admin, manager, AccountChanges(
        name=manager.name, organisation_id=south.id, command_role="staff",
        permissions={"learner", "manager"}))
    session.flush()
    assert managed_organisation_ids(session, manager) == {south.id}


def test_a_learner_asks_to_move_and_a_manager_of_the_receiving_organisation_decides(session):
    north, south, west = (make_organisation(session) for _ in range(3))
    learner = make_user(session, organisation=north)
    south_manager = make_user(session, organisation=south, permissions={"manager"})
    west_manager = make_user(session, organisation=west, permissions={"manager"})
    with pytest.raises(transfers.TransferError, match="already belong"):
        transfers.request_transfer(session, learner, organisation_id=north.id,
                                   command_role="staff")
    with pytest.raises(transfers.TransferError, match="command role"):
        transfers.request_transfer(session, learner, organisation_id=south.id,
                                   command_role="chief")
    request = transfers.request_transfer(session, learner, organisation_id=south.id,
                                         command_role="staff")
    with pytest.raises(transfers.TransferError, match="already asked"):
        transfers.request_transfer(session, learner, organisation_id=west.id,
                                   command_role="staff")
    assert transfers.requests_to_decide(session, south_manager) == [request]
    assert transfers.requests_to_decide(session, west_manager) == []
    with pytest.raises(PermissionError):
        transfers.approve_transfer(session, west_manager, request)
    transfers.approve_transfer(session, south_manager, request)
    assert learner.organisation_id == south.id and learner.command_role == "staff"
    assert request.status == "approved" and request.decided_by_id == south_manager.id
    with pytest.raises(transfers.TransferError, match="already been dealt with"):
        transfers.decline_transfer(session, south_manager, request)
    actions = set(session.scalars(select(AuditEvent.action)
                                  .where(AuditEvent.subject_user_id == learner.id)))
    assert {"transfer.requested", "account.moved", "transfer.approved"} <= actions

    again = transfers.request_transfer(session, learner, organisation_id=west.id,
                                       command_role="staff")
    transfers.decline_transfer(session, west_manager, again)
    assert again.status == "declined" and learner.organisation_id == south.id
    cancelled = transfers.request_transfer(session, learner, organisation_id=west.id,
                                           command_role="staff")
    transfers.cancel_request(session, learner)
    assert cancelled.status == "cancelled" and transfers.pending_request(session, learner) is None
