"""The PDF report writer (the board paper), read back with pypdf: the heading, the table with
its names and numbers, its header repeated on every page, long names wrapped or cut short,
portrait or landscape by the table's width, the chart with each bar's figure and its scale on
every page, the overall figure first, and dates and times in London."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from pypdf import PdfReader

from jesip_learn.core.exports.heading import ReportHeading
from jesip_learn.core.exports.pdf_writer import pdf_summary
from tests.support.exports import HEADING, SUMMARY_HEADER, SUMMARY_ROWS, WINTER, flat, pdf_pages

# PDF ------------------------------------------------------------------------------------------


def test_pdf_has_the_heading_table_names_and_numbers():
    data = pdf_summary(HEADING, SUMMARY_HEADER, SUMMARY_ROWS)
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Training compliance"
    text = flat(pdf_pages(data)[0])
    for expected in ("Training compliance", "31 March 2026, 15:05 BST", "Sam Jones", "Police",
                     "Learners in scope", "Avon and Somerset Constabulary",
                     "Gwasanaeth Tân ac Achub Canolbarth a Gorllewin Cymru",
                     "Kent Fire and Rescue Service", "1,234", "1,080", "87.5", "64.5"):
        assert expected in text, expected
    assert "Percentage compliant" not in text


def test_pdf_table_spanning_pages_repeats_its_header():
    rows = [[f"Organisation number {n}", 100 + n, n, 50.0] for n in range(150)]
    pages = pdf_pages(pdf_summary(HEADING, SUMMARY_HEADER, rows))
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert "Learners in scope" in flat(text), f"page {number} has no header"
        assert f"Page {number} of {len(pages)}" in text
    whole = flat(" ".join(pages))
    assert all(f"Organisation number {n} " in whole for n in range(150))
    assert "Training compliance" in pages[0] and "Police" in pages[0]


def test_pdf_wraps_long_names_and_cuts_very_long_ones_short():
    wrapped = "The Joint Emergency Services Interoperability Principles Regional Resilience " \
              "Forum for the Very Long Named County"
    cut = "Word " * 60
    data = pdf_summary(HEADING, SUMMARY_HEADER, [[wrapped, 1, 1, 100.0], [cut, 2, 2, 100.0]])
    text = pdf_pages(data)[0]
    assert wrapped in flat(text)
    assert "\n" in text[text.index("The Joint"):text.index("County")]
    assert "…" in text
    assert flat(text).count("Word") < 60


WIDE_HEADER = ["Organisation", "Course code", "Course", "People", "In date", "Expiring",
               "Expired", "In progress", "Not started", "Compliant", "% compliant"]
WIDE_ROW = ["North West Ambulance Service NHS Trust", "JESIP-AWARE",
            "JESIP awareness for operational responders", 12345, 10000, 300, 200, 145, 1700,
            10300, 83.4]


def page_sizes(data: bytes) -> set[tuple[float, float]]:
    return {(round(float(page.mediabox.width)), round(float(page.mediabox.height)))
            for page in PdfReader(io.BytesIO(data)).pages}


def test_pdf_is_portrait_for_a_narrow_table():
    assert page_sizes(pdf_summary(HEADING, SUMMARY_HEADER, SUMMARY_ROWS)) == {(595, 842)}


def test_pdf_turns_landscape_for_a_wide_table_and_keeps_figures_whole():
    chart = [(f"Organisation {n}", 50.0) for n in range(40)]
    data = pdf_summary(HEADING, WIDE_HEADER, [WIDE_ROW] * 40, chart=chart)
    assert page_sizes(data) == {(842, 595)}
    pages = pdf_pages(data)
    first = pages[0]
    assert "12,345 10,000 300 200 145 1,700 10,300 83.4" in first
    assert "JESIP-AWARE" in first
    assert "Percentage compliant (continued)" in " ".join(pages[1:])


def test_pdf_chart_labels_each_bar_with_its_number():
    chart = [("Avon and Somerset Constabulary", 87.5), ("Kent Fire and Rescue Service", 42.25),
             ("Cumbria Police", 100.0), ("Isles of Scilly", None)]
    text = flat(pdf_pages(pdf_summary(HEADING, SUMMARY_HEADER, SUMMARY_ROWS, chart=chart))[0])
    assert "Percentage compliant" in text
    for expected in ("87.5%", "42.3%", "100.0%", "no learners", "Cumbria Police",
                     "0% 25% 50% 75% 100%"):
        assert expected in text, expected


def test_pdf_chart_across_pages_repeats_its_scale():
    chart = [(f"Organisation {n}", float(n % 101)) for n in range(90)]
    pages = pdf_pages(pdf_summary(HEADING, SUMMARY_HEADER, SUMMARY_ROWS, chart=chart))
    assert len(pages) >= 2
    assert all("0% 25% 50% 75% 100%" in flat(text) for text in pages)
    whole = flat(" ".join(pages))
    assert all(f"Organisation {n} {n % 101}.0%" in whole for n in range(90))


def test_pdf_says_so_when_there_are_no_rows():
    text = pdf_pages(pdf_summary(HEADING, SUMMARY_HEADER, []))[0]
    assert "Learners in scope" in flat(text)
    assert "There are no rows for these filters." in flat(text)


def test_pdf_shows_dates_and_times_in_london():
    data = pdf_summary(ReportHeading("Completions", WINTER, []), ["When", "Date"],
                       [[datetime(2026, 6, 1, 23, 30, tzinfo=UTC), date(2026, 2, 3)]])
    text = flat(pdf_pages(data)[0])
    assert "15 January 2026, 09:30 GMT" in text
    assert "2 June 2026, 00:30" in text and "3 February 2026" in text
    assert "Generated by" not in text


def test_pdf_opens_with_the_overall_figure_before_the_table():
    text = flat(pdf_pages(pdf_summary(HEADING, SUMMARY_HEADER, SUMMARY_ROWS,
                                      overall="Overall: 87.5% compliant"))[0])
    assert text.index("Overall: 87.5% compliant") < text.index("Learners in scope")


def test_pdf_chart_puts_a_long_label_on_two_lines_rather_than_cutting_it():
    long = "Gwasanaeth Tân ac Achub Canolbarth a Gorllewin Cymru Mid and West Wales"
    text = pdf_pages(pdf_summary(HEADING, SUMMARY_HEADER, SUMMARY_ROWS,
                                 chart=[(long, 50.0)]))[0]
    chart = flat(text[text.index("Percentage compliant"):])
    assert long in chart and "…" not in chart
