"""The command-line imports: `flask imports people|completions FILE --as EMAIL`, with the
checks, row messages and audit entries of the import pages; all or nothing unless
--skip-bad-rows; exit 1 when a row is refused; --dry-run changing nothing at all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import User
from jesip_learn.core.db import Base
from jesip_learn.courses import catalogue as courses
from jesip_learn.imports.models import ImportBatch
from jesip_learn.learning.models import Completion
from jesip_learn.records.models import AuditEvent
from jesip_learn.sso import providers as sso_providers

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
PEOPLE = ("name,email,organisation,command role,joined,left\n"
          "Nia New,nia@example.org,Northshire Police,Tactical commander,2024-04-02,\n"
          "Lee Leaver,lee@example.org,northshire police,operational,2023-01-09,2025-06-30\n"
          "Kim Known,known@example.org,Southshire Fire and Rescue Service,staff,,\n")
COMPLETIONS = ("email,course code,completion date\n"
               "nia@example.org,JESIP-AWARE,2024-05-01\n"
               "lee@example.org,jesip-aware,01/02/2024\n")
LINK = re.compile(r"(https?://\S+/reset-password/\S+)")


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin(make, organisation):
    return make.user(organisation=organisation, permissions={"admin"}, name="Ada Admin",
                     email="ada@northshire.police.uk")


@pytest.fixture
def known(make, organisation):
    return make.user(organisation=organisation, email="known@example.org", name="Kim Known",
                     command_role="staff")


@pytest.fixture
def course(session):
    outcome, = courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, outcome.code).course


def write(tmp_path, text: str, name="people.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def table_counts(session) -> dict[str, int]:
    """The number of rows in every table: a dry run must leave each one as it was."""
    session.expire_all()
    return {table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables}


def audit_actions(session, actor) -> list[str]:
    return sorted(session.scalars(select(AuditEvent.action).where(
        AuditEvent.actor_id == actor.id, AuditEvent.subject_user_id.is_distinct_from(actor.id))))


def find(session, email) -> User | None:
    session.expire_all()
    return session.scalar(select(User).where(User.email == email))


# --- good files ---------------------------------------------------------------------------


def test_people_then_their_completions(runner, session, admin, known, organisation,
                                       other_organisation, course, tmp_path, outbox):
    result = runner.invoke(args=["imports", "people", write(tmp_path, PEOPLE),
                                 "--as", "ADA@northshire.police.uk"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == [
        "line 2: created: Joined on 2 April 2024",
        "line 3: created: Joined on 9 January 2023. Last day 30 June 2025: the account is made "
        "deactivated and no email is sent",
        "line 4: updated: Organisation: Northshire Police → Southshire Fire and Rescue Service"]
    assert lines[3] == ("people.csv: 3 rows (2 to create, 1 to update). Imported: 2 created, "
                        "1 updated, 0 unchanged.")
    assert lines[4] == "Emails to choose a password: 1 of 1 new person sent one."
    nia, lee = find(session, "nia@example.org"), find(session, "lee@example.org")
    assert nia.command_role == "tactical" and nia.is_active and nia.joined_stated
    assert not lee.is_active and lee.deactivated_at is not None
    assert find(session, "known@example.org").organisation_id == other_organisation.id
    # The same audit entries as the import page, "from" the command line.
    assert audit_actions(session, admin) == ["account.created", "account.created",
                                             "account.moved", "account.updated",
                                             "import.users"]
    summary = session.scalar(select(AuditEvent).where(AuditEvent.action == "import.users"))
    assert summary.address == "command line" and summary.details["created"] == 2
    # The set-up email's link starts with the site's address, and works.
    mail, = outbox
    assert mail.to == "nia@example.org" and "choose a password" in mail.text
    link = LINK.search(mail.text).group(1)
    assert link.startswith("http://jesip.test/reset-password/")
    assert "http://jesip.test/forgot-password" in mail.text

    result = runner.invoke(args=["imports", "completions", write(tmp_path, COMPLETIONS,
                                                                 "ncalt.csv"),
                                 "--source", "NCALT", "--as", admin.email])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "line 2: created: In date until 1 May 2025"
    assert result.output.splitlines()[1].startswith(
        "line 3: created: In date until 1 February 2025")
    completions = session.scalars(select(Completion).where(
        Completion.user_id.in_([nia.id, lee.id]))).all()
    assert {(c.source, c.recorded_by_id) for c in completions} == {("NCALT", admin.id)}
    assert audit_actions(session, admin).count("completion.imported") == 2

    again = runner.invoke(args=["imports", "completions", write(tmp_path, COMPLETIONS,
                                                                "ncalt.csv"),
                                "--source", "NCALT", "--as", admin.email])
    assert again.exit_code == 0
    assert again.output.splitlines()[-1] == (
        "ncalt.csv: 2 rows (2 already recorded). Nothing to import: no row would change "
        "anything.")
    assert session.scalar(select(func.count()).select_from(Completion)) == 2


def test_people_of_an_organisation_that_requires_single_sign_on_are_told_to_sign_in_with_it(
        runner, session, admin, entra, organisation, tmp_path, outbox):
    assert sso_providers.set_requirement(session, admin, organisation, True)
    session.commit()
    result = runner.invoke(args=["imports", "people", write(
        tmp_path, "name,email,organisation,command role\n"
        "Nia New,nia@northshire.police.uk,Northshire Police,staff\n"), "--as", admin.email])
    assert result.exit_code == 0, result.output
    mail, = outbox
    assert "Northshire Police signs its staff in to JESIP Learn" in mail.text
    assert not LINK.search(mail.text)
    assert "http://jesip.test/sign-in/organisation" in mail.text


def test_a_manager_imports_within_their_organisations_only(runner, session, make, organisation,
                                                          other_organisation, tmp_path):
    manager = make.user(organisation=organisation, permissions={"manager"},
                        email="mo@northshire.police.uk")
    result = runner.invoke(args=["imports", "people", write(tmp_path, PEOPLE),
                                 "--as", manager.email])
    assert result.exit_code == 1
    assert ("line 4: error: Southshire Fire and Rescue Service is not an organisation you "
            "manage") in result.output
    assert find(session, "nia@example.org") is None


# --- broken rows --------------------------------------------------------------------------


BROKEN = PEOPLE + ("Bad Row,not-an-email,Nowhere,captain,,\n"
                   "Fay Future,fay@example.org,Northshire Police,staff,2999-01-01,\n")


def test_a_refused_row_imports_nothing_and_exits_1(runner, session, admin, known, tmp_path,
                                                   other_organisation, outbox):
    before = table_counts(session)
    result = runner.invoke(args=["imports", "people", write(tmp_path, BROKEN),
                                 "--as", admin.email])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "line 2: not created: Joined on 2 April 2024"
    assert lines[3] == ("line 5: error: “not-an-email” is not a valid email address. There is "
                        "no organisation called “Nowhere”. “captain” is not a command role: "
                        "use one of operational, tactical, strategic, control-room, staff")
    assert lines[4] == "line 6: error: The joined date 1 January 2999 is in the future"
    assert lines[5] == (
        "people.csv: 5 rows (2 to create, 1 to update, 2 with errors). Nothing was "
        "imported: 2 rows have errors. Correct the file, or run again with --skip-bad-rows "
        "to import the other rows.")
    assert table_counts(session) == before and outbox == []


def test_skip_bad_rows_applies_the_others_and_still_exits_1(runner, session, admin, known,
                                                            other_organisation, tmp_path,
                                                            outbox):
    result = runner.invoke(args=["imports", "people", write(tmp_path, BROKEN),
                                 "--as", admin.email, "--skip-bad-rows"])
    assert result.exit_code == 1
    assert "line 5: skipped: “not-an-email” is not a valid email address" in result.output
    assert ("Imported: 2 created, 1 updated, 0 unchanged. 2 rows with errors skipped "
            "(--skip-bad-rows).") in result.output
    assert find(session, "nia@example.org") is not None
    assert find(session, "fay@example.org") is None
    summary = session.scalar(select(AuditEvent).where(AuditEvent.action == "import.users"))
    assert summary.details["skipped"] == 2
    assert len(outbox) == 1


def test_completion_rows_are_checked_like_on_the_page(runner, session, admin, known, course,
                                                      tmp_path):
    text = ("email,course code,completion date\n"
            "known@example.org,JESIP-AWARE,2024-05-01\n"
            "nobody@example.org,JESIP-AWARE,2024-05-01\n"
            "known@example.org,NO-SUCH,31/02/2024\n")
    result = runner.invoke(args=["imports", "completions", write(tmp_path, text, "esr.csv"),
                                 "--source", "ESR", "--as", admin.email])
    assert result.exit_code == 1
    assert ("line 3: error: There is no account with the email address nobody@example.org"
            in result.output)
    assert ("line 4: error: There is no course with the code “NO-SUCH”. “31/02/2024” is not a "
            "real date") in result.output
    assert session.scalar(select(func.count()).select_from(Completion)) == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--as", "nobody@example.org"], "There is no account with the email address "
                                     "nobody@example.org"),
    (["--as", "known@example.org"], "known@example.org is not an administrator or manager"),
    (["--as", "not an address"], "“not an address” is not a valid email address"),
])
def test_the_importer_must_be_an_administrator_or_manager(runner, session, admin, known,
                                                          tmp_path, args, message):
    result = runner.invoke(args=["imports", "people", write(tmp_path, PEOPLE), *args])
    assert result.exit_code == 1
    assert message in result.output and "Nothing was imported." in result.output
    assert find(session, "nia@example.org") is None


def test_a_deactivated_administrator_cannot_import(runner, session, admin, tmp_path):
    admin.is_active = False
    session.commit()
    result = runner.invoke(args=["imports", "people", write(tmp_path, PEOPLE),
                                 "--as", admin.email])
    assert result.exit_code == 1 and "is deactivated" in result.output


@pytest.mark.parametrize(("name", "data", "message"), [
    ("people.xlsx", b"PK\x03\x04", "The selected file must be a CSV file"),
    ("people.csv", b"name,email\nA,a@example.org\n",
     "missing the columns “organisation” and “command role”"),
    ("people.csv", b"", "The selected file is empty"),
])
def test_a_file_that_cannot_be_read_is_refused_whole(runner, session, admin, tmp_path, name,
                                                     data, message):
    path = tmp_path / name
    path.write_bytes(data)
    result = runner.invoke(args=["imports", "people", str(path), "--as", admin.email])
    assert result.exit_code == 1 and message in result.output
    assert "Nothing was imported." in result.output


def test_completions_need_their_source(runner, admin, tmp_path):
    result = runner.invoke(args=["imports", "completions", write(tmp_path, COMPLETIONS),
                                 "--as", admin.email])
    assert result.exit_code == 2 and "--source" in result.output


# --- dry run ------------------------------------------------------------------------------


def test_a_dry_run_says_what_each_row_would_do_and_changes_nothing(runner, session, admin,
                                                                   known, other_organisation,
                                                                   course, tmp_path, outbox):
    before = table_counts(session)
    result = runner.invoke(args=["imports", "people", write(tmp_path, PEOPLE),
                                 "--as", admin.email, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "line 2: will be created: Joined on 2 April 2024",
        "line 3: will be created: Joined on 9 January 2023. Last day 30 June 2025: the "
        "account is made deactivated and no email is sent",
        "line 4: will be updated: Organisation: Northshire Police → Southshire Fire and "
        "Rescue Service",
        "people.csv: 3 rows (2 to create, 1 to update). Dry run: nothing was changed."]
    completions = runner.invoke(args=["imports", "completions",
                                      write(tmp_path, COMPLETIONS.replace("nia", "known")),
                                      "--source", "NCALT", "--as", admin.email, "--dry-run"])
    assert completions.exit_code == 1  # lee has no account: that row is refused
    assert "line 2: will be created: In date until 1 May 2025" in completions.output
    assert table_counts(session) == before and outbox == []
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0
