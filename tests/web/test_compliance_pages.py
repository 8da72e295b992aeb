"""The compliance dashboard, drill-down, learner record, downloads and requirement rules:
scope on every page and file, and every format agreeing with counts made independently."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from jesip_learn.compliance.models import Requirement
from jesip_learn.compliance.report_filters import end_of_day
from jesip_learn.compliance.states import STATE_LABELS, STATES
from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion, ItemProgress
from jesip_learn.records.models import AuditEvent

VALID = Path(__file__).parent.parent / "content" / "fixtures" / "valid-course"
AS_OF = date(2026, 3, 31)
MOMENT = end_of_day(AS_OF)
AS_OF_ARGS = "as_of-day=31&as_of-month=3&as_of-year=2026"


@pytest.fixture
def course(session):
    outcome, = courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, outcome.code).course


def _person(session, make, organisation, name, days_old=800, role="operational"):
    person = make.user(organisation=organisation, name=name, command_role=role)
    person.created_at = person.approved_at = person.joined_at = MOMENT - timedelta(
        days=days_old)
    session.commit()
    return person


def _complete(session, person, course, when, source=""):
    session.add(Completion(
        user_id=person.id, course_id=course.id,
        version_id=None if source else course.published_version_id, completed_at=when,
        expires_at=progress.add_months(when, 12),
        certificate_code=None if source else progress.new_certificate_code(), source=source))
    session.commit()


@pytest.fixture
def people(session, make, course, organisation, other_organisation):
    """Northshire Police: one in date, one expiring, one expired, one in progress.
    Southshire Fire: one in date, one never started."""
    north = {name: _person(session, make, organisation, name) for name in (
        "Nia North", "Noel North", "Nora North", "Ned North")}
    _complete(session, north["Nia North"], course, MOMENT - timedelta(days=20))
    _complete(session, north["Noel North"], course, MOMENT - timedelta(days=330))
    _complete(session, north["Nora North"], course, MOMENT - timedelta(days=500))
    session.add(ItemProgress(user_id=north["Ned North"].id, course_id=course.id,
                             item_slug="introduction", started_at=MOMENT - timedelta(days=2)))
    session.commit()
    south = {name: _person(session, make, other_organisation, name) for name in (
        "Sam South", "Sue South")}
    _complete(session, south["Sam South"], course, MOMENT - timedelta(days=10), source="NCALT")
    return {**north, **south}


def _manager(make, organisation, name):
    return make.user(organisation=organisation, name=name, permissions={"manager"})


@pytest.fixture
def as_north_manager(browser, make, organisation, people):
    browser.sign_in(_manager(make, organisation, "Mina Manager").email)
    return browser


@pytest.fixture
def as_admin(browser, make, organisation, people):
    browser.sign_in(make.user(organisation=organisation, permissions={"admin"},
                              name="Ada Admin").email)
    return browser


PAGES = ["/manage/compliance", "/manage/compliance/learners", "/manage/requirements",
         "/manage/compliance/download/detail.csv"]


@pytest.mark.parametrize("path", PAGES)
def test_learners_and_trainers_are_refused(browser, make, organisation, path):
    browser.sign_in(make.user(organisation=organisation, permissions={"trainer"}).email)
    assert browser.client.get(path).status_code == 403


def test_the_dashboard_shows_the_matrix_for_the_managers_organisation(as_north_manager,
                                                                     organisation):
    page = as_north_manager.get(f"/manage/compliance?{AS_OF_ARGS}")
    assert page.status == 200 and page.h1 == "Training compliance"
    rows = page.soup.select("table.app-matrix tbody tr")
    assert [row.th.get_text(strip=True) for row in rows] == ["Northshire Police"]
    # In date and expiring of four people: 50% compliant, with the band in words.
    cell = rows[0].find_all("td")[0].get_text(" ", strip=True)
    assert "50.0%" in cell and "poor" in cell and "2 of 4" in cell
    assert "Southshire" not in page.text and "Sam South" not in page.text
    assert page.soup.select_one("svg[role=img] title") is not None


def test_the_administrator_sees_every_organisation(as_admin):
    page = as_admin.get(f"/manage/compliance?{AS_OF_ARGS}")
    labels = [row.th.get_text(strip=True)
              for row in page.soup.select("table.app-matrix tbody tr")]
    assert labels == ["Northshire Police", "Southshire Fire and Rescue Service"]


def test_as_of_turns_back_the_clock(as_north_manager):
    page = as_north_manager.get("/manage/compliance/learners?status=compliant&"
                                "as_of-day=1&as_of-month=1&as_of-year=2025")
    # On 1 January 2025 only Nora's completion (about 16 months before 31 March 2026) existed.
    names = [a.get_text(strip=True) for a in page.soup.select("table a[href*='/learners/']")]
    assert names == ["Nora North"]


def test_bad_filters_are_reported_not_guessed(as_north_manager, other_organisation):
    page = as_north_manager.get(f"/manage/compliance?organisation={other_organisation.id}"
                                "&status=bogus&as_of-day=31&as_of-month=2&as_of-year=2026")
    assert page.status == 200
    assert page.errors == ["Enter a real date, for example 31 3 2026",
                           "Select an organisation from the list",
                           "Select a status from the list"]
    page.error_links()
    assert "Southshire" not in page.soup.select_one("table.app-matrix").text
    future = as_north_manager.get("/manage/compliance?as_of-day=1&as_of-month=1"
                                  "&as_of-year=2999")
    assert future.errors == ["The date must be today or in the past"]


def test_drill_down_lists_the_people_behind_a_number(as_north_manager, organisation, course):
    page = as_north_manager.get(f"/manage/compliance?{AS_OF_ARGS}")
    link = page.soup.select_one("table.app-matrix tbody td a")["href"]
    people = as_north_manager.get(link + "&status=not-compliant")
    names = [a.get_text(strip=True) for a in people.soup.select("table a[href*='/learners/']")]
    assert names == ["Ned North", "Nora North"]
    assert "In progress" in people.text and "Expired" in people.text
    record = as_north_manager.get(people.soup.select_one("table a[href*='/learners/']")["href"])
    assert record.status == 200 and record.h1 == "Ned North"
    assert "In progress" in record.text


def test_a_manager_cannot_reach_another_organisations_people(as_north_manager, people,
                                                             other_organisation):
    sam = people["Sam South"]
    assert as_north_manager.client.get(f"/manage/learners/{sam.id}").status_code == 404
    group = as_north_manager.get(f"/manage/compliance/learners?group_key={other_organisation.id}")
    assert group.status == 404
    download = as_north_manager.client.get(
        f"/manage/compliance/download/detail.csv?group_key={other_organisation.id}")
    assert download.status_code == 404
    download = as_north_manager.client.get(
        f"/manage/compliance/download/detail.csv?organisation={other_organisation.id}")
    assert download.status_code == 400


def _csv_rows(response) -> tuple[list[list[str]], list[list[str]]]:
    text = response.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    blank = rows.index([]) if [] in rows else next(i for i, r in enumerate(rows) if not any(r))
    return rows[:blank], rows[blank + 1:]


def test_downloads_hold_what_the_screen_shows(as_north_manager, session):
    detail = as_north_manager.client.get(
        f"/manage/compliance/download/detail.csv?{AS_OF_ARGS}&status=not-compliant")
    assert detail.status_code == 200
    assert "attachment" in detail.headers["Content-Disposition"]
    heading, table = _csv_rows(detail)
    flat = " ".join(" ".join(row) for row in heading)
    assert "Training compliance" in flat and "31 March 2026" in flat and "Not compliant" in flat
    assert table[0][:3] == ["Name", "Email", "Organisation"]
    assert [row[0] for row in table[1:]] == ["Ned North", "Nora North"]

    pivot = as_north_manager.client.get(f"/manage/compliance/download/by-person.csv?{AS_OF_ARGS}")
    _heading, table = _csv_rows(pivot)
    assert [row[0] for row in table[1:]] == ["Ned North", "Nia North", "Noel North",
                                             "Nora North"]
    assert table[1][-1] == "In progress" and table[2][-1].startswith("In date until")

    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "report.downloaded"))
    assert {event.details["kind"] for event in audit} == {"detail.csv", "by-person.csv"}


def _independent_counts(session, people, scope_ids, as_of_moment):
    """Each person's state from their completions and progress, in plain Python."""
    counts: Counter = Counter()
    for person in people:
        if person.organisation_id not in scope_ids or person.joined_at > as_of_moment:
            continue
        done = [c for c in session.scalars(select(Completion).where(
            Completion.user_id == person.id)) if c.completed_at <= as_of_moment]
        if not done:
            started = session.scalar(select(ItemProgress).where(
                ItemProgress.user_id == person.id, ItemProgress.started_at <= as_of_moment))
            counts["in-progress" if started else "not-started"] += 1
            continue
        latest = max(done, key=lambda c: c.completed_at)
        if latest.expires_at <= as_of_moment:
            counts["expired"] += 1
        elif latest.expires_at - as_of_moment <= timedelta(days=90):
            counts["expiring"] += 1
        else:
            counts["in-date"] += 1
    return counts


def test_dashboard_csv_xlsx_and_pdf_agree_with_an_independent_count(
        session, make, course, organisation, other_organisation, browser):
    chance = random.Random(7)
    everyone = []
    for number in range(40):
        org = chance.choice([organisation, other_organisation])
        person = _person(session, make, org, f"Person {number:02d}",
                         days_old=chance.randint(0, 900))
        everyone.append(person)
        for _ in range(chance.choice([0, 1, 1, 2])):
            _complete(session, person, course, MOMENT - timedelta(days=chance.randint(0, 800)))
        if chance.random() < 0.3:
            session.add(ItemProgress(user_id=person.id, course_id=course.id, item_slug="x",
                                     started_at=MOMENT - timedelta(days=chance.randint(0, 99))))
            session.commit()
    manager = _manager(make, organisation, "Mo Manager")
    manager.created_at = manager.approved_at = manager.joined_at = datetime(
        2030, 1, 1, tzinfo=UTC)  # not counted
    session.commit()
    expected = _independent_counts(session, everyone, {organisation.id}, MOMENT)
    compliant = expected["in-date"] + expected["expiring"]
    total = sum(expected.values())
    browser.sign_in(manager.email)

    page = browser.get(f"/manage/compliance?{AS_OF_ARGS}")
    cell = page.soup.select_one("table.app-matrix tbody td").get_text(" ", strip=True)
    assert f"{compliant} of {total}" in cell
    for state in STATES:
        figure = page.soup.find("dt", string=STATE_LABELS[state])
        assert figure.find_next("dd").get_text(" ", strip=True).startswith(str(expected[state]))

    detail = browser.client.get(f"/manage/compliance/download/detail.csv?{AS_OF_ARGS}")
    _heading, table = _csv_rows(detail)
    status_column = table[0].index("Status")
    assert Counter(row[status_column] for row in table[1:]) == Counter(
        {STATE_LABELS[s]: n for s, n in expected.items()})

    workbook = openpyxl.load_workbook(io.BytesIO(
        browser.client.get(f"/manage/compliance/download/report.xlsx?{AS_OF_ARGS}").data))
    summary = [list(row) for row in workbook["Summary"].iter_rows(values_only=True)]
    header_at = next(i for i, row in enumerate(summary) if row and row[0] == "Organisation")
    header = summary[header_at]
    data = [row for row in summary[header_at + 1:] if row and row[0] == "Northshire Police"]
    assert data[0][header.index("People")] == total
    assert data[0][header.index("Compliant")] == compliant
    details = list(workbook["Details"].iter_rows(values_only=True))
    assert Counter(row[details[0].index("Status")] for row in details[1:]) == Counter(
        {STATE_LABELS[s]: n for s, n in expected.items()})
    completed_column = details[0].index("Completed")
    assert any(isinstance(row[completed_column], datetime) for row in details[1:])

    pdf = browser.client.get(f"/manage/compliance/download/summary.pdf?{AS_OF_ARGS}")
    assert pdf.headers["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Northshire Police" in text and str(total) in text
    assert f"{round(100 * compliant / total, 1)}" in text


def test_cells_that_look_like_formulas_are_neutralised(as_admin, session, people):
    people["Nia North"].name = "=HYPERLINK(\"http://evil.example\",\"x\")"
    session.commit()
    detail = as_admin.client.get(f"/manage/compliance/download/detail.csv?{AS_OF_ARGS}")
    _heading, table = _csv_rows(detail)
    assert any(row[0].startswith("'=HYPERLINK") for row in table[1:])
    workbook = openpyxl.load_workbook(io.BytesIO(
        as_admin.client.get(f"/manage/compliance/download/report.xlsx?{AS_OF_ARGS}").data))
    names = [row[0] for row in workbook["Details"].iter_rows(values_only=True)]
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in names


def test_managers_add_and_remove_rules_for_their_organisation(as_north_manager, session,
                                                              course, organisation,
                                                              other_organisation):
    page = as_north_manager.submit("/manage/requirements", {
        "course_id": str(course.id), "organisation_id": str(other_organisation.id),
        "service": "", "command_role": ""})
    assert page.status == 400
    assert page.errors == ["Select one of the organisations you manage"]
    page = as_north_manager.submit("/manage/requirements", {
        "course_id": str(course.id), "organisation_id": str(organisation.id),
        "service": "", "command_role": "staff"})
    assert page.status == 200
    assert any("Rule added" in n for n in page.notifications)
    rule = session.scalar(select(Requirement))
    assert rule.organisation_id == organisation.id and rule.command_role == "staff"
    as_north_manager.submit(f"/manage/requirements/{rule.id}/remove", {},
                            form_url="/manage/requirements")
    session.expire_all()
    assert session.scalar(select(Requirement)) is None
    actions = [e.action for e in session.scalars(select(AuditEvent).where(
        AuditEvent.action.like("requirement.%")))]
    assert actions == ["requirement.added", "requirement.removed"]


def test_rule_forms_need_their_csrf_token(as_north_manager, course, organisation):
    response = as_north_manager.client.post("/manage/requirements", data={
        "course_id": str(course.id), "organisation_id": str(organisation.id)})
    assert response.status_code in (400, 403)
