"""A multi-agency exercise in Chromium: each organisation's manager requires an exercise
within 36 months of their people; a trainer records one with a police and a fire and rescue
organisation and adds a police officer by search, but from a CSV file cannot add the
firefighter, whom the fire and rescue manager adds instead; each manager sees and confirms
their own person only, and their compliance dashboard and CSV download
show the change for their person and never the other organisation's; the officer finds the
exercise in My training. axe checks each page at desktop and phone widths."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete, select

from jesip_learn.accounts.administration import create_user
from jesip_learn.accounts.models import Organisation, Permission
from jesip_learn.accounts.organisations import save_organisation
from jesip_learn.compliance.report_filters import today_in_london
from jesip_learn.exercises.models import ExerciseRequirement
from tests.browser.conftest import (
    SCREENSHOT_WIDTHS,
    Account,
    add_account,
    check_accessibility,
    home_organisation,
    save_screenshots,
    sign_in,
)
from tests.support.factories import PASSWORD, set_up_two_step

HELD = today_in_london() - timedelta(days=20)


def _fire_account(database, organisation_id: int, name: str, manager: bool) -> Account:
    email = f"{name.split()[0].lower()}.{uuid.uuid4().hex[:8]}@example.org"
    with database.write_session() as session:
        organisation = session.get(Organisation, organisation_id)
        user = create_user(session, email=email, name=name, password=PASSWORD,
                           organisation=organisation, command_role="operational",
                           permissions={Permission.MANAGER} if manager else set())
        if manager:
            user.manager_grant().organisation = organisation
            set_up_two_step(user)
        session.flush()
        user_id, organisation_name = user.id, organisation.name
    return Account(id=user_id, email=email, name=name, password=PASSWORD,
                   organisation=organisation_name)


@pytest.fixture(scope="module")
def cast(live_server):
    """The people of the test (see _cast); the exercise rules they add are removed at the
    end, so that other modules' reports stay as they expect."""
    yield _cast(live_server)
    with live_server.database.write_session() as session:
        session.execute(delete(ExerciseRequirement))


def _cast(live_server):
    """A trainer, a police manager and an officer of the home (police) organisation; a fire
    and rescue service with its own manager and a firefighter."""
    database = live_server.database
    home_id, home_name, _ = home_organisation(database)
    with database.write_session() as session:
        home_service = session.get(Organisation, home_id).service_label
        fire = save_organisation(session, name=f"Exercise Fire and Rescue {uuid.uuid4().hex[:6]}",
                                 service="fire", country="England", domains=[], area_ids=[])
        session.flush()
        fire_id, fire_name = fire.id, fire.name
        assert session.scalar(select(Organisation.service).where(
            Organisation.id == home_id)) != "fire"
    return {
        "home": home_name, "fire": fire_name, "home_service": home_service,
        "organisations": {"police-manager": home_name, "fire-manager": fire_name},
        "trainer": add_account(database, name="Tess Trainer", permissions={Permission.TRAINER}),
        "police-manager": add_account(database, name="Priya Manager",
                                      permissions={Permission.MANAGER}),
        "officer": add_account(database, name="Oliver Officer"),
        "fire-manager": _fire_account(database, fire_id, "Fiona Manager", manager=True),
        "firefighter": _fire_account(database, fire_id, "Felix Firefighter", manager=False),
    }


def _axe(page: Page, label: str) -> list[str]:
    problems = []
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        problems += check_accessibility(page, f"{label} at {width}px")
    page.set_viewport_size({"width": 1280, "height": 800})
    return problems


def _participant_names(page: Page) -> list[str]:
    table = page.get_by_role("region", name="Participants")
    return [" ".join(cell.split()[:2]) for cell in
            table.locator("tbody tr td:first-child").all_inner_texts()]


def _exercise_rows(page: Page) -> dict[str, str]:
    """Name → status of the exercise column, from the dashboard's CSV download."""
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV: one row per person and course").click()
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text(
        encoding="utf-8-sig"))))
    return {row[0]: row[7] for row in rows if len(row) > 7 and row[5] == "EXERCISE-36"}


def _require_exercise(page: Page, base_url: str, organisation: str) -> None:
    page.goto(f"{base_url}/manage/requirements")
    page.get_by_label("Course or exercise").select_option(label="A multi-agency exercise")
    page.get_by_label("Organisation").select_option(label=organisation)
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Enter the number of months, from 1 to 120")
    page.get_by_label("For an exercise: within how many months").fill("36")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "A multi-agency exercise within 36 months required of " + organisation)


def _open_exercise(page: Page, title: str) -> None:
    page.get_by_role("link", name="Exercises", exact=True).click()
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def test_an_exercise_of_two_services_with_attendance_confirmed_by_each_manager(
        new_context, live_server, cast):
    title = f"Operation Lighthouse {uuid.uuid4().hex[:4]}"
    problems = []
    managers = {}
    for manager in ("police-manager", "fire-manager"):
        managers[manager] = new_context(bypass_csp=True).new_page()
        sign_in(managers[manager], live_server.url, cast[manager].email)
        _require_exercise(managers[manager], live_server.url, cast["organisations"][manager])
        managers[manager].get_by_role("link", name="Compliance", exact=True).click()
        expect(managers[manager].locator("main")).to_contain_text("EXERCISE-36")
    problems += _axe(managers["fire-manager"], "requirements with an exercise rule")
    assert _exercise_rows(managers["police-manager"])["Oliver Officer"] == "Not started"
    assert _exercise_rows(managers["fire-manager"])["Felix Firefighter"] == "Not started"

    page = new_context(bypass_csp=True).new_page()
    sign_in(page, live_server.url, cast["trainer"].email)
    page.get_by_role("link", name="Exercises", exact=True).click()
    page.get_by_role("button", name="Record an exercise").click()
    page.get_by_role("button", name="Record exercise").click()  # nothing filled in
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the exercise's title")
    problems += _axe(page, "exercise form with errors")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Day").fill(str(HELD.day))
    page.get_by_label("Month").fill(str(HELD.month))
    page.get_by_label("Year").fill(str(HELD.year))
    page.get_by_label("Command post").check()
    page.get_by_label("Location (optional)").fill("Exercise control, Kent")
    # The organisations are grouped by service, closed: the search box opens the group.
    search = page.get_by_label("Find an organisation")
    search.fill(cast["home"])
    page.get_by_label(cast["home"], exact=True).check()
    search.fill(cast["fire"])
    page.get_by_label(cast["fire"], exact=True).check()
    problems += _axe(page, "exercise form, organisations found by search")
    search.fill("")
    expect(page.locator("summary", has_text=cast["home_service"])).to_be_visible()
    page.get_by_label("Tactical commander").check()
    page.get_by_label("Co-locate").check()
    page.get_by_label("Gather information and intelligence").check()
    page.get_by_role("button", name="Record exercise").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".govuk-notification-banner")).to_contain_text("has been recorded")

    page.get_by_role("button", name="Add a participant").click()
    page.get_by_label("Search by name or email address").fill("Oliver Officer")
    page.get_by_role("button", name="Search").click()
    page.get_by_label("Oliver Officer").check()
    page.get_by_label("Tactical commander").check()
    problems += _axe(page, "add a participant")
    page.get_by_role("button", name="Add participant").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Oliver Officer has been added.")

    file = [{"name": "participants.csv", "mimeType": "text/csv",
             "buffer": (f"email,role\n{cast['firefighter'].email},operational\n"
                        "nobody@example.org,staff\n").encode()}]
    page.get_by_role("button", name="Upload a list of participants").click()
    page.get_by_label("CSV file").set_input_files(files=file)
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the participants")
    expect(page.get_by_text("0 of 2 rows can be added")).to_be_visible()
    expect(page.get_by_text(f"{cast['firefighter'].email} is not someone you can add: their "
                            "own organisation's manager adds them")).to_be_visible()
    problems += _axe(page, "check the participants")
    save_screenshots(page, "exercise-check-participants")
    _open_exercise(page, title)
    assert _participant_names(page) == ["Oliver Officer"]
    assert page.get_by_role("button", name="Confirm the attendance of Oliver Officer").count() == 0
    problems += _axe(page, "exercise page for its recorder")
    save_screenshots(page, "exercise-page-trainer")

    page = managers["fire-manager"]  # the firefighter's own manager adds him
    _open_exercise(page, title)
    page.get_by_role("button", name="Upload a list of participants").click()
    page.get_by_label("CSV file").set_input_files(files=file)
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("1 of 2 rows can be added")).to_be_visible()
    page.get_by_role("button", name="Add 1 participant").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("1 person has been added")

    for manager, own, other in (("police-manager", "Oliver Officer", "Felix Firefighter"),
                                ("fire-manager", "Felix Firefighter", "Oliver Officer")):
        page = managers[manager]
        _open_exercise(page, title)
        assert _participant_names(page) == [own]
        assert other not in page.locator("main").inner_text()
        page.get_by_role("button", name="Add a participant").click()
        page.get_by_label("Search by name or email address").fill(other.split()[0])
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_text("No one you may add matches")).to_be_visible()
        _open_exercise(page, title)
        page.get_by_role("button", name=f"Confirm the attendance of {own}").click()
        expect(page.locator(".govuk-notification-banner")).to_contain_text(
            f"{own}'s attendance has been confirmed.")
        expect(page.get_by_role("region", name="Participants")).to_contain_text("Confirmed")
        problems += _axe(page, f"exercise page for the {manager}")
        save_screenshots(page, f"exercise-page-{manager}")
        page.get_by_role("link", name="Compliance", exact=True).click()
        seen = _exercise_rows(page)
        assert seen[own] == "In date" and other not in seen
        problems += _axe(page, f"compliance for the {manager}")
        page.evaluate("window.scrollTo(0, 0)")
        save_screenshots(page, f"exercise-compliance-{manager}", full_page=False)
    # The police manager's figures did not move when the fire manager confirmed theirs.
    police = _exercise_rows(managers["police-manager"])
    assert police["Oliver Officer"] == "In date" and "Felix Firefighter" not in police

    page = new_context(bypass_csp=True).new_page()
    sign_in(page, live_server.url, cast["officer"].email)
    expect(page.get_by_role("heading", level=1)).to_have_text("My training")
    taken = page.get_by_role("region", name="Exercises you took part in")
    expect(taken).to_contain_text(title)
    expect(taken).to_contain_text("Confirmed")
    problems += _axe(page, "my training with an exercise")
    save_screenshots(page, "exercise-my-training")
    assert problems == []
