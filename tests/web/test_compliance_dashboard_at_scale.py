"""The compliance dashboard with many rows: sorted by any column through links (no script
needed), paged with the totals of every row kept, the courses shown chosen by the manager,
summary figures that follow the status filter, and the chart's last month the headline's
own figure."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from jesip_learn.compliance import dashboard
from jesip_learn.compliance.dashboard import compliance_matrix, compliance_trend
from jesip_learn.compliance.report_filters import ReportFilters
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import Course
from jesip_learn.notifications import reports
from jesip_learn.notifications.models import ReportSubscription
from tests.web.test_compliance_pages import AS_OF_ARGS, MOMENT, VALID, _complete, _person

COMMANDERS = Path(__file__).resolve().parents[2] / "courses" / "jesip-commanders"


@pytest.fixture
def two_courses(session):
    for folder in (VALID, COMMANDERS):
        courses.import_parsed(session, courses.parse_folders(folder))
    session.commit()
    return {course.code: course for course in session.scalars(select(Course))}


@pytest.fixture
def three_organisations(session, make, two_courses, organisation, other_organisation):
    """Northshire Police: both in date (100%). Southshire Fire: one of two in date (50%).
    Eastshire Ambulance: nobody has done anything (0%)."""
    east = make.organisation(name="Eastshire Ambulance Service", service="ambulance")
    aware, commanders = two_courses["JESIP-AWARE"], two_courses["JESIP-CMD"]
    nia = _person(session, make, organisation, "Nia North")
    for course in (aware, commanders):
        _complete(session, nia, course, MOMENT - timedelta(days=20))
    sam = _person(session, make, other_organisation, "Sam South")
    _complete(session, sam, aware, MOMENT - timedelta(days=20))
    _person(session, make, east, "Eve East")
    return {"north": organisation, "south": other_organisation, "east": east}


@pytest.fixture
def as_admin(browser, make, organisation, three_organisations):
    browser.sign_in(make.user(organisation=organisation, permissions={"admin"},
                              name="Ada Admin").email)
    return browser


def _rows(page) -> list[str]:
    return [row.th.get_text(strip=True) for row in page.soup.select("table.app-matrix tbody tr")]


def _header_link(page, text: str) -> str:
    for header in page.soup.select("table.app-matrix thead th"):
        if header.get_text(" ", strip=True).startswith(text):
            return header.a["href"]
    raise AssertionError(f"no column {text!r}")


def _headers(page) -> list[str]:
    return [th.get_text(" ", strip=True).rstrip("▲▼ ")
            for th in page.soup.select("table.app-matrix thead th")]


def test_rows_sort_by_any_column_through_links(as_admin):
    page = as_admin.get(f"/manage/compliance?{AS_OF_ARGS}")
    assert page.status == 200
    assert _rows(page) == ["Eastshire Ambulance Service", "Northshire Police",
                           "Southshire Fire and Rescue Service"]
    # The total of every course comes straight after the name, in view on a phone.
    assert _headers(page)[:2] == ["Organisation", "All required courses"]
    assert page.soup.select_one("th[aria-sort]").get_text(strip=True).startswith("Organisation")

    by_total = as_admin.get(_header_link(page, "All required courses"))
    assert by_total.status == 200
    assert _rows(by_total) == ["Eastshire Ambulance Service",
                               "Southshire Fire and Rescue Service", "Northshire Police"]
    assert by_total.soup.select_one("th[aria-sort]")["aria-sort"] == "ascending"
    assert "sorted by all required courses (fewest compliant first)" in by_total.text

    largest_first = as_admin.get(_header_link(by_total, "All required courses"))
    assert _rows(largest_first) == ["Northshire Police", "Southshire Fire and Rescue Service",
                                    "Eastshire Ambulance Service"]
    assert largest_first.soup.select_one("th[aria-sort]")["aria-sort"] == "descending"

    by_commanders = as_admin.get(_header_link(page, "JESIP-CMD"))
    # Eastshire and Southshire both hold none of it: equal shares stay in name order.
    assert _rows(by_commanders) == ["Eastshire Ambulance Service",
                                    "Southshire Fire and Rescue Service", "Northshire Police"]
    by_name_backwards = as_admin.get(_header_link(page, "Organisation"))
    assert _rows(by_name_backwards)[0] == "Southshire Fire and Rescue Service"
    # Anything else sorts by name, as the page first shows it.
    odd = as_admin.get(f"/manage/compliance?{AS_OF_ARGS}&sort=999999&order=sideways")
    assert odd.status == 200 and _rows(odd) == _rows(page)


def test_sorting_by_a_status_counts_the_people_in_it(as_admin):
    page = as_admin.get(f"/manage/compliance?{AS_OF_ARGS}&status=not-started&sort=all"
                        "&order=desc")
    assert page.status == 200
    # Eve has started neither course (2), Sam not the commanders' course (1), Nia none (0).
    assert _rows(page) == ["Eastshire Ambulance Service", "Southshire Fire and Rescue Service",
                           "Northshire Police"]


def test_long_tables_are_paged_and_the_totals_count_every_row(as_admin, monkeypatch):
    monkeypatch.setattr(dashboard, "MATRIX_PAGE_SIZE", 2)
    page = as_admin.get(f"/manage/compliance?{AS_OF_ARGS}&sort=all&order=desc")
    assert page.status == 200
    assert _rows(page) == ["Northshire Police", "Southshire Fire and Rescue Service"]
    assert "Organisations 1 to 2 of 3" in page.text
    totals = page.soup.select_one("table.app-matrix tfoot tr")
    assert totals.th.get_text(strip=True) == "All organisations"
    # Three of the six requirements of all three organisations, not only this page's.
    assert "3 of 6" in totals.find_all("td")[0].get_text(" ", strip=True)

    following = page.soup.select_one(".govuk-pagination__next a")["href"]
    query = parse_qs(urlsplit(following).query)
    assert query["page"] == ["2"] and query["sort"] == ["all"] and query["order"] == ["desc"]
    second = as_admin.get(following)
    assert second.status == 200 and _rows(second) == ["Eastshire Ambulance Service"]
    beyond = as_admin.get(f"/manage/compliance?{AS_OF_ARGS}&page=99")
    assert beyond.status == 200 and _rows(beyond) == ["Southshire Fire and Rescue Service"]


def test_a_manager_chooses_the_courses_shown(as_admin, two_courses):
    commanders = two_courses["JESIP-CMD"]
    page = as_admin.get(f"/manage/compliance?{AS_OF_ARGS}")
    boxes = page.soup.select("input[name=courses]")
    assert len(boxes) == 2 and not any(box.has_attr("checked") for box in boxes)

    chosen = as_admin.get(f"/manage/compliance?{AS_OF_ARGS}&courses={commanders.id}")
    assert chosen.status == 200 and chosen.errors == []
    assert _headers(chosen) == ["Organisation", "All required courses", "JESIP-CMD"]
    assert chosen.soup.select_one(f"input[name=courses][value='{commanders.id}']"
                                  ).has_attr("checked")
    # The totals and the headline count the chosen course only: Nia alone holds it.
    assert "1 of 3 course requirements" in chosen.text
    people = chosen.soup.select_one("table.app-matrix tbody td a")["href"]
    assert parse_qs(urlsplit(people).query)["courses"] == [str(commanders.id)]
    assert as_admin.get(people).status == 200

    refused = as_admin.get(f"/manage/compliance?{AS_OF_ARGS}&courses=nonsense")
    assert refused.status == 200
    assert refused.errors == ["Select courses from the list"]
    refused.error_links()
    assert len(_headers(refused)) == 4  # every course, as with none chosen


def test_the_summary_follows_the_status_filter(as_admin):
    def cards(query):
        page = as_admin.get(f"/manage/compliance?{AS_OF_ARGS}{query}")
        assert page.status == 200
        return [dt.get_text(strip=True) for dt in page.soup.select(".app-key-figure dt")]

    assert cards("") == ["Compliant", "In date", "Expiring", "Expired", "In progress",
                         "Not started"]
    assert cards("&status=expired") == ["Compliant", "Expired"]
    assert cards("&status=not-compliant") == ["Compliant", "Not compliant", "Expired",
                                             "In progress", "Not started"]


def test_the_charts_last_month_is_the_headlines_figure(as_admin):
    page = as_admin.get(f"/manage/compliance?{AS_OF_ARGS}")
    headline = page.soup.select_one(".app-key-figure dd:nth-of-type(2)").get_text(strip=True)
    caption = page.soup.find("caption", string="Compliant at the end of each month")
    last = caption.find_parent("table").select("tbody tr")[-1]
    as_of, compliant, required, percent = [td.get_text(strip=True) for td in last("td")]
    assert as_of == "31 March 2026"
    assert headline == f"{compliant} of {required} course requirements"
    assert percent == page.soup.select_one(".app-key-figure dd").get_text(strip=True)
    desc = page.soup.select_one("#trend-desc").get_text()
    assert desc.rstrip().endswith(f"Mar 2026: {float(percent.rstrip('%'))}%.")


def test_the_trend_takes_the_last_point_it_is_given(session, three_organisations):
    filters = ReportFilters(as_of=MOMENT.date())
    matrix = compliance_matrix(session, None, filters)
    counted = compliance_trend(session, None, filters, months=2)
    given = compliance_trend(session, None, filters, months=2, last=matrix.total)
    assert counted == given
    assert (given[-1].compliant, given[-1].total) == (matrix.total.compliant,
                                                      matrix.total.total)


def test_a_scheduled_report_keeps_the_courses_chosen(as_admin, session, two_courses):
    commanders = two_courses["JESIP-CMD"]
    dashboard = as_admin.get(f"/manage/compliance?{AS_OF_ARGS}&courses={commanders.id}")
    link = dashboard.soup.find("a", string="Email me this report")["href"]
    form = as_admin.get(link)
    assert form.status == 200
    assert "Courses shown: JESIP-CMD" in form.soup.find(id="report-filters").get_text(" ")
    hidden = form.soup.find("input", attrs={"name": "filters"})["value"]
    assert hidden == f"courses={commanders.id}"
    listing = as_admin.submit("/manage/subscriptions/new", {
        "filters": hidden, "name": "Commanders", "file_format": "csv", "frequency": "weekly"},
        form_url=link)
    assert listing.status == 200 and listing.h1 == "Scheduled reports"
    subscription = session.scalar(select(ReportSubscription))
    filters, problems = reports.read_filters(session, subscription.user, subscription.filters,
                                             MOMENT.date())
    assert filters.course_ids == (commanders.id,) and problems == []
    _, problems = reports.read_filters(session, subscription.user, "courses=999999",
                                       MOMENT.date())
    assert problems == ["courses"]
