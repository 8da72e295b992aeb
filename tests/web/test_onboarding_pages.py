"""The pages an organisation meets when it joins: the people import's joined and left
columns, and a trend that shows an import at once."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from jesip_learn.accounts.models import User
from jesip_learn.courses import catalogue as courses
from tests.support.web import read_page

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"


@pytest.fixture
def course_version(session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, "JESIP-AWARE")


@pytest.fixture
def as_admin(browser, make, organisation):
    browser.sign_in(make.user(organisation=organisation, permissions={"admin"},
                              name="Ada Admin").email)
    return browser


def upload(browser, kind, text, source=None):
    form_url = f"/manage/imports/{kind}/new"
    fields = {"csrf_token": browser.get(form_url).csrf_token(),
              "file": (io.BytesIO(text.encode()), f"{kind}.csv")}
    if source:
        fields["source"] = source
    return read_page(browser.client.post(form_url, data=fields, follow_redirects=True))


def apply(browser, page):
    form = page.soup.select_one("form[action$='/apply']")
    data = {tag["name"]: tag.get("value", "") for tag in form.select("input[name]")}
    return read_page(browser.client.post(form["action"], data=data, follow_redirects=True))


# --- the people import --------------------------------------------------------------------


def test_the_upload_page_explains_the_optional_dates(as_admin):
    page = as_admin.get("/manage/imports/users/new")
    assert page.status == 200
    columns = next(p for p in page.soup.select("main p") if "names its columns" in p.text)
    assert ("names its columns: name, email, organisation, command role, and if you wish "
            "joined, left, permissions.") in " ".join(columns.get_text().split())
    assert "joined (optional): the day the person joined the organisation" in page.text


def test_the_check_shows_joined_and_left_only_when_the_file_has_them(as_admin, organisation,
                                                                     session, outbox):
    plain = upload(as_admin, "users", "name,email,organisation,command role\n"
                   "Nia New,nia@example.org,Northshire Police,staff\n")
    assert plain.status == 200
    headings = [th.get_text(strip=True) for th in plain.soup.select("thead th")]
    assert "Joined" not in headings and "Left" not in headings

    page = upload(as_admin, "users", "name,email,organisation,command role,joined,left\n"
                  "Nia New,nia@example.org,Northshire Police,staff,2024-04-02,\n"
                  "Lee Leaver,lee@example.org,Northshire Police,staff,2023-01-09,30/06/2025\n"
                  "Fay Future,fay@example.org,Northshire Police,staff,2999-01-01,\n")
    assert page.status == 200
    assert [th.get_text(strip=True) for th in page.soup.select("thead th")] == [
        "Line", "Name", "Email", "Organisation", "Command role", "Joined", "Left", "Result"]
    rows = {tr["id"]: " ".join(tr.get_text(" ", strip=True).split())
            for tr in page.soup.select("tbody tr")}
    assert "2024-04-02" in rows["line-2"] and "Joined on 2 April 2024" in rows["line-2"]
    assert ("Last day 30 June 2025: the account is made deactivated and no email is sent"
            in rows["line-3"])
    assert page.errors == ["Line 4: The joined date 1 January 2999 is in the future"]
    page.error_links()

    done = apply(as_admin, page)
    assert done.notifications == ["2 accounts created and 0 accounts updated. 1 email sent to "
                                  "new people to choose a password; none to those recorded as "
                                  "having left. 1 row with errors skipped."]
    assert "Each new person who has not left has been sent an email" in done.text
    assert [mail.to for mail in outbox] == ["nia@example.org"]
    session.expire_all()
    lee = session.scalar(select(User).where(User.email == "lee@example.org"))
    assert lee.status == "deactivated"


def test_an_import_shows_in_the_trend_at_once(as_admin, organisation, course_version):
    """A manager looks at last year's position, imports the history, and looks again: every
    worker works the trend out again after an import."""
    as_of = datetime.now(UTC).date() - timedelta(days=365)
    args = f"as_of-day={as_of.day}&as_of-month={as_of.month}&as_of-year={as_of.year}"

    def trend_totals():
        page = as_admin.get(f"/manage/compliance?{args}")
        assert page.status == 200
        caption = page.soup.find("caption", string="Compliant at the end of each month")
        if caption is None:
            return []
        return [int(row.find_all("td")[2].get_text(strip=True))
                for row in caption.find_parent("table").select("tbody tr")]

    assert sum(trend_totals()) == 0
    joined = as_of - timedelta(days=400)
    page = upload(as_admin, "users", "name,email,organisation,command role,joined\n"
                  f"Nia New,nia@example.org,Northshire Police,staff,{joined.isoformat()}\n")
    apply(as_admin, page)
    assert trend_totals() == [1] * 12
