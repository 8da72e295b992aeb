"""Bulk import pages: choose, upload, check (the dry run), apply; through the test client."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import User
from jesip_learn.courses import catalogue as courses
from jesip_learn.imports import bulk as bulk_import
from jesip_learn.imports.models import ImportBatch
from jesip_learn.learning.models import Completion
from tests.support.pages import read_page

LINK = re.compile(r"http://jesip\.test(/\S+)")
VALID = Path(__file__).parent.parent / "content" / "fixtures" / "valid-course"
USERS_HEADER = "name,email,organisation,command role\n"


@pytest.fixture
def as_admin(browser, admin):
    browser.sign_in(admin.email)
    return browser


@pytest.fixture
def manager(make, organisation):
    return make.user(organisation=organisation, permissions={"manager"}, name="Mia Manager")


@pytest.fixture
def as_manager(browser, manager):
    browser.sign_in(manager.email)
    return browser


@pytest.fixture
def course(session):
    outcome, = courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, outcome.code).course


def upload(browser, kind, data, *, filename="people.csv", source=None, token=None):
    """Send a file through the upload form, as a person choosing it would."""
    form_url = f"/manage/imports/{kind}/new"
    token = token if token is not None else browser.get(form_url).csrf_token()
    data = data.encode() if isinstance(data, str) else data
    fields = {"csrf_token": token, "file": (io.BytesIO(data), filename)}
    if source is not None:
        fields["source"] = source
    return read_page(browser.client.post(form_url, data=fields, follow_redirects=True))


def apply(browser, page):
    form = page.soup.select_one("form[action$='/apply']")
    assert form is not None, "no Apply button on the page"
    data = {field["name"]: field.get("value", "") for field in form.select("input[name]")}
    return read_page(browser.client.post(form["action"], data=data, follow_redirects=True))


def count_users(session, *emails):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(User).where(User.email.in_(emails)))


# --- who may reach the pages -----------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/manage/imports")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


@pytest.mark.parametrize("permissions", [set(), {"trainer"}])
def test_only_managers_and_administrators_may_import(browser, make, organisation, permissions):
    browser.sign_in(make.user(organisation=organisation, permissions=permissions).email)
    for path in ("/manage/imports", "/manage/imports/users/new",
                 "/manage/imports/users/template.csv"):
        assert browser.get(path).status == 403


def test_the_choice_of_imports_and_their_templates(as_manager, organisation):
    page = as_manager.get("/manage/imports")
    assert page.title == "Bulk import – JESIP Learn" and page.h1 == "Bulk import"
    links = {a.get_text(" ", strip=True): a["href"] for a in page.soup.select("main a")}
    assert links["Import people"] == "/manage/imports/users/new"
    assert links["Import completions from another system"] == "/manage/imports/completions/new"
    assert links["Download the CSV template for people"] == "/manage/imports/users/template.csv"
    assert "Northshire Police" in page.text  # the organisation the manager may import into
    response = as_manager.client.get("/manage/imports/users/template.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True) == (
        "name,email,organisation,command role,joined,left,permissions\r\n")
    response = as_manager.client.get("/manage/imports/completions/template.csv")
    assert response.get_data(as_text=True) == "email,course code,completion date\r\n"
    assert as_manager.get("/manage/imports/other/new").status == 404


# --- people: the whole flow ------------------------------------------------------------


def test_import_people_check_then_apply(as_admin, session, make, organisation,
                                        other_organisation, outbox, admin):
    make.user(organisation=organisation, email="known@example.org", name="Kim Known",
              command_role="staff")
    page = as_admin.get("/manage/imports/users/new")
    assert page.h1 == "Import people" and page.errors == []
    page = upload(as_admin, "users", USERS_HEADER + (
        "Nia New,nia@example.org,Northshire Police,Tactical commander\n"
        "Kim Known,known@example.org,southshire fire and rescue service,staff\n"
        "Bad Row,not-an-email,Nowhere,captain\n"))
    assert page.title == "Error: Check your import – JESIP Learn"
    assert page.h1 == "Check your import"
    assert page.errors == ["Line 4: “not-an-email” is not a valid email address. There is no "
                           "organisation called “Nowhere”. “captain” is not a command role: use "
                           "one of operational, tactical, strategic, control-room, staff"]
    assert page.error_links() == {page.errors[0]: "line-4"}
    summary = {row.dt.get_text(strip=True): row.dd.get_text(strip=True)
               for row in page.soup.select("#summary .govuk-summary-list__row")}
    assert summary == {"Will be created": "1 row", "Will be updated": "1 row",
                       "No change": "0 rows", "Error": "1 row"}
    rows = {tr["id"]: " ".join(tr.get_text(" ", strip=True).split())
            for tr in page.soup.select("tbody tr")}
    assert "Will be updated" in rows["line-3"]
    assert "Organisation: Northshire Police → Southshire Fire and Rescue Service" in rows["line-3"]
    assert "The row with errors will be skipped." in page.text
    assert count_users(session, "nia@example.org") == 0  # the dry run changed nothing

    done = apply(as_admin, page)
    assert done.h1 == "Import complete"
    assert done.notifications == ["1 account created and 1 account updated. Each new person has "
                                  "been sent an email to choose a password. 1 row with errors "
                                  "skipped."]
    session.expire_all()
    nia = session.scalar(select(User).where(User.email == "nia@example.org"))
    assert nia.command_role == "tactical" and nia.status == "active"
    known = session.scalar(select(User).where(User.email == "known@example.org"))
    assert known.organisation_id == other_organisation.id

    mail, = outbox
    assert mail.to == "nia@example.org" and "choose a password" in mail.text
    as_admin.sign_out()
    link = LINK.search(mail.text).group(1)
    assert as_admin.get(link).h1 == "Choose a new password"
    page = as_admin.submit(link, {"password": "granite kettle orbit lantern"})
    assert "Your password has been changed." in page.notifications[0]
    assert as_admin.sign_in("nia@example.org", "granite kettle orbit lantern").h1 == "My training"


def test_pressing_apply_twice_imports_once(as_admin, session, organisation, outbox):
    page = upload(as_admin, "users", USERS_HEADER + "Nia New,nia@example.org,"
                  "Northshire Police,staff\n")
    form = page.soup.select_one("form[action$='/apply']")
    data = {field["name"]: field.get("value", "") for field in form.select("input[name]")}
    first = as_admin.client.post(form["action"], data=data)
    second = read_page(as_admin.client.post(form["action"], data=data, follow_redirects=True))
    assert first.status_code == 302
    assert second.h1 == "Import complete"
    assert ("This file has already been imported. Nothing was imported again."
            in second.notifications)
    assert count_users(session, "nia@example.org") == 1 and len(outbox) == 1


def test_records_changed_since_the_check_are_checked_again(as_admin, session, make,
                                                             organisation):
    page = upload(as_admin, "users", USERS_HEADER + (
        "Nia New,nia@example.org,Northshire Police,staff\n"
        "Olu Other,olu@example.org,Northshire Police,staff\n"))
    make.user(organisation=organisation, email="nia@example.org", name="Nia Elsewhere")
    again = apply(as_admin, page)
    assert again.h1 == "Check your import"
    assert any("Records changed since you checked this file" in n for n in again.notifications)
    assert count_users(session, "olu@example.org") == 0
    assert "Name: Nia Elsewhere → Nia New" in again.text
    done = apply(as_admin, again)
    assert done.h1 == "Import complete"
    assert count_users(session, "nia@example.org", "olu@example.org") == 2


def test_a_file_that_changes_nothing_offers_no_apply_button(as_admin, organisation, admin):
    page = upload(as_admin, "users", USERS_HEADER + f"{admin.name},{admin.email},"
                  f"Northshire Police,{admin.command_role}\n")
    assert page.errors == []
    assert page.soup.select_one("form[action$='/apply']") is None
    assert "There is nothing to import" in page.text


def test_a_manager_gets_a_row_error_for_another_organisation(as_manager, session, make,
                                                             organisation, other_organisation):
    make.user(organisation=other_organisation, email="far@example.org", name="Far Away")
    page = upload(as_manager, "users", USERS_HEADER + (
        "Sam South,sam@example.org,Southshire Fire and Rescue Service,staff\n"
        "Far Away,far@example.org,Northshire Police,staff\n"
        "Nora North,nora@example.org,Northshire Police,staff\n"))
    assert page.errors == [
        "Line 2: Southshire Fire and Rescue Service is not an organisation you manage",
        "Line 3: This email address belongs to an account in an organisation you do not manage"]
    done = apply(as_manager, page)
    assert "1 account created and 0 accounts updated." in done.notifications[0]
    assert count_users(session, "sam@example.org", "nora@example.org") == 1
    session.expire_all()
    far = session.scalar(select(User).where(User.email == "far@example.org"))
    assert far.organisation_id == other_organisation.id


def test_nobody_else_sees_or_applies_an_importers_check(as_admin, browser, session, make,
                                                        organisation):
    page = upload(as_admin, "users", USERS_HEADER + "Nia New,nia@example.org,"
                  "Northshire Police,staff\n")
    action = page.soup.select_one("form[action$='/apply']")["action"]
    check_url = action.removesuffix("/apply")
    as_admin.sign_out()
    other_admin = make.user(organisation=organisation, permissions={"admin"})
    browser.sign_in(other_admin.email)
    assert browser.get(check_url).status == 404
    token = browser.get("/manage/imports").soup.find("input", attrs={"name": "csrf_token"})
    response = browser.client.post(action, data={"csrf_token": token["value"], "plan": "x"})
    assert response.status_code == 404
    assert count_users(session, "nia@example.org") == 0


def test_forms_refuse_a_missing_csrf_token(as_admin, session, organisation):
    response = as_admin.client.post("/manage/imports/users/new", data={
        "file": (io.BytesIO((USERS_HEADER + "A B,ab@example.org,Northshire Police,staff\n")
                            .encode()), "people.csv")})
    assert response.status_code == 400
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0
    page = upload(as_admin, "users", USERS_HEADER + "A B,ab@example.org,Northshire Police,"
                  "staff\n")
    form = page.soup.select_one("form[action$='/apply']")
    response = as_admin.client.post(form["action"], data={
        "plan": form.select_one("input[name=plan]")["value"]})
    assert response.status_code == 400
    assert "Nothing was saved" in read_page(response).text
    assert count_users(session, "ab@example.org") == 0


def test_an_expired_check_asks_for_the_file_again(as_admin, session, organisation):
    page = upload(as_admin, "users", USERS_HEADER + "A B,ab@example.org,Northshire Police,"
                  "staff\n")
    batch = session.scalar(select(ImportBatch))
    batch.created_at = datetime.now(UTC) - bulk_import.BATCH_LIFETIME * 2
    session.commit()
    again = apply(as_admin, page)
    assert again.h1 == "Import people"
    assert "That check has expired. Upload the file again." in again.notifications
    assert count_users(session, "ab@example.org") == 0


# --- problems with the upload ------------------------------------------------------------


@pytest.mark.parametrize(("filename", "data", "error"), [
    ("people.xlsx", b"name\n", "The selected file must be a CSV file."),
    ("people.csv", b"", "The selected file is empty"),
    ("people.csv", b"name,email\nA,a@example.org\n",
     "The selected file is missing the columns “organisation” and “command role”."),
    ("people.csv", USERS_HEADER.encode() + b"\xff\xfe\x81,x,y,z\n",
     "The characters in the selected file cannot be read."),
    ("people.csv", b"x" * (2 * 1024 * 1024 + 10), "The selected file must be smaller than 2 MB."),
])
def test_upload_problems_are_explained(as_admin, session, filename, data, error):
    page = upload(as_admin, "users", data, filename=filename)
    assert page.h1 == "Import people"
    assert page.title.startswith("Error: ")
    assert len(page.errors) == 1 and page.errors[0].startswith(error), page.errors
    assert page.error_links() == {page.errors[0]: "file"}
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_no_file_and_no_source_are_both_reported_and_the_source_is_kept(as_admin):
    page = upload(as_admin, "completions", b"", filename="", source="")
    assert page.errors == ["Enter where these completions were recorded, for example NCALT",
                           "Select a CSV file"]
    assert set(page.error_links().values()) == {"source", "file"}
    page = upload(as_admin, "completions", b"", filename="", source="NCALT")
    assert page.errors == ["Select a CSV file"]
    assert page.soup.find("input", attrs={"name": "source"})["value"] == "NCALT"


# --- completions ---------------------------------------------------------------------------


def test_import_completions_check_then_apply_then_again(as_admin, session, make, organisation,
                                                       course, admin):
    person = make.user(organisation=organisation, email="pat@example.org")
    text = ("Email,Course Code,Completion Date\n"
            "pat@example.org,JESIP-AWARE,31/01/2025\n"
            "pat@example.org,JESIP-AWARE,2099-01-01\n")
    page = upload(as_admin, "completions", text, filename="ncalt.csv", source="NCALT")
    assert page.h1 == "Check your import" and "ncalt.csv (from NCALT)" in page.text
    assert page.errors == ["Line 3: The completion date 1 January 2099 is in the future"]
    assert "In date until 31 January 2026" in page.text
    done = apply(as_admin, page)
    assert done.notifications == ["1 completion recorded. 1 row with errors skipped."]
    session.expire_all()
    completion, = session.scalars(select(Completion).where(Completion.user_id == person.id))
    assert (completion.source, completion.version_id, completion.recorded_by_id) == (
        "NCALT", None, admin.id)

    again = upload(as_admin, "completions", text, filename="ncalt.csv", source="NCALT")
    rows = {tr["id"]: tr.get_text(" ", strip=True) for tr in again.soup.select("tbody tr")}
    assert "Already recorded" in rows["line-2"]
    assert again.soup.select_one("form[action$='/apply']") is None
    assert session.scalar(select(func.count()).select_from(Completion)) == 1
