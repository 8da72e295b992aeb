"""An organisation joins with two years of history: its people (with the days they joined
and left) and their past completions are imported through the import pages, and the reports
as of a year ago, the trend before it and every download agree with counts worked out here,
in plain Python, from the imported rows alone."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from pypdf import PdfReader

from jesip_learn.courses import catalogue as courses
from tests.support.web import read_page

VALID = Path(__file__).parent.parent / "content" / "fixtures" / "valid-course"
LONDON = ZoneInfo("Europe/London")
STATE_LABELS = {"in-date": "In date", "expiring": "Expiring", "expired": "Expired",
                "in-progress": "In progress", "not-started": "Not started"}


@dataclass
class Person:
    name: str
    email: str
    organisation: str
    joined: date | None
    left: date | None
    completed: list[date] = field(default_factory=list)


def _today() -> date:
    return datetime.now(LONDON).date()


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


def _end_of(day: date) -> datetime:
    return _start(day + timedelta(days=1)) - timedelta(microseconds=1)


def _a_year_later(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _history(seed: int, organisations: list[str]) -> list[Person]:
    """Thirty people over two years: most joined on a known day, some left, and each did
    the course (valid 12 months) up to three times, on days that fall before the day they
    left."""
    chance, today = random.Random(seed), _today()
    people = []
    for number in range(30):
        joined = today - timedelta(days=chance.randint(60, 1000))
        left = None
        if chance.random() < 0.25:
            left = joined + timedelta(days=chance.randint(30, (today - joined).days - 1))
        last = left or today
        completed = sorted({joined + timedelta(days=chance.randint(-200, (last - joined).days))
                            for _ in range(chance.choice([0, 1, 2, 2, 3]))})
        if chance.random() < 0.3:
            joined = None  # counts from the earliest completion, if any
        people.append(Person(f"Person {number:02d}", f"person{number:02d}@example.org",
                             chance.choice(organisations), joined, left,
                             [day for day in completed if day <= today]))
    return people


def _state(person: Person, moment: datetime, now: datetime) -> str | None:
    """Where the person stood at `moment`, or None when they did not belong then."""
    if person.joined is not None:
        start = _start(person.joined)
    else:  # from their account's creation, or their earliest completion's day
        start = min([now] + [_start(day) for day in person.completed])
    end = _start(person.left + timedelta(days=1)) if person.left else None
    if start > moment or (end is not None and end <= moment):
        return None
    done = [day for day in person.completed
            if datetime.combine(day, time(12), tzinfo=UTC) <= moment]
    if not done:
        return "not-started"
    expires = datetime.combine(_a_year_later(max(done)), time(12), tzinfo=UTC)
    if expires <= moment:
        return "expired"
    return "expiring" if expires - moment <= timedelta(days=90) else "in-date"


def _counts(people: list[Person], organisation: str, as_of: date, now: datetime) -> Counter:
    states = (_state(person, _end_of(as_of), now) for person in people
              if person.organisation == organisation)
    return Counter(state for state in states if state is not None)


def _month_ends(last: date, count: int = 12) -> list[date]:
    ends, month_end = [last], last.replace(day=1) - timedelta(days=1)
    while len(ends) < count:
        ends.append(month_end)
        month_end = month_end.replace(day=1) - timedelta(days=1)
    return ends[::-1]


def _upload_and_apply(browser, kind: str, text: str, source: str | None = None):
    form_url = f"/manage/imports/{kind}/new"
    fields = {"csrf_token": browser.get(form_url).csrf_token(),
              "file": (io.BytesIO(text.encode()), f"{kind}.csv")}
    if source:
        fields["source"] = source
    check = read_page(browser.client.post(form_url, data=fields, follow_redirects=True))
    assert check.status == 200 and check.h1 == "Check your import"
    assert check.errors == []
    form = check.soup.select_one("form[action$='/apply']")
    data = {tag["name"]: tag.get("value", "") for tag in form.select("input[name]")}
    done = read_page(browser.client.post(form["action"], data=data, follow_redirects=True))
    assert done.status == 200 and done.h1 == "Import complete"
    return check


@pytest.fixture
def course(session):
    outcome, = courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, outcome.code).course


def _csv_table(response) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    blank = next(index for index, row in enumerate(rows) if not any(row))
    return rows[blank + 1:]


def test_imported_history_shows_as_of_a_year_ago_in_the_trend_and_every_download(
        browser, make, session, course, organisation, other_organisation):
    now = datetime.now(UTC)
    people = _history(25, [organisation.name, other_organisation.name])
    admin = make.user(organisation=organisation, permissions={"admin"}, name="Ada Admin")
    browser.sign_in(admin.email)
    rows = "".join(f"{p.name},{p.email},{p.organisation},operational,"
                   f"{p.joined.isoformat() if p.joined else ''},"
                   f"{p.left.strftime('%d/%m/%Y') if p.left else ''}\n" for p in people)
    check = _upload_and_apply(browser, "users", "name,email,organisation,command role,joined,"
                              "left\n" + rows)
    assert [th.get_text(strip=True) for th in check.soup.select("thead th")][-3:] == [
        "Joined", "Left", "Result"]
    _upload_and_apply(browser, "completions", "email,course code,completion date\n" + "".join(
        f"{p.email},JESIP-AWARE,{day.isoformat()}\n" for p in people for day in p.completed),
        source="NCALT")
    browser.sign_out()
    manager = make.user(organisation=organisation, permissions={"manager"}, name="Mo Manager")
    browser.sign_in(manager.email)

    as_of = _today() - timedelta(days=365)
    expected = _counts(people, organisation.name, as_of, now)
    total, compliant = sum(expected.values()), expected["in-date"] + expected["expiring"]
    assert total > 0 and compliant > 0 and len(expected) >= 3  # a history worth checking
    args = f"as_of-day={as_of.day}&as_of-month={as_of.month}&as_of-year={as_of.year}"

    page = browser.get(f"/manage/compliance?{args}")
    assert page.status == 200 and page.h1 == "Training compliance"
    rows = page.soup.select("table.app-matrix tbody tr")
    assert [row.th.get_text(strip=True) for row in rows] == [organisation.name]
    assert f"{compliant} of {total}" in rows[0].find("td").get_text(" ", strip=True)
    for state, label in STATE_LABELS.items():
        figure = page.soup.find("dt", string=label).find_next("dd").get_text(" ", strip=True)
        assert figure.startswith(str(expected[state])), (state, figure)

    trend = [[cell.get_text(strip=True) for cell in row.find_all("td")] for row in page.soup.find(
        "caption", string="Compliant at the end of each month").find_parent("table").select(
        "tbody tr")]
    wanted = []
    for month_end in _month_ends(as_of):
        counts = _counts(people, organisation.name, month_end, now)
        wanted.append([f"{month_end.day} {month_end:%B %Y}",
                       str(counts["in-date"] + counts["expiring"]), str(sum(counts.values()))])
    assert [row[:3] for row in trend] == wanted
    assert sum(int(row[2]) for row in trend) > 0

    detail = browser.client.get(f"/manage/compliance/download/detail.csv?{args}")
    assert detail.status_code == 200
    table = _csv_table(detail)
    status, names = table[0].index("Status"), table[0].index("Name")
    assert Counter(row[status] for row in table[1:]) == Counter(
        {STATE_LABELS[state]: number for state, number in expected.items()})
    assert {row[names] for row in table[1:]} == {
        p.name for p in people if p.organisation == organisation.name
        and _state(p, _end_of(as_of), now) is not None}

    by_person = _csv_table(browser.client.get(
        f"/manage/compliance/download/by-person.csv?{args}"))
    assert len(by_person) - 1 == total

    workbook = openpyxl.load_workbook(io.BytesIO(browser.client.get(
        f"/manage/compliance/download/report.xlsx?{args}").data))
    summary = [list(row) for row in workbook["Summary"].iter_rows(values_only=True)]
    header_at = next(i for i, row in enumerate(summary) if row and row[0] == "Organisation")
    header = summary[header_at]
    data, = [row for row in summary[header_at + 1:] if row and row[0] == organisation.name]
    assert data[header.index("People")] == total
    assert data[header.index("Compliant")] == compliant
    for state, label in STATE_LABELS.items():
        assert data[header.index(label)] == expected[state]
    details = list(workbook["Details"].iter_rows(values_only=True))
    assert Counter(row[details[0].index("Status")] for row in details[1:]) == Counter(
        {STATE_LABELS[state]: number for state, number in expected.items()})
    assert {row[details[0].index("Completion recorded from")] for row in details[1:]} <= {
        "NCALT", None, ""}

    pdf = browser.client.get(f"/manage/compliance/download/summary.pdf?{args}")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert organisation.name in text and other_organisation.name not in text
    assert f"{as_of.day} {as_of:%B %Y}" in text
    assert f"{round(100 * compliant / total, 1)}" in text and str(total) in text
