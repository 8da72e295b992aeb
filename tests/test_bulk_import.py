"""Bulk import: reading the file, the dry run row by row, applying it exactly once, and scope."""

from __future__ import annotations

import codecs
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

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
from jesip_learn.core.db import Database
from jesip_learn.courses import catalogue as courses
from jesip_learn.imports import bulk as bulk_import
from jesip_learn.imports import completions as completion_import
from jesip_learn.imports import csv_files
from jesip_learn.imports import people as people_import
from jesip_learn.imports.csv_files import ImportFileError, ImportKind
from jesip_learn.imports.models import ImportBatch
from jesip_learn.imports.plan import Outcome
from jesip_learn.learning.models import Completion
from jesip_learn.records.models import AuditEvent
from tests.support.database import configured_url, drop_sibling_database, migrate, sibling_database
from tests.support.factories import make_organisation, make_user

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
TODAY = date(2026, 3, 31)
USERS_HEADER = "name,email,organisation,command role\n"
COMPLETIONS_HEADER = "email,course code,completion date\n"


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


@pytest.fixture
def course(session):
    outcome, = courses.import_parsed(session, courses.parse_folders(VALID))
    return courses.find_version(session, outcome.code).course


def read(text: str | bytes, kind=ImportKind.USERS, filename="people.csv"):
    data = text.encode() if isinstance(text, str) else text
    return csv_files.read_upload(filename, data, kind)


def dry_run(session, importer, text, kind=ImportKind.USERS, source="NCALT"):
    batch = bulk_import.start_import(session, importer, kind, "file.csv", read(text, kind),
                                     source)
    return batch, bulk_import.plan_import(session, batch, importer, today=TODAY)


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


# --- the file as a whole ---------------------------------------------------------------


def test_column_names_in_any_case_with_or_without_spaces_or_underscores():
    parsed = read(" NAME ,E-mail,Organisation,command_role,Notes\n"
                  "Ann Able,ann@example.org,Northshire Police,tactical,x\n")
    assert parsed.rows[0].values == {"name": "Ann Able", "email": "ann@example.org",
                                     "organisation": "Northshire Police",
                                     "command_role": "tactical", "joined": "", "left": "",
                                     "permissions": ""}
    assert parsed.ignored_columns == ("Notes",)
    parsed = read("Email,CourseCode,Completion Date\na@example.org,X,2024-01-01\n",
                  ImportKind.COMPLETIONS)
    assert parsed.rows[0].values["course_code"] == "X"


@pytest.mark.parametrize(("header", "message"), [
    ("name,email\n", "missing the columns “organisation” and “command role”"),
    ("name,email,organisation\n", "missing the column “command role”"),
    ("email,Email,name,organisation,command role\n", "has 2 columns called “email”"),
])
def test_missing_and_repeated_columns_are_named(header, message):
    with pytest.raises(ImportFileError) as refused:
        read(header + "a,b,c,d,e\n")
    assert message in refused.value.message


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("people.xlsx", b"name\n", "must be a CSV file"),
    ("people.csv", b"PK\x03\x04rest of a zip", "is a spreadsheet workbook"),
    ("people.csv", b"", "is empty"),
    ("people.csv", b" \r\n\r\n", "is empty"),
    ("people.csv", USERS_HEADER.encode(), "has no rows below its header row"),
    ("people.csv", USERS_HEADER.encode() + b",,,\n", "has no rows below its header row"),
    ("people.csv", USERS_HEADER.encode() + b"a\x00b,c,d,e\n", "binary data"),
    ("people.csv", USERS_HEADER.encode() + "Zoë".encode("cp1252") + b"\x81,a,b,c\n",
     "characters in the selected file cannot be read"),
    ("people.csv", b"x" * (csv_files.MAX_BYTES + 1), "must be smaller than 2 MB"),
])
def test_files_that_cannot_be_imported_are_refused_clearly(filename, data, message):
    with pytest.raises(ImportFileError) as refused:
        csv_files.read_upload(filename, data, ImportKind.USERS)
    assert message in refused.value.message
    assert refused.value.field == "file"


def test_more_rows_than_the_limit_are_refused_with_the_count():
    rows = "".join(f"P {n},p{n}@example.org,Org,staff\n" for n in range(csv_files.MAX_ROWS + 2))
    with pytest.raises(ImportFileError) as refused:
        read(USERS_HEADER + rows)
    assert "has 5,002 rows. Import at most 5,000 rows" in refused.value.message
    rows = "".join(f"P {n},p{n}@example.org,Org,staff\n" for n in range(csv_files.MAX_ROWS))
    assert len(read(USERS_HEADER + rows).rows) == csv_files.MAX_ROWS


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_utf8_with_or_without_bom_and_windows_1252_are_read(encoding):
    parsed = read((USERS_HEADER + "Zoë Ørsted,zoe@example.org,Org,staff\n").encode(encoding))
    assert parsed.rows[0].values["name"] == "Zoë Ørsted"


def test_utf16_tab_separated_and_semicolon_files_are_read():
    text = "name\temail\torganisation\tcommand role\nZoë\tz@example.org\tOrg\tstaff\n"
    parsed = read(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert parsed.rows[0].values["name"] == "Zoë"
    parsed = read("name;email;organisation;command role\nA B;a@example.org;Org;staff\n")
    assert parsed.rows[0].values["email"] == "a@example.org"


def test_line_numbers_count_blank_lines_and_quoted_line_breaks():
    parsed = read(USERS_HEADER + "\n" + '"Ann\nAble",a@example.org,Org,staff\n'
                  + ",,,\n" + "Bo,b@example.org,Org,staff\n")
    assert [row.line for row in parsed.rows] == [3, 6]


def test_the_source_of_completions_is_required_and_limited():
    assert csv_files.check_source("  NCALT   e-learning ") == "NCALT e-learning"
    for bad, message in (("", "Enter where"), ("x" * 201, "200 characters or fewer")):
        with pytest.raises(ImportFileError) as refused:
            csv_files.check_source(bad)
        assert refused.value.field == "source" and message in refused.value.message


def test_templates_name_the_columns():
    assert csv_files.template_csv(ImportKind.USERS) == (
        "name,email,organisation,command role,joined,left,permissions\r\n")
    assert csv_files.template_csv(ImportKind.COMPLETIONS) == (
        "email,course code,completion date\r\n")


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


# --- at the same moment, against a real database -------------------------------------------


@pytest.fixture
def real_database(tmp_path):
    """A database of the kind the suite runs on, committed to for real (no rollback)."""
    url = configured_url()
    url = sibling_database(url, "imports") if url else f"sqlite:///{tmp_path / 'imports.db'}"
    migrate(url)
    database = Database(url)
    yield database
    database.engine.dispose()
    if not url.startswith("sqlite"):
        drop_sibling_database(url)


def test_applies_at_the_same_moment_never_import_twice(real_database):
    """The same check applied twice at once (a double click), and a second upload of the
    same files applied alongside: every person and completion exists exactly once."""
    people = "".join(f"Person {n},p{n}@example.org,Concurrent Police,staff\n" for n in range(20))
    done = "".join(f"p{n}@example.org,JESIP-AWARE,2025-01-{n + 1:02d}\n" for n in range(20))
    with real_database.write_session() as session:
        organisation = make_organisation(session, name="Concurrent Police")
        courses.import_parsed(session, courses.parse_folders(VALID))
        admin = make_user(session, organisation=organisation, permissions={"admin"})
        admin_id = admin.id
    for kind, text in ((ImportKind.USERS, USERS_HEADER + people),
                       (ImportKind.COMPLETIONS, COMPLETIONS_HEADER + done)):
        with real_database.write_session() as session:
            admin = session.get(User, admin_id)
            checks = [dry_run(session, admin, text, kind) for _ in range(2)]
            assert all(plan.change_count == 20 for _, plan in checks)
            round_jobs = [(batch.id, plan.digest) for batch, plan in checks] * 2
        barrier = threading.Barrier(len(round_jobs))
        results: list[str] = []

        def apply(batch_id, digest, barrier=barrier, results=results):
            barrier.wait()
            try:
                with real_database.write_session() as session:
                    batch = session.get(ImportBatch, batch_id)
                    importer = session.get(User, admin_id)
                    bulk_import.apply_import(session, batch, importer, digest, today=TODAY)
                results.append("applied")
            except bulk_import.AlreadyApplied:
                results.append("already applied")
            except (bulk_import.PlanChanged, IntegrityError):
                results.append("changed")

        threads = [threading.Thread(target=apply, args=job) for job in round_jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        # One check is applied, and its twin finds it done; the other upload, whichever of
        # its twins gets there, finds that the records changed under it.
        assert sorted(results) == ["already applied", "applied", "changed", "changed"]

    with real_database.session() as session:
        assert session.scalar(select(func.count()).select_from(User).where(
            User.id != admin_id)) == 20
        assert session.scalar(select(func.count()).select_from(Completion)) == 20
        assert session.scalar(select(func.count()).select_from(ImportBatch).where(
            ImportBatch.applied_at.is_not(None))) == 2
