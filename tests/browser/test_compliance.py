"""A manager in Chromium: filters the compliance dashboard, drills down to the people behind a
number and to one person's record, and downloads every format; each file opens (the XLSX
read back with openpyxl, the PDF with pypdf) and holds what the screen showed. axe checks
each page at desktop and phone widths."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import select

from jesip_learn.courses.models import Course
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion
from tests.browser.conftest import (
    SCREENSHOT_WIDTHS,
    add_account,
    check_accessibility,
    save_screenshots,
    sign_in,
)

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def trained_people(live_server):
    """Four people of the manager's organisation: in date, expiring, expired, never done."""
    database = live_server.database
    people = [add_account(database, name=name) for name in (
        "Ines Indate", "Evan Expiring", "Ezra Expired", "Nina Never")]
    ages = {"Ines Indate": 30, "Evan Expiring": 320, "Ezra Expired": 420}
    with database.write_session() as session:
        for person in people:
            for course in session.scalars(select(Course).where(
                    Course.published_version_id.is_not(None))):
                if person.name in ages:
                    when = NOW - timedelta(days=ages[person.name])
                    session.add(Completion(
                        user_id=person.id, course_id=course.id,
                        version_id=course.published_version_id, completed_at=when,
                        expires_at=progress.add_months(when, 12),
                        certificate_code=progress.new_certificate_code()))
    return people


def _axe(page: Page, label: str) -> list[str]:
    problems = []
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        problems += check_accessibility(page, f"{label} at {width}px")
    page.set_viewport_size({"width": 1280, "height": 800})
    return problems


def _download(page: Page, name: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=name).click()
    return open(info.value.path(), "rb").read()


def _csv_table(data: bytes) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    blank = next(index for index, row in enumerate(rows) if not any(row))
    return rows[blank + 1:]


def test_a_manager_filters_drills_down_and_downloads(new_context, live_server, manager,
                                                     trained_people):
    page = new_context(bypass_csp=True).new_page()
    problems = []
    sign_in(page, live_server.url, manager.email)
    page.get_by_role("link", name="Compliance").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Training compliance")
    problems += _axe(page, "dashboard")
    save_screenshots(page, "compliance-dashboard")

    # Only the manager's own organisation is in the matrix.
    matrix = page.locator("table.app-matrix")
    expect(matrix.locator("tbody tr")).to_have_count(1)
    expect(matrix.locator("tbody th")).to_have_text(manager.organisation)

    page.get_by_label("Status").select_option(label="Expired")
    page.get_by_role("button", name="Apply filters").click()
    assert "status=expired" in page.url
    first_cell = matrix.locator("tbody td").first
    expired_on_screen = int(re.search(r"(\d+)\s+expired", first_cell.inner_text()).group(1))
    assert expired_on_screen >= 1

    first_cell.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("People in")
    problems += _axe(page, "people")
    save_screenshots(page, "compliance-people")
    found = int(re.search(r"(\d+) requirements? found", page.inner_text("main")).group(1))
    assert found == expired_on_screen
    names = page.locator("table a[href*='/manage/learners/']").all_inner_texts()
    assert "Ezra Expired" in names and "Ines Indate" not in names

    detail = _csv_table(_download(page, "CSV: one row per person and course"))
    assert len(detail) - 1 == found
    assert {row[detail[0].index("Status")] for row in detail[1:]} == {"Expired"}

    page.get_by_role("link", name="Ezra Expired").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ezra Expired")
    expect(page.locator("main")).to_contain_text("Expired")
    problems += _axe(page, "learner record")
    save_screenshots(page, "compliance-learner")

    # Back to the whole picture, rows by command role, and every download.
    page.goto(f"{live_server.url}/manage/compliance?group=command-role")
    headers = page.locator("table.app-matrix thead th").all_inner_texts()
    # "All required courses" comes first, straight after the row's name.
    total_cell = page.locator("table.app-matrix tfoot td").first.inner_text()
    compliant, required = map(int, re.search(r"(\d+) of (\d+)", total_cell).groups())

    by_person = _csv_table(_download(page, "CSV: one row per person, a column per course"))
    assert by_person[0][:5] == ["Name", "Email", "Organisation", "Service", "Command role"]
    assert len(by_person[0]) == 5 + len(headers) - 2  # a column per course on screen
    row = next(row for row in by_person if row[0] == "Ines Indate")
    required_of_her = [cell for cell in row[5:] if cell != "Not required"]
    assert required_of_her and all(c.startswith("In date until") for c in required_of_her)

    workbook = openpyxl.load_workbook(io.BytesIO(_download(
        page, "Excel workbook: summary and details")))
    summary = list(workbook["Summary"].iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(summary) if r and r[0] == "Command role")
    header = summary[header_at]
    all_rows = [r for r in summary[header_at + 1:] if r and r[0] == "All"]
    assert sum(r[header.index("People")] for r in all_rows) == required
    assert sum(r[header.index("Compliant")] for r in all_rows) == compliant
    overall = [r for r in summary[header_at + 1:] if r and r[0] == "Overall"]
    if overall:  # only when the summary has more than one course
        assert overall[-1][header.index("People")] == required
    assert workbook["Details"].freeze_panes == "A2"
    assert workbook["Details"].max_row - 1 == required

    pdf = PdfReader(io.BytesIO(_download(page, "PDF summary")))
    text = " ".join(p.extract_text() for p in pdf.pages)
    assert "Training compliance" in text and "Operational commander" in text

    problems += _axe(page, "dashboard by command role")
    assert problems == []


def test_the_dashboard_works_without_javascript(new_context, live_server, manager,
                                                trained_people):
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, live_server.url, manager.email)
    page.goto(f"{live_server.url}/manage/compliance")
    page.get_by_label("Rows by").select_option(label="Command role")
    page.get_by_label("Day", exact=True).fill("31")
    page.get_by_label("Month", exact=True).fill("2")
    page.get_by_label("Year", exact=True).fill("2026")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a real date")
    page.get_by_label("Day", exact=True).fill("28")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(".govuk-error-summary")).to_have_count(0)
    expect(page.locator(".govuk-caption-l")).to_have_text("As of 28 February 2026")


def test_a_manager_imports_people_and_adds_a_rule(new_context, live_server, manager, tmp_path):
    page = new_context(bypass_csp=True).new_page()
    problems = []
    sign_in(page, live_server.url, manager.email)
    page.get_by_role("link", name="People").click()
    page.get_by_role("link", name="Bulk import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bulk import")
    problems += _axe(page, "imports")
    page.get_by_role("heading", level=2).first.get_by_role("link").click()
    upload = tmp_path / "people.csv"
    upload.write_text("Name,Email,Organisation,Command role\n"
                      f"Petra Import,petra.import@example.org,{manager.organisation},tactical\n"
                      "Nobody,not-an-email,Nowhere Police,tactical\n", encoding="utf-8")
    page.get_by_label("CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your import")
    expect(page.locator("main")).to_contain_text("Petra Import")
    problems += _axe(page, "import check")
    save_screenshots(page, "import-check")
    page.get_by_role("button", name=re.compile("^Import 1 change")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import complete")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Accounts created 1")
    problems += _axe(page, "import done")
    save_screenshots(page, "import-done")

    page.goto(f"{live_server.url}/manage/requirements")
    expect(page.get_by_role("heading", level=1)).to_have_text("Required training")
    page.get_by_label("Course").select_option(index=1)
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Select one of the organisations you manage")
    problems += _axe(page, "requirements with an error")
    page.get_by_label("Organisation").select_option(label=manager.organisation)
    page.get_by_label("Command role").select_option(label="Staff (no command role)")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Rule added")
    problems += _axe(page, "requirements")
    save_screenshots(page, "requirements")
    assert problems == []
