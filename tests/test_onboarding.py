"""Onboarding an organisation: the people import's joined and left dates, imported
completions moving the start of a person's membership back, and the reports "as of" past
dates counting people from when they joined rather than from when their account was made."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from jesip_learn.accounts import transfers
from jesip_learn.accounts.models import OneTimeToken, PreviousMembership, User
from jesip_learn.compliance.dashboard import compliance_matrix
from jesip_learn.compliance.person_status import iter_learner_statuses
from jesip_learn.compliance.report_filters import ReportFilters
from jesip_learn.courses import catalogue as courses
from jesip_learn.imports import bulk as bulk_import
from jesip_learn.imports import csv_files
from jesip_learn.imports import dates as import_dates
from jesip_learn.imports.csv_files import ImportKind
from jesip_learn.imports.plan import Outcome
from jesip_learn.records.models import AuditEvent
from tests.support.factories import make_organisation, make_user

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
TODAY = date(2026, 3, 31)
USERS_HEADER = "name,email,organisation,command role,joined,left\n"
COMPLETIONS_HEADER = "email,course code,completion date\n"


@pytest.fixture
def north(session):
    return make_organisation(session, name="Northshire Police")


@pytest.fixture
def south(session):
    return make_organisation(session, name="Southshire Police")


@pytest.fixture
def admin(session, north):
    return make_user(session, organisation=north, permissions={"admin"}, name="Ada Admin")


@pytest.fixture
def course(session):
    outcome, = courses.import_parsed(session, courses.parse_folders(VALID))
    return courses.find_version(session, outcome.code).course


def dry_run(session, importer, text, kind=ImportKind.USERS):
    parsed = csv_files.read_upload("file.csv", text.encode(), kind)
    batch = bulk_import.start_import(session, importer, kind, "file.csv", parsed, "NCALT")
    return batch, bulk_import.plan_import(session, batch, importer, today=TODAY)


def run(session, importer, text, kind=ImportKind.USERS):
    batch, plan = dry_run(session, importer, text, kind)
    applied = bulk_import.apply_import(session, batch, importer, plan.digest, today=TODAY)
    session.flush()
    return plan, applied


def person(session, email) -> User:
    session.expire_all()
    return session.scalar(select(User).where(User.email == email))


def day_start(day: date) -> datetime:
    """The first moment of a UK day, worked out here rather than by the code under test."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)


def counted(session, as_of: date) -> set[str]:
    """The names the detail report lists as of a date, for every organisation."""
    return {row.name for row in iter_learner_statuses(
        session, None, ReportFilters(as_of=as_of))}


# --- reading the dates --------------------------------------------------------------------


def test_the_joined_and_left_columns_are_optional_and_listed_in_the_template():
    parsed = csv_files.read_upload("p.csv", b"name,email,organisation,command role\n"
                                   b"A B,a@example.org,Northshire Police,staff\n",
                                   ImportKind.USERS)
    assert parsed.rows[0].values["joined"] == parsed.rows[0].values["left"] == ""
    assert csv_files.template_csv(ImportKind.USERS).startswith(
        "name,email,organisation,command role,joined,left")
    with pytest.raises(csv_files.ImportFileError) as refused:
        csv_files.read_upload("p.csv", b"name,email,joined\nA,a@example.org,2020-01-01\n",
                              ImportKind.USERS)
    assert refused.value.message.endswith(
        "Its first row must name the columns: name, email, organisation, command role.")


@pytest.mark.parametrize(("joined", "left", "message"), [
    ("2020-02-30", "", "“2020-02-30” is not a real date"),
    ("soon", "", "“soon” is not a date: write it as YYYY-MM-DD or DD/MM/YYYY"),
    ("2026-04-01", "", "The joined date 1 April 2026 is in the future"),
    ("", "01/04/2026", "The leaving date 1 April 2026 is in the future"),
    ("1949-12-31", "", "The joined date 31 December 1949 is too early: it must be "
                       "1 January 1950 or later"),
    ("2024-05-01", "2024-04-30", "The leaving date 30 April 2024 is before the joined date "
                                 "1 May 2024"),
])
def test_bad_dates_are_row_errors(session, admin, north, joined, left, message):
    _, plan = dry_run(session, admin, USERS_HEADER + (
        f"Ann Able,ann@example.org,Northshire Police,staff,{joined},{left}\n"))
    assert plan.rows[0].outcome == Outcome.ERROR
    assert plan.rows[0].errors == [message]


def test_a_joined_date_a_career_ago_is_accepted_in_either_form(session, admin, north):
    _, plan = dry_run(session, admin, USERS_HEADER + (
        "Ann Able,ann@example.org,Northshire Police,staff,01/09/1988,\n"
        "Bo Bell,bo@example.org,Northshire Police,staff,2024-04-01,31/03/2026\n"))
    assert [row.outcome for row in plan.rows] == [Outcome.CREATE, Outcome.CREATE]
    assert plan.rows[0].changes == ["Joined on 1 September 1988"]
    assert plan.rows[1].changes == ["Joined on 1 April 2024", "Last day 31 March 2026: the "
                                    "account is made deactivated and no email is sent"]


# --- new people ---------------------------------------------------------------------------


def test_new_people_count_from_the_day_they_joined_until_their_last_day(session, admin, north,
                                                                        course):
    plan, applied = run(session, admin, USERS_HEADER + (
        "Jo Joined,jo@example.org,Northshire Police,operational,2024-06-03,\n"
        "Lee Leaver,lee@example.org,Northshire Police,operational,2023-11-01,2025-02-14\n"
        "Nat Nodate,nat@example.org,Northshire Police,operational,,\n"))
    jo, lee, nat = (person(session, f"{name}@example.org") for name in ("jo", "lee", "nat"))
    assert jo.joined_at == day_start(date(2024, 6, 3)) and jo.joined_stated
    assert jo.is_active and not nat.joined_stated
    assert (lee.is_active, lee.deactivated_at) == (False, day_start(date(2025, 2, 15)))
    # Only the people still there are asked to choose a password.
    assert [user.email for user, _token in applied.new_accounts] == ["jo@example.org",
                                                                   "nat@example.org"]
    assert session.scalar(select(func.count()).select_from(OneTimeToken).where(
        OneTimeToken.user_id == lee.id)) == 0
    created = session.scalar(select(AuditEvent).where(AuditEvent.action == "account.created",
                                                      AuditEvent.subject_user_id == lee.id))
    assert created.details["deactivated_at"] == lee.deactivated_at.isoformat()

    assert counted(session, date(2023, 10, 31)) == set()
    assert counted(session, date(2023, 11, 1)) == {"Lee Leaver"}
    assert counted(session, date(2024, 6, 3)) == {"Lee Leaver", "Jo Joined"}
    assert counted(session, date(2025, 2, 14)) == {"Lee Leaver", "Jo Joined"}
    assert counted(session, date(2025, 2, 15)) == {"Jo Joined"}
    # Without a joined date, from the day the account was made: today, not 31 March 2026.
    assert "Nat Nodate" not in counted(session, TODAY)


def test_a_leaver_without_a_joined_date_is_told_how_they_will_count(session, admin, north):
    _, plan = dry_run(session, admin, USERS_HEADER + (
        "Lee Leaver,lee@example.org,Northshire Police,operational,,2025-02-14\n"))
    assert plan.rows[0].changes[-1] == ("Without a joined date, they count in reports only "
                                        "from their earliest imported completion")


# --- people who have an account -----------------------------------------------------------


def test_a_joined_date_and_a_last_day_update_an_account(session, admin, north):
    known = make_user(session, organisation=north, email="kim@example.org", name="Kim Known",
                      command_role="staff")
    epoch = known.session_epoch
    made = import_dates.day_of(known.joined_at)
    text = USERS_HEADER + "Kim Known,kim@example.org,Northshire Police,staff,2022-09-05,\n"
    plan, applied = run(session, admin, text)
    assert plan.rows[0].changes == [f"Joined: {import_dates.long_date(made)} → "
                                    "5 September 2022"]
    known = person(session, "kim@example.org")
    assert known.joined_at == day_start(date(2022, 9, 5)) and known.joined_stated
    assert run(session, admin, text)[0].rows[0].outcome == Outcome.UNCHANGED

    text = USERS_HEADER + ("Kim Known,kim@example.org,Northshire Police,staff,2022-09-05,"
                           "2026-01-09\n")
    plan, _ = run(session, admin, text)
    assert plan.rows[0].changes == ["Last day 9 January 2026: the account will be deactivated"]
    known = person(session, "kim@example.org")
    assert not known.is_active and known.deactivated_at == day_start(date(2026, 1, 10))
    assert known.session_epoch == epoch + 1  # signed out everywhere
    updated = session.scalars(select(AuditEvent).where(
        AuditEvent.action == "account.updated", AuditEvent.subject_user_id == known.id)
        .order_by(AuditEvent.id)).all()
    assert updated[-1].details["after"]["is_active"] is False
    assert run(session, admin, text)[0].rows[0].outcome == Outcome.UNCHANGED

    plan, _ = run(session, admin, text.replace("2026-01-09", "2025-12-19"))
    assert plan.rows[0].changes == ["Last day: 9 January 2026 → 19 December 2025"]
    assert person(session, "kim@example.org").deactivated_at == day_start(date(2025, 12, 20))


def test_the_same_day_stated_for_the_first_time_is_a_change(session, admin, north):
    known = make_user(session, organisation=north, email="kim@example.org", name="Kim Known",
                      command_role="staff")
    known.joined_at = day_start(date(2022, 9, 5))
    plan, _ = run(session, admin, USERS_HEADER + (
        "Kim Known,kim@example.org,Northshire Police,staff,05/09/2022,\n"))
    assert plan.rows[0].changes == ["Joined on 5 September 2022, as stated here"]
    assert person(session, "kim@example.org").joined_stated


def test_a_last_day_before_the_person_joined_is_refused(session, admin, north):
    make_user(session, organisation=north, email="kim@example.org", name="Kim Known",
              command_role="staff")
    _, plan = dry_run(session, admin, USERS_HEADER + (
        "Kim Known,kim@example.org,Northshire Police,staff,,2025-01-01\n"))
    assert plan.rows[0].errors[0].startswith("The leaving date 1 January 2025 is before this "
                                             "person joined Northshire Police on ")
    assert plan.rows[0].errors[0].endswith(": give the date they joined in the joined column")


def test_an_importer_cannot_record_their_own_leaving(session, admin, north):
    _, plan = dry_run(session, admin, USERS_HEADER + (
        f"Ada Admin,{admin.email},Northshire Police,operational,2020-01-01,2026-01-01\n"))
    assert plan.rows[0].errors == ["You cannot record yourself as having left: another "
                                   "administrator or manager must do it"]


def test_a_row_that_moves_someone_moves_them_on_the_day_they_joined(session, admin, north,
                                                                    south, course):
    mover = make_user(session, organisation=north, email="mo@example.org", name="Mo Mover",
                      command_role="staff")
    mover.joined_at = day_start(date(2021, 1, 4))
    plan, _ = run(session, admin, USERS_HEADER + (
        "Mo Mover,mo@example.org,Southshire Police,staff,2024-07-01,\n"))
    assert plan.rows[0].changes == ["Organisation: Northshire Police → Southshire Police",
                                    "Moves on 1 July 2024"]
    mover = person(session, "mo@example.org")
    previous, = session.scalars(select(PreviousMembership).where(
        PreviousMembership.user_id == mover.id))
    assert (previous.organisation_id, previous.started_at, previous.ended_at) == (
        north.id, day_start(date(2021, 1, 4)), day_start(date(2024, 7, 1)))
    assert mover.organisation_id == south.id and mover.joined_at == day_start(date(2024, 7, 1))
    assert not mover.joined_stated  # the start of their first membership is still not stated
    north_as_of = ReportFilters(as_of=date(2024, 6, 30), organisation_id=north.id)
    assert [row.name for row in iter_learner_statuses(
        session, None, north_as_of)] == ["Mo Mover"]
    south_as_of = ReportFilters(as_of=date(2024, 7, 1), organisation_id=south.id)
    assert [row.name for row in iter_learner_statuses(
        session, None, south_as_of)] == ["Mo Mover"]

    # Someone who has moved: a joined date can only repeat the day of the move.
    _, plan = dry_run(session, admin, USERS_HEADER + (
        "Mo Mover,mo@example.org,Southshire Police,staff,2024-06-01,\n"))
    assert plan.rows[0].errors == ["This person moved to Southshire Police on 1 July 2024: "
                                   "leave the joined date empty or write 2024-07-01"]
    _, plan = dry_run(session, admin, USERS_HEADER + (
        "Mo Mover,mo@example.org,Southshire Police,staff,2024-07-01,\n"))
    assert plan.rows[0].outcome == Outcome.UNCHANGED


def test_a_move_before_the_current_membership_began_is_refused(session, admin, north, south):
    mover = make_user(session, organisation=north, email="mo@example.org", name="Mo Mover")
    mover.joined_at = day_start(date(2023, 1, 9))
    _, plan = dry_run(session, admin, USERS_HEADER + (
        "Mo Mover,mo@example.org,Southshire Police,operational,2022-12-01,\n"))
    assert plan.rows[0].errors == ["The joined date 1 December 2022 is before this person "
                                   "joined Northshire Police on 9 January 2023: the move to "
                                   "Southshire Police must come after that"]
    _, plan = dry_run(session, admin, USERS_HEADER + (
        "Mo Mover,mo@example.org,Southshire Police,operational,,2025-01-01\n"))
    assert plan.rows[0].errors == ["To record that this person left Southshire Police, also "
                                   "give the date they joined it"]


# --- imported completions -----------------------------------------------------------------


def test_imported_completions_move_an_unstated_start_back_to_the_earliest(session, admin,
                                                                          north, course):
    run(session, admin, USERS_HEADER + (
        "Nat Nodate,nat@example.org,Northshire Police,operational,,\n"
        "Jo Joined,jo@example.org,Northshire Police,operational,2024-06-03,\n"))
    plan, _ = run(session, admin, COMPLETIONS_HEADER + (
        "nat@example.org,JESIP-AWARE,2024-05-20\n"
        "nat@example.org,JESIP-AWARE,2023-05-10\n"
        "jo@example.org,JESIP-AWARE,2023-05-10\n"), ImportKind.COMPLETIONS)
    assert len(plan.rows[0].changes) == 1
    assert plan.rows[1].changes[1].startswith("Counts in reports from 10 May 2023, the day of "
                                              "this completion, instead of ")
    assert len(plan.rows[2].changes) == 1  # Jo's joined date was stated: it stays
    nat, jo = person(session, "nat@example.org"), person(session, "jo@example.org")
    assert nat.joined_at == day_start(date(2023, 5, 10)) and not nat.joined_stated
    assert jo.joined_at == day_start(date(2024, 6, 3))
    event = session.scalar(select(AuditEvent).where(
        AuditEvent.action == "account.updated", AuditEvent.subject_user_id == nat.id))
    assert event.summary == ("Counted in reports from 10 May 2023, the day of their earliest "
                             "imported completion")
    assert counted(session, date(2023, 5, 10)) == {"Nat Nodate"}

    # A second system's earlier records move it further back; later ones do not.
    plan, _ = run(session, admin, COMPLETIONS_HEADER + (
        "nat@example.org,JESIP-AWARE,2022-02-02\n"), ImportKind.COMPLETIONS)
    assert person(session, "nat@example.org").joined_at == day_start(date(2022, 2, 2))
    plan, _ = run(session, admin, COMPLETIONS_HEADER + (
        "nat@example.org,JESIP-AWARE,2025-03-03\n"), ImportKind.COMPLETIONS)
    assert plan.rows[0].changes == ["In date until 3 March 2026"]


def test_for_someone_who_moved_the_first_membership_is_moved_back(session, admin, north,
                                                                  south, course):
    mover = make_user(session, organisation=north, email="mo@example.org", name="Mo Mover")
    first = mover.joined_at = datetime(2025, 1, 6, 9, tzinfo=UTC)
    transfers.move_user(session, admin, mover, south, at=datetime(2025, 9, 1, tzinfo=UTC))
    run(session, admin, COMPLETIONS_HEADER + "mo@example.org,JESIP-AWARE,2024-02-12\n",
        ImportKind.COMPLETIONS)
    previous, = session.scalars(select(PreviousMembership).where(
        PreviousMembership.user_id == mover.id))
    assert first > previous.started_at == day_start(date(2024, 2, 12))
    assert person(session, "mo@example.org").joined_at == datetime(2025, 9, 1, tzinfo=UTC)
    in_north = ReportFilters(as_of=date(2024, 2, 12), organisation_id=north.id)
    assert [row.name for row in iter_learner_statuses(
        session, None, in_north)] == ["Mo Mover"]
    assert counted(session, date(2024, 2, 11)) == set()


def test_existing_accounts_keep_counting_from_when_they_were_made(session, north, course):
    """Nothing changes for people the imports never touch: they count from their account's
    creation, or from their latest move."""
    stayer = make_user(session, organisation=north, name="Stan Stayer")
    assert stayer.joined_at == stayer.created_at and not stayer.joined_stated
    assert transfers.membership_history(session, stayer)[-1].started_at == stayer.created_at


def test_everyones_status_is_still_one_statement(session, admin, north, south, course):
    """Joined dates, leavers, moves and imported history add no statement per person: the
    status of everyone is one query, however many people there are."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    def report_statements() -> list[str]:
        statements.clear()
        session.expire_all()
        engine = session.get_bind().engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            compliance_matrix(session, None, ReportFilters(as_of=date(2025, 6, 30)))
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return list(statements)

    run(session, admin, USERS_HEADER + "Ann Able,ann@example.org,Northshire Police,staff,"
        "2023-01-02,\n")
    few = report_statements()
    rows = "".join(f"P {n},p{n}@example.org,{'Northshire' if n % 2 else 'Southshire'} Police,"
                   f"staff,{'2022-03-04' if n % 3 else ''},{'2025-01-31' if n % 5 == 0 else ''}\n"
                   for n in range(1, 25))
    run(session, admin, USERS_HEADER + rows)
    run(session, admin, COMPLETIONS_HEADER + "".join(
        f"p{n}@example.org,JESIP-AWARE,2024-0{1 + n % 9}-15\n" for n in range(1, 25)),
        ImportKind.COMPLETIONS)
    mover = person(session, "p1@example.org")
    transfers.move_user(session, admin, mover, south, at=datetime(2024, 11, 1, tzinfo=UTC))
    session.flush()
    many = report_statements()
    assert len(many) == len(few)
    assert sum("previous_memberships" in statement for statement in many) == 1
    assert compliance_matrix(session, None, ReportFilters(
        as_of=date(2025, 6, 30))).total.total > 10
