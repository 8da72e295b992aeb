"""Records that travel: moves between organisations, checked against each organisation's
figures computed independently in plain Python; the retention purge and erasure, which
anonymise exactly the people they should and leave every figure as it was; and the subject
access export, which holds every record of the person and none of anyone else's."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from jesip_learn.accounts import transfers
from jesip_learn.accounts.administration import AccountChanges, update_account
from jesip_learn.accounts.details import AccountError
from jesip_learn.accounts.models import (
    LoginFailure,
    OneTimeToken,
    PermissionGrant,
    PreviousMembership,
    RecoveryCode,
    TokenPurpose,
    TwoStepPending,
    User,
)
from jesip_learn.accounts.organisations import area_named
from jesip_learn.accounts.permissions import (
    can_manage_user,
    manageable_user_ids,
    managed_organisation_ids,
)
from jesip_learn.accounts.user_search import UserSearch, search_users
from jesip_learn.compliance.dashboard import compliance_matrix
from jesip_learn.compliance.person_status import learner_statuses, person_statuses
from jesip_learn.compliance.report_filters import ReportFilters, end_of_day
from jesip_learn.core.db import Base
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import CourseEditor
from jesip_learn.exercises.live.models import LiveEvent, LiveParticipant, LiveSession
from jesip_learn.exercises.models import Exercise, ExerciseParticipant
from jesip_learn.learning import progress
from jesip_learn.learning.models import (
    Completion,
    ItemProgress,
    QuizAllowance,
    QuizAttempt,
    ScenarioRun,
)
from jesip_learn.notifications.models import Notice, NotificationPreference, ReportSubscription
from jesip_learn.records import personal_data as records
from jesip_learn.records.audit import record_event
from jesip_learn.records.models import Anonymisation, AuditEvent
from jesip_learn.sso.models import SsoIdentity, SsoProvider
from jesip_learn.xapi.models import XapiStatement
from tests.support.factories import make_organisation, make_user

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
START = datetime(2024, 1, 1, 9, tzinfo=UTC)
MOVE = datetime(2025, 6, 15, 12, tzinfo=UTC)


@pytest.fixture
def course(session):
    outcome, = courses.import_parsed(session, courses.parse_folders(VALID))
    return courses.find_version(session, outcome.code).course


def _complete(session, user, course, when, months=12):
    session.add(Completion(user_id=user.id, course_id=course.id,
                           version_id=course.published_version_id, completed_at=when,
                           expires_at=progress.add_months(when, months),
                           certificate_code=progress.new_certificate_code()))
    session.flush()


def _since(user, moment):
    user.created_at = user.approved_at = user.joined_at = moment


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


def _matrix_counts(session, scope, as_of: date) -> dict[tuple[int, str], int]:
    matrix = compliance_matrix(session, scope, ReportFilters(as_of=as_of))
    return {(int(row.key), state): number for row in matrix.rows
            for cell in row.cells.values() for state, number in cell.counts.items() if number}


def test_a_move_keeps_each_organisations_historic_and_current_figures_right(session, course):
    north, south = make_organisation(session), make_organisation(session)
    mover = make_user(session, organisation=north, name="Mo Mover")
    stay_north = make_user(session, organisation=north)
    stay_south = make_user(session, organisation=south)
    for person in (mover, stay_north, stay_south):
        _since(person, START)
    # The mover completed before the move (in date at the move) and again after it.
    before, after = MOVE - timedelta(days=200), MOVE + timedelta(days=300)
    _complete(session, mover, course, before)
    _complete(session, mover, course, after)
    _complete(session, stay_north, course, MOVE - timedelta(days=500))
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
        assert _matrix_counts(session, None, as_of) == expected, as_of
        for organisation in (north, south):  # each organisation's own report
            assert _matrix_counts(session, {organisation.id}, as_of) == {
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


# --- the retention purge ---------------------------------------------------------------------

NOW = datetime(2031, 6, 1, 12, tzinfo=UTC)


def _leaver(session, organisation, course, *, joined, left, name):
    person = make_user(session, organisation=organisation, name=name)
    _since(person, joined)
    _complete(session, person, course, joined + timedelta(days=30))
    if left is not None:
        person.is_active, person.deactivated_at = False, left
    session.flush()
    return person


def _personal_rows(session, person, course):
    session.add_all([
        RecoveryCode(user_id=person.id, code_hash="a" * 64),
        TwoStepPending(user_id=person.id, purpose="authenticator-key", value="JBSWY3DPEHPK3PXP",
                       expires_at=NOW + timedelta(hours=1)),
        OneTimeToken(purpose=TokenPurpose.PASSWORD_RESET, token_hash=f"{person.id:064d}",
                     user_id=person.id, expires_at=NOW),
        LoginFailure(email=person.email, address="192.0.2.1"),
        NotificationPreference(user_id=person.id, expiry_reminders=False),
        ScenarioRun(user_id=person.id, course_id=course.id,
                    version_id=course.published_version_id, item_slug="s", path=[],
                    methane={"m": ["Major incident declared by Sergeant Bloggs"] + [""] * 6},
                    result="pass", points=7),
    ])
    record_event(session, "sign_in.failed", subject=person, details={"email": person.email})
    # Refused sign-ins name no account, only the address typed.
    record_event(session, "sign_in.refused", details={"email": person.email})
    person.mfa_secret, person.mfa_enabled_at = "JBSWY3DPEHPK3PXP", NOW - timedelta(days=3000)


def test_the_purge_anonymises_exactly_the_leavers_past_retention_and_no_figure_changes(
        session, course):
    police = make_organisation(session)
    years_ago = {n: NOW - timedelta(days=365 * n + 2) for n in range(12)}
    old_leaver = _leaver(session, police, course, joined=years_ago[11], left=years_ago[7],
                         name="Olive Oldleaver")
    just_inside = _leaver(session, police, course, joined=years_ago[11],
                          left=NOW - timedelta(days=365 * 6 - 5), name="Ivy Inside")
    recent = _leaver(session, police, course, joined=years_ago[9], left=years_ago[2],
                     name="Rita Recent")
    staying = _leaver(session, police, course, joined=years_ago[10], left=None,
                      name="Stan Staying")
    refused = make_user(session, organisation=police, name="Rex Refused")
    refused.created_at, refused.approved_at, refused.is_active = years_ago[8], None, False
    mover = _leaver(session, police, course, joined=years_ago[11], left=years_ago[8],
                    name="Mona Moved")
    session.add(PreviousMembership(user_id=mover.id, organisation_id=police.id,
                                   command_role="staff", started_at=years_ago[11],
                                   ended_at=years_ago[10]))
    for person in (old_leaver, refused, recent):
        _personal_rows(session, person, course)
    old_email = old_leaver.email
    session.flush()
    past_retention = {old_leaver.id, refused.id, mover.id}
    dates = [years_ago[n].date() for n in (10, 9, 8, 7, 3, 1)] + [NOW.date()]
    before = {as_of: _matrix_counts(session, None, as_of) for as_of in dates}
    assert any(before.values())

    dry = records.purge(session, now=NOW, years=6, dry_run=True)
    assert {leaver.user_id for leaver in dry.leavers} == past_retention
    assert session.scalar(select(func.count()).select_from(Anonymisation)) == 0
    assert old_leaver.name == "Olive Oldleaver"

    result = records.purge(session, now=NOW, years=6)
    session.flush()
    session.expire_all()
    assert {leaver.user_id for leaver in result.leavers} == past_retention
    anonymised = set(session.scalars(select(Anonymisation.user_id)))
    assert anonymised == past_retention
    for person in (just_inside, recent, staying):
        assert not person.name.startswith("Former user")
    assert {as_of: _matrix_counts(session, None, as_of) for as_of in dates} == before

    old = session.get(User, old_leaver.id)
    assert old.name == f"Former user {old.id}"
    assert old.email == f"former-user-{old.id}@anonymised.invalid"
    assert old.password_hash == "" and old.mfa_secret is None and old.mfa_enabled_at is None
    for model in (RecoveryCode, TwoStepPending, OneTimeToken, NotificationPreference):
        assert session.scalar(select(func.count()).select_from(model)
                              .where(model.user_id == old.id)) == 0
    assert session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.email == old_email)) == 0
    assert session.scalar(select(func.count()).select_from(Completion)
                          .where(Completion.user_id == old.id)) == 1
    run = session.scalar(select(ScenarioRun).where(ScenarioRun.user_id == old.id))
    assert run.methane == {"m": [""] * 7} and run.points == 7 and run.result == "pass"
    everything_logged = json.dumps([(e.summary, e.details) for e in session.scalars(
        select(AuditEvent))])
    assert "Olive" not in everything_logged and "Rex Refused" not in everything_logged
    assert old_email not in everything_logged and recent.email in everything_logged
    # The others' details are untouched.
    assert session.scalar(select(func.count()).select_from(RecoveryCode)
                          .where(RecoveryCode.user_id == recent.id)) == 1
    assert session.scalar(select(func.count()).select_from(LoginFailure)
                          .where(LoginFailure.email == recent.email)) == 1
    purged = session.scalar(select(AuditEvent).where(AuditEvent.action == "records.purged"))
    assert purged.details["count"] == 3 and sorted(purged.details["user_ids"]) == sorted(
        past_retention)
    # Once done, nothing is left to purge.
    assert records.purge(session, now=NOW, years=6, dry_run=True).leavers == []


def test_the_retention_period_is_a_setting(session, course):
    police = make_organisation(session)
    person = _leaver(session, police, course, joined=NOW - timedelta(days=4000),
                     left=NOW - timedelta(days=365 * 3), name="Three Years")
    assert records.purge(session, now=NOW, years=6, dry_run=True).leavers == []
    assert [leaver.user_id for leaver in records.purge(
        session, now=NOW, years=2, dry_run=True).leavers] == [person.id]
    with pytest.raises(ValueError):
        records.retention_cutoff(NOW, 0)


# --- erasure on request ------------------------------------------------------------------------


def test_erasure_on_request_anonymises_and_is_recorded(session, course):
    police = make_organisation(session)
    admin = make_user(session, organisation=police, permissions={"admin"})
    person = make_user(session, organisation=police, name="Erin Erase")
    _complete(session, person, course, NOW - timedelta(days=10))
    with pytest.raises(records.ErasureError, match="reason"):
        records.erase_on_request(session, admin, person, reason="  ")
    with pytest.raises(records.ErasureError, match="The reason must not contain control"):
        records.erase_on_request(session, admin, person, reason="Asked\x1b[2J by letter")
    with pytest.raises(records.ErasureError, match="your own"):
        records.erase_on_request(session, admin, admin, reason="asked")
    records.refuse_erasure(session, admin, person, reason="Still employed: the force must "
                           "show the training")
    assert person.name == "Erin Erase"
    records.erase_on_request(session, admin, person, reason="Left the service; asked by letter")
    session.flush()
    assert person.name == f"Former user {person.id}" and not person.is_active
    assert person.deactivated_at is not None
    done = session.scalar(select(Anonymisation).where(Anonymisation.user_id == person.id))
    assert (done.grounds, done.actor_id) == ("request", admin.id)
    actions = set(session.scalars(select(AuditEvent.action)
                                  .where(AuditEvent.subject_user_id == person.id)))
    assert {"records.erasure_refused", "records.anonymised"} <= actions
    assert session.scalar(select(func.count()).select_from(Completion)
                          .where(Completion.user_id == person.id)) == 1
    with pytest.raises(records.ErasureError, match="already"):
        records.erase_on_request(session, admin, person, reason="again")
    # Nor can an administrator bring the nameless account back into the figures.
    with pytest.raises(AccountError, match="anonymised"):
        update_account(session, admin, person, AccountChanges(
            name="Erin Erase", organisation_id=police.id, command_role="operational",
            permissions=set(), is_active=True))
    assert not person.is_active


# --- subject access ------------------------------------------------------------------------------


def test_every_column_that_refers_to_a_person_is_exported_or_left_out_for_a_reason():
    referring = {(table.name, column.name) for table in Base.metadata.tables.values()
                 for column in table.columns for fk in column.foreign_keys
                 if fk.column.table.name == "users" and fk.column.name == "id"}
    assert referring, "no column refers to users.id?"
    uncovered = referring - set(records.EXPORTED) - set(records.NOT_EXPORTED)
    assert uncovered == set(), "add these to records.EXPORTED or records.NOT_EXPORTED"
    assert not set(records.EXPORTED) & set(records.NOT_EXPORTED)


def _everything_about(session, person, course, other):
    """A row for the person in every table the export covers."""
    request = transfers.request_transfer(session, person, organisation_id=other.organisation_id,
                                         command_role="staff")
    transfers.decline_transfer(session, other, request)
    session.add_all([
        PreviousMembership(user_id=person.id, organisation_id=person.organisation_id,
                           command_role="staff", started_at=START - timedelta(days=9),
                           ended_at=START - timedelta(days=8)),
        ItemProgress(user_id=person.id, course_id=course.id, item_slug=f"m{person.id}"),
        QuizAttempt(user_id=person.id, course_id=course.id,
                    version_id=course.published_version_id, item_slug="q", question_ids=["a"],
                    option_order={}, answers={"a": ["b"]}),
        QuizAllowance(user_id=person.id, course_id=course.id, item_slug="q", extra_attempts=1,
                      grants=1, granted_at=START, granted_by_id=other.id),
        ScenarioRun(user_id=person.id, course_id=course.id,
                    version_id=course.published_version_id, item_slug="s",
                    methane={"m": [f"METHANE by {person.name}"] + [""] * 6}),
        CourseEditor(course_id=course.id, user_id=person.id, role="editor",
                     granted_by_id=other.id),
        NotificationPreference(user_id=person.id),
        ReportSubscription(user_id=person.id, name=f"Report of {person.name}", file_format="csv",
                           frequency="weekly"),
        Notice(recipient_id=person.id, kind="reminder", subject_key=f"course:{person.id}",
               period="p", to_address=person.email, mail_subject="Reminder",
               text_body=f"Dear {person.name}", html_body=""),
        RecoveryCode(user_id=person.id, code_hash="c" * 64),
        OneTimeToken(purpose=TokenPurpose.PASSWORD_RESET, token_hash=f"{person.id:064d}",
                     user_id=person.id, expires_at=NOW),
        LoginFailure(email=person.email, address="192.0.2.7"),
        ExerciseParticipant(
            exercise=Exercise(title=f"Exercise {person.id}", held_on=date(2024, 1, 1),
                              kind="live", recorded_by_id=other.id,
                              organisations=[person.organisation, other.organisation]),
            user_id=person.id, role="staff", added_by_id=other.id,
            confirmed_by_id=other.id, confirmed_at=START),
        SsoIdentity(user_id=person.id, issuer="https://idp.example.org",
                    subject=f"subject-{person.id}",
                    provider=SsoProvider(name=f"Provider {person.id}", kind="oidc",
                                         issuer_url="https://idp.example.org",
                                         client_id="jesip-learn")),
        XapiStatement(statement_id=f"00000000-0000-0000-0000-{person.id:012d}",
                      statement={"actor": {"name": person.name,
                                           "account": {"homePage": "https://x.test",
                                                       "name": str(person.id)}}}),
    ])
    live = LiveSession(version_id=course.published_version_id, item_slug="x",
                       title=f"Live exercise {person.id}", facilitator_id=person.id,
                       organisation_id=person.organisation_id)
    session.add(live)
    session.flush()
    session.add_all([
        LiveParticipant(session_id=live.id, user_id=person.id, role_id="police-control",
                        invited_by_id=other.id),
        LiveEvent(session_id=live.id, seq=1, kind="message", clock=60, actor_id=person.id,
                  actor_role="police-control", text=f"Message from {person.id}"),
    ])
    _complete(session, person, course, START)
    session.flush()


def test_the_export_holds_every_record_of_the_person_and_none_of_anyone_elses(session, course):
    police, fire = make_organisation(session), make_organisation(session, service="fire")
    # Both are managers, so that each can decline the other's request to move.
    person = make_user(session, organisation=police, name="Sam Subject", permissions={"manager"})
    other = make_user(session, organisation=fire, name="Otto Other", permissions={"manager"})
    _everything_about(session, person, course, other)
    _everything_about(session, other, course, person)
    record_event(session, "account.updated", actor=other, subject=person, summary="changed")
    record_event(session, "account.updated", actor=person, subject=other, summary="theirs")

    export = records.subject_access(session, person)
    text = json.dumps(export)
    assert "Otto" not in text and other.email not in text
    assert "password_hash" not in text and "code_hash" not in text and "token_hash" not in text
    assert export["person"]["email"] == person.email
    tables = Base.metadata.tables
    for (table_name, column_name), (key, _title) in records.EXPORTED.items():
        table = tables[table_name]
        held = set(session.scalars(select(table.primary_key.columns[0])
                                   .where(table.c[column_name] == person.id)))
        if table_name == "audit_events":
            held |= set(session.scalars(select(AuditEvent.id).where(
                AuditEvent.actor_id == person.id, AuditEvent.subject_user_id.is_(None))))
        pk = table.primary_key.columns[0].name
        exported = {row[pk] for row in export["sections"][key]["rows"]}
        assert exported == held, table_name
        if table_name != "anonymisations":
            assert held, f"the test made no {table_name} row for the person"
    assert [row["address"] for row in export["sections"]["sign_in_failures"]["rows"]] == [
        "192.0.2.7"]
    statements = export["sections"]["learning_record_statements"]["rows"]
    assert [row["statement"]["actor"]["name"] for row in statements] == ["Sam Subject"]
    runs = export["sections"]["scenario_runs"]["rows"]
    assert runs[0]["methane"] == {"m": ["METHANE by Sam Subject"] + [""] * 6}
    assert [m["until"] is None for m in export["organisations"]] == [False, True]


def test_the_purge_command_has_a_dry_run_and_reads_the_retention_setting(app, session, make,
                                                                        organisation):
    leaver = make.user(organisation=organisation, name="Cleo Command")
    leaver.is_active, leaver.deactivated_at = False, NOW - timedelta(days=365 * 4)
    session.commit()
    runner = app.test_cli_runner()
    moment = NOW.isoformat()
    result = runner.invoke(args=["records", "purge", "--dry-run", "--now", moment])
    assert result.exit_code == 0 and "0 people left before 2025-06-01" in result.output
    app.config["RECORDS_RETENTION_YEARS"] = "3"
    result = runner.invoke(args=["records", "purge", "--dry-run", "--now", moment])
    assert f"account {leaver.id}\t" in result.output and "would be anonymised" in result.output
    session.expire_all()
    assert session.get(User, leaver.id).name == "Cleo Command"
    result = runner.invoke(args=["records", "purge", "--now", moment])
    assert result.exit_code == 0 and "1 person who left before 2028-06-01 anonymised" \
        in result.output
    session.expire_all()
    assert session.get(User, leaver.id).name == f"Former user {leaver.id}"
    app.config["RECORDS_RETENTION_YEARS"] = "0"
    result = runner.invoke(args=["records", "purge", "--dry-run"])
    assert result.exit_code != 0 and "at least 1" in result.output


def test_the_export_leaves_out_the_right_answers_of_quiz_statements(session):
    """The learning record store gets each question's right answer; the person's own copy
    of the statements does not, since a quiz may keep its answers until they pass."""
    person = make_user(session, name="Quinn Quizzer")
    answered = {
        "actor": {"name": person.name, "account": {"homePage": "https://x.test",
                                                   "name": str(person.id)}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": "https://x.test/learn/C/quizzes/q/questions/first",
                   "definition": {"interactionType": "choice",
                                  "choices": [{"id": "oa", "description": {"en-GB": "A"}},
                                              {"id": "ob", "description": {"en-GB": "B"}}],
                                  "correctResponsesPattern": ["oa"]}},
        "result": {"response": "ob", "success": False},
    }
    session.add(XapiStatement(statement_id="00000000-0000-0000-0000-000000000001",
                              statement=answered))
    session.flush()
    row, = records.subject_access(session, person)["sections"][
        "learning_record_statements"]["rows"]
    definition = row["statement"]["object"]["definition"]
    assert "correctResponsesPattern" not in definition
    assert definition["choices"] == answered["object"]["definition"]["choices"]
    assert row["statement"]["result"] == {"response": "ob", "success": False}
    stored = session.scalar(select(XapiStatement.statement))
    assert stored["object"]["definition"]["correctResponsesPattern"] == ["oa"]  # still sent
