"""Bulk import of people and of completions: the dry run row by row, applying it exactly once,
and scope. Reading the file as a whole is in tests/test_bulk_import_files.py; applies at the
same moment against a database that commits for real in tests/test_bulk_import_races.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.details import find_user_by_email
from jesip_learn.accounts.models import (
    OneTimeToken,
    PermissionGrant,
    PreviousMembership,
    TokenPurpose,
    User,
)
from jesip_learn.accounts.password_reset import reset_password
from jesip_learn.accounts.sign_in import authenticate
from jesip_learn.accounts.throttle import DatabaseLoginThrottle, ThrottlePolicy
from jesip_learn.imports import bulk as bulk_import
from jesip_learn.imports import completions as completion_import
from jesip_learn.imports import people as people_import
from jesip_learn.imports.csv_files import ImportKind
from jesip_learn.imports.models import ImportBatch
from jesip_learn.imports.plan import Outcome
from jesip_learn.learning.models import Completion
from jesip_learn.records.models import AuditEvent
from tests.support.bulk_import import COMPLETIONS_HEADER, TODAY, USERS_HEADER, dry_run
from tests.support.factories import make_organisation, make_user


@pytest.fixture
def north(session):
    return make_organisation(session, name="Northshire Police")


@pytest.fixture
def south(session):
    return make_organisation(session, name="Southshire Fire and Rescue Service", service="fire")


@pytest.fixture
def admin(session, north):
    return make_user(session, organisation=north, permissions={"admin"}, name="Ada Admin")


@pytest.fixture
def manager(session, north):
    return make_user(session, organisation=north, permissions={"manager"}, name="Mo Manager")


def run(session, importer, text, kind=ImportKind.USERS, source="NCALT"):
    batch, plan = dry_run(session, importer, text, kind, source)
    applied = bulk_import.apply_import(session, batch, importer, plan.digest, today=TODAY)
    return plan, applied


def imports_events(session, importer):
    """The audit events the importer's imports recorded (not the importer's own creation)."""
    return sorted(session.scalars(select(AuditEvent.action).where(
        AuditEvent.actor_id == importer.id,
        AuditEvent.subject_user_id.is_distinct_from(importer.id))))


def outcomes(plan):
    return [row.outcome for row in plan.rows]


def errors(plan):
    return {row.line: row.errors for row in plan.rows if row.errors}


# --- people ----------------------------------------------------------------------------


def test_a_dry_run_says_what_each_row_would_do_and_changes_nothing(session, admin, north, south):
    make_user(session, organisation=north, email="same@example.org", name="Sam Same",
              command_role="tactical")
    make_user(session, organisation=north, email="moving@example.org", name="Mo Ving",
              command_role="operational")
    text = USERS_HEADER + (
        "New Person,New@Example.org,northshire police,Tactical commander\n"
        "Sam Same,SAME@example.org,Northshire Police,tactical\n"
        "Mo  Moved,moving@example.org,Southshire Fire and Rescue Service,CONTROL ROOM\n")
    count = session.scalar(select(func.count()).select_from(User))
    _, plan = dry_run(session, admin, text)
    assert outcomes(plan) == [Outcome.CREATE, Outcome.UNCHANGED, Outcome.UPDATE]
    assert plan.rows[2].changes == [
        "Name: Mo Ving → Mo Moved",
        "Organisation: Northshire Police → Southshire Fire and Rescue Service",
        "Command role: Operational commander → Control room"]
    assert plan.change_count == 2
    assert session.scalar(select(func.count()).select_from(User)) == count
    assert session.scalar(select(User.name).where(User.email == "moving@example.org")) == "Mo Ving"


def test_applying_creates_and_updates_exactly_what_the_dry_run_showed(session, admin, north,
                                                                      south):
    moving = make_user(session, organisation=north, email="moving@example.org",
                       command_role="operational")
    text = USERS_HEADER + ("New Person,new@example.org,Northshire Police,staff\n"
                           "Mo Moved,moving@example.org,Southshire Fire and Rescue Service,"
                           "strategic\n"
                           ",broken,Nowhere,captain\n")
    plan, applied = run(session, admin, text)
    assert (applied.created, applied.updated, applied.skipped) == (1, 1, 1)
    new = find_user_by_email(session, "new@example.org")
    assert new.name == "New Person" and new.organisation_id == north.id
    assert new.command_role == "staff" and new.permissions == {"learner"}
    assert new.status == "active" and new.approved_by_id == admin.id
    assert new.password_hash == ""
    assert (moving.name, moving.organisation_id, moving.command_role) == (
        "Mo Moved", south.id, "strategic")
    assert session.scalar(select(func.count()).select_from(User).where(
        User.email.in_(["new@example.org", "moving@example.org"]))) == 2
    assert imports_events(session, admin) == ["account.created", "account.moved",
                                              "account.updated", "import.users"]
    assert [(m.organisation_id, m.command_role) for m in session.scalars(
        select(PreviousMembership).where(PreviousMembership.user_id == moving.id))] == [
        (north.id, "operational")]
    summary = session.scalar(select(AuditEvent).where(AuditEvent.action == "import.users"))
    assert summary.details["created"] == 1 and summary.details["skipped"] == 1
    assert applied.batch.applied_at is not None and applied.batch.content == ""


def test_a_new_person_chooses_a_password_through_the_reset_link(session, admin, north):
    _, applied = run(session, admin, USERS_HEADER + "Nia New,nia@example.org,"
                     "Northshire Police,operational\n")
    (user, token), = applied.new_accounts
    throttle = DatabaseLoginThrottle(ThrottlePolicy(10, 50, bulk_import.BATCH_LIFETIME))
    cannot = authenticate(session, "nia@example.org", "", address="1.2.3.4",
                          throttle=throttle)
    assert cannot.user is None
    stored = session.scalar(select(OneTimeToken).where(OneTimeToken.user_id == user.id))
    assert stored.purpose == TokenPurpose.PASSWORD_RESET
    lifetime = stored.expires_at - stored.created_at
    assert abs(lifetime - people_import.ACCOUNT_SETUP_LIFETIME).total_seconds() < 5
    assert user.shown_status == "invited"
    reset_password(session, token, "granite kettle orbit lantern")
    assert user.shown_status == "active"
    signed_in = authenticate(session, "nia@example.org", "granite kettle orbit lantern",
                             address="1.2.3.4", throttle=throttle)
    assert signed_in.user.id == user.id


def test_the_optional_permissions_column_adds_permissions(session, admin, north, south):
    existing = make_user(session, organisation=north, email="tess@example.org", name="Tess T",
                         command_role="operational")
    text = ("name,email,organisation,command role,permissions\n"
            "Nia New,nia@example.org,Northshire Police,operational,\"Trainer, manager\"\n"
            "Tess T,tess@example.org,Northshire Police,operational,trainer\n"
            "Lee Learner,lee@example.org,Northshire Police,operational,\n"
            "Bad Perm,bad@example.org,Northshire Police,operational,captain\n")
    plan, applied = run(session, admin, text)
    assert outcomes(plan) == [Outcome.CREATE, Outcome.UPDATE, Outcome.CREATE, Outcome.ERROR]
    assert "Permissions: learner, manager, trainer" in plan.rows[0].changes
    assert plan.rows[1].changes == ["Permissions: adds trainer"]
    assert plan.rows[3].errors == [
        "“captain” is not a permission: use learner, trainer, manager or administrator"]
    nia = find_user_by_email(session, "nia@example.org")
    assert nia.permissions == {"learner", "trainer", "manager"}
    assert nia.manager_grant().organisation_id == north.id
    assert existing.permissions == {"learner", "trainer"}
    assert find_user_by_email(session, "lee@example.org").permissions == {"learner"}
    # The broken row is reported and nothing of it is lost: the others were applied.
    assert applied.skipped == 1 and find_user_by_email(session, "bad@example.org") is None


def test_a_manager_may_import_learners_only(session, manager, north):
    text = ("name,email,organisation,command role,permissions\n"
            "Nia New,nia@example.org,Northshire Police,operational,admin\n"
            "Lee Learner,lee@example.org,Northshire Police,operational,learner\n")
    _, plan = dry_run(session, manager, text)
    assert outcomes(plan) == [Outcome.ERROR, Outcome.CREATE]
    assert plan.rows[0].errors == ["Only administrators can make people administrators"]


def test_importing_the_same_file_again_changes_nothing(session, admin, north):
    text = USERS_HEADER + ("Ann Able,ann@example.org,Northshire Police,operational\n"
                           "Bo Bell,bo@example.org,Northshire Police,Staff (no command role)\n")
    run(session, admin, text)
    plan, applied = run(session, admin, text)
    assert outcomes(plan) == [Outcome.UNCHANGED, Outcome.UNCHANGED]
    assert (applied.created, applied.updated, applied.new_accounts) == (0, 0, ())
    assert session.scalar(select(func.count()).select_from(User).where(
        User.email.in_(["ann@example.org", "bo@example.org"]))) == 2


@pytest.mark.parametrize(("row", "expected"), [
    (",a@example.org,Northshire Police,staff", ["Name is missing"]),
    ("A B,,Northshire Police,staff", ["Email address is missing"]),
    ("A B,a@example.org,,staff", ["Organisation is missing"]),
    ("A B,a@example.org,Northshire Police,", ["Command role is missing"]),
    ("A B,not-an-email,Northshire Police,staff", ["“not-an-email” is not a valid email address"]),
    (f"{'x' * 201},a@example.org,Northshire Police,staff",
     ["Name must be 200 characters or fewer"]),
    ("A B,a@example.org,Westshire Police,staff",
     ["There is no organisation called “Westshire Police”"]),
    ("A B,a@example.org,Northshire Police,captain",
     ["“captain” is not a command role: use one of operational, tactical, strategic, "
      "control-room, staff"]),
    (",,,", None),  # an empty row is no row at all
])
def test_each_kind_of_row_error(session, admin, north, row, expected):
    text = USERS_HEADER + row + "\nFine Person,fine@example.org,Northshire Police,staff\n"
    _, plan = dry_run(session, admin, text)
    if expected is None:
        assert outcomes(plan) == [Outcome.CREATE]
    else:
        assert errors(plan) == {2: expected}
        assert outcomes(plan) == [Outcome.ERROR, Outcome.CREATE]


def test_an_inactive_organisation_is_refused(session, admin, south):
    south.is_active = False
    _, plan = dry_run(session, admin, USERS_HEADER + "A B,a@example.org,"
                      "Southshire Fire and Rescue Service,staff\n")
    assert errors(plan) == {2: ["Southshire Fire and Rescue Service is no longer active"]}


def test_the_same_email_twice_is_an_error_on_every_line(session, admin, north):
    text = USERS_HEADER + ("A One,dup@example.org,Northshire Police,staff\n"
                           "B Two,other@example.org,Northshire Police,staff\n"
                           "A Three,DUP@example.org,Northshire Police,staff\n")
    _, plan = dry_run(session, admin, text)
    assert errors(plan) == {
        2: ["The same email address is also on line 4: each person must be on one row only"],
        4: ["The same email address is also on line 2: each person must be on one row only"]}
    plan, applied = run(session, admin, text)
    assert applied.created == 1 and find_user_by_email(session, "dup@example.org") is None


def test_a_manager_imports_only_within_their_scope(session, manager, north, south):
    inside = make_user(session, organisation=north, email="in@example.org", name="In Side")
    make_user(session, organisation=south, email="out@example.org", name="Out Side")
    text = USERS_HEADER + (
        "New North,nn@example.org,Northshire Police,staff\n"
        "New South,ns@example.org,Southshire Fire and Rescue Service,staff\n"
        "Out Side,out@example.org,Northshire Police,staff\n"
        "In Side,in@example.org,Southshire Fire and Rescue Service,staff\n"
        "In Renamed,in@example.org,Northshire Police,operational\n")
    _, plan = dry_run(session, manager, text)
    assert errors(plan) == {
        3: ["Southshire Fire and Rescue Service is not an organisation you manage"],
        4: ["This email address belongs to an account in an organisation you do not manage"],
        5: ["Southshire Fire and Rescue Service is not an organisation you manage",
            "The same email address is also on line 6: each person must be on one row only"],
        6: ["The same email address is also on line 5: each person must be on one row only"]}
    plan, applied = run(session, manager, USERS_HEADER + (
        "New North,nn@example.org,Northshire Police,staff\n"
        "Out Side,out@example.org,Northshire Police,tactical\n"
        "In Renamed,in@example.org,Northshire Police,operational\n"))
    assert (applied.created, applied.updated, applied.skipped) == (1, 1, 1)
    out = find_user_by_email(session, "out@example.org")
    assert (out.organisation_id, out.command_role) == (south.id, "operational")
    assert inside.name == "In Renamed"


def test_an_area_manager_imports_into_every_organisation_of_the_area(session, north, south):
    from jesip_learn.accounts.organisations import area_named
    area, _ = area_named(session, "Testshire LRF", "England")
    south.areas.append(area)
    area_manager = make_user(session, organisation=north, permissions={"manager"})
    session.flush()
    grant = session.scalar(select(PermissionGrant).where(
        PermissionGrant.user_id == area_manager.id, PermissionGrant.permission == "manager"))
    grant.area = area
    session.flush()
    _, plan = dry_run(session, area_manager, USERS_HEADER + (
        "A B,ab@example.org,Southshire Fire and Rescue Service,staff\n"
        "C D,cd@example.org,Northshire Police,staff\n"))
    assert outcomes(plan) == [Outcome.CREATE, Outcome.ERROR]


# --- applying once ---------------------------------------------------------------------


def test_a_batch_applies_once(session, admin, north):
    batch, plan = dry_run(session, admin, USERS_HEADER + "A B,ab@example.org,"
                          "Northshire Police,staff\n")
    bulk_import.apply_import(session, batch, admin, plan.digest, today=TODAY)
    with pytest.raises(bulk_import.AlreadyApplied):
        bulk_import.apply_import(session, batch, admin, plan.digest, today=TODAY)
    assert session.scalar(select(func.count()).select_from(User).where(
        User.email == "ab@example.org")) == 1


def test_records_changed_since_the_dry_run_stop_the_import(session, admin, north):
    batch, plan = dry_run(session, admin, USERS_HEADER + "A B,ab@example.org,"
                          "Northshire Police,staff\nC D,cd@example.org,Northshire Police,staff\n")
    session.commit()
    make_user(session, organisation=north, email="ab@example.org", name="Someone Else")
    session.commit()
    with pytest.raises(bulk_import.PlanChanged):
        bulk_import.apply_import(session, batch, admin, plan.digest, today=TODAY)
    session.rollback()  # as the page does
    session.refresh(batch)
    assert batch.applied_at is None
    assert find_user_by_email(session, "cd@example.org") is None
    fresh = bulk_import.plan_import(session, batch, admin, today=TODAY)
    assert outcomes(fresh) == [Outcome.UPDATE, Outcome.CREATE]
    applied = bulk_import.apply_import(session, batch, admin, fresh.digest, today=TODAY)
    assert (applied.created, applied.updated) == (1, 1)


def test_a_tampered_digest_applies_nothing(session, admin, north):
    batch, _ = dry_run(session, admin, USERS_HEADER + "A B,ab@example.org,"
                       "Northshire Police,staff\n")
    with pytest.raises(bulk_import.PlanChanged):
        bulk_import.apply_import(session, batch, admin, "0" * 64, today=TODAY)


def test_only_the_importer_sees_a_batch_and_old_ones_expire(session, admin, manager, north):
    batch, plan = dry_run(session, admin, USERS_HEADER + "A B,ab@example.org,"
                          "Northshire Police,staff\n")
    assert bulk_import.importers_batch(session, admin, batch.id) is batch
    assert bulk_import.importers_batch(session, manager, batch.id) is None
    batch.created_at = datetime.now(UTC) - bulk_import.BATCH_LIFETIME * 2
    assert bulk_import.is_expired(batch)
    with pytest.raises(bulk_import.BatchExpired):
        bulk_import.apply_import(session, batch, admin, plan.digest, today=TODAY)
    session.flush()
    newer, _ = dry_run(session, admin, USERS_HEADER + "C D,cd@example.org,Northshire Police,"
                       "staff\n")
    # The old one was discarded when the next one came.
    assert list(session.scalars(select(ImportBatch))) == [newer]


# --- completions -----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-03-01", date(2024, 3, 1)),
    ("1/3/2024", date(2024, 3, 1)),
    ("31/03/2026", TODAY),
    ("2000-01-01", date(2000, 1, 1)),
])
def test_completion_dates_are_read_in_two_forms(text, expected):
    assert completion_import.parse_completion_date(text, TODAY) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("2026-04-01", "The completion date 1 April 2026 is in the future"),
    ("31/12/1999", "The completion date 31 December 1999 is too early: it must be "
                   "1 January 2000 or later"),
    ("31/02/2024", "“31/02/2024” is not a real date"),
    ("03-01-2024", "“03-01-2024” is not a date: write it as YYYY-MM-DD or DD/MM/YYYY"),
    ("yesterday", "“yesterday” is not a date"),
])
def test_bad_completion_dates(text, message):
    with pytest.raises(ValueError, match=message):
        completion_import.parse_completion_date(text, TODAY)


def test_completions_are_recorded_with_their_source_and_expiry(session, admin, north, course):
    person = make_user(session, organisation=north, email="pat@example.org")
    plan, applied = run(session, admin, COMPLETIONS_HEADER + "pat@example.org,jesip-aware,"
                        "31/01/2025\n", ImportKind.COMPLETIONS, source="NCALT")
    in_date, counted = plan.rows[0].changes
    assert in_date == "In date until 31 January 2026"
    assert counted.startswith("Counts in reports from 31 January 2025, the day of this "
                              "completion, instead of ")
    completion, = session.scalars(select(Completion).where(Completion.user_id == person.id))
    assert completion.course_id == course.id and completion.version_id is None
    assert completion.certificate_code is None and completion.source == "NCALT"
    assert completion.recorded_by_id == admin.id
    assert completion.completed_at == datetime(2025, 1, 31, 12, tzinfo=UTC)
    assert completion.expires_at == datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert applied.created == 1
    assert imports_events(session, admin) == ["account.updated", "completion.imported",
                                              "import.completions"]


def test_a_course_without_a_validity_period_never_expires(session, admin, north, course):
    course.published_version.validity_months = None
    make_user(session, organisation=north, email="pat@example.org")
    plan, _ = run(session, admin, COMPLETIONS_HEADER + "pat@example.org,JESIP-AWARE,"
                  "2025-01-31\n", ImportKind.COMPLETIONS)
    assert plan.rows[0].changes[0] == "Does not expire"
    assert session.scalar(select(Completion.expires_at)) is None


def test_completion_row_errors(session, manager, north, south, course):
    make_user(session, organisation=north, email="pat@example.org")
    make_user(session, organisation=south, email="sue@example.org")
    text = COMPLETIONS_HEADER + (
        "nobody@example.org,JESIP-AWARE,2025-01-01\n"
        "sue@example.org,JESIP-AWARE,2025-01-01\n"
        "pat@example.org,NO-SUCH,2025-01-01\n"
        "pat@example.org,JESIP-AWARE,2031-01-01\n"
        "not an email,JESIP-AWARE,\n"
        ",,2025-01-01\n"
        "pat@example.org,JESIP-AWARE,2025-01-01\n"
        "pat@example.org,jesip-aware,01/01/2025\n")
    _, plan = dry_run(session, manager, text, ImportKind.COMPLETIONS)
    assert errors(plan) == {
        2: ["There is no account with the email address nobody@example.org"],
        3: ["sue@example.org belongs to someone in an organisation you do not manage"],
        4: ["There is no course with the code “NO-SUCH”"],
        5: ["The completion date 1 January 2031 is in the future"],
        6: ["“not an email” is not a valid email address", "Completion date is missing"],
        7: ["Email address is missing", "Course code is missing"],
        9: ["This row repeats line 8"]}
    assert plan.rows[6].outcome == Outcome.CREATE


def test_completions_already_recorded_are_not_recorded_twice(session, admin, north, course):
    make_user(session, organisation=north, email="pat@example.org")
    text = COMPLETIONS_HEADER + ("pat@example.org,JESIP-AWARE,2025-01-31\n"
                                 "pat@example.org,JESIP-AWARE,2024-01-31\n")
    run(session, admin, text, ImportKind.COMPLETIONS, source="NCALT")
    plan, applied = run(session, admin, text, ImportKind.COMPLETIONS, source="ncalt")
    assert outcomes(plan) == [Outcome.RECORDED, Outcome.RECORDED]
    assert applied.created == 0 and plan.change_count == 0
    plan, _ = run(session, admin, text, ImportKind.COMPLETIONS, source="College of Policing")
    assert outcomes(plan) == [Outcome.CREATE, Outcome.CREATE]
    assert session.scalar(select(func.count()).select_from(Completion)) == 4
