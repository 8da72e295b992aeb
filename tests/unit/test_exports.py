"""What every report writer shares: formula injection neutralised (cell_safety), the
download's file name, the summary rows ending with the overall total, no Flask, and memory
flat however many rows. Each writer's own tests: tests/unit/test_export_csv.py,
test_export_xlsx.py and test_export_pdf.py."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from jesip_learn.core.exports.cell_safety import FORMULA_TRIGGERS, neutralise
from jesip_learn.core.exports.csv_writer import csv_chunks
from jesip_learn.core.exports.heading import ReportHeading, download_filename
from jesip_learn.core.exports.xlsx_writer import xlsx_chunks
from tests.support.exports import DETAIL_HEADER, HEADING, SPRING

# neutralise -----------------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_neutralise_puts_a_quote_before_each_formula_trigger(trigger):
    assert neutralise(trigger + "HYPERLINK(\"http://x\")") == "'" + trigger + "HYPERLINK(\"http://x\")"
    assert neutralise(trigger) == "'" + trigger


def test_the_triggers_are_the_owasp_ones():
    assert set(FORMULA_TRIGGERS) == {"=", "+", "-", "@", "\t", "\r"}


@pytest.mark.parametrize("text", ["Avon", "", "a=b", "1-2", " =1", "'=1", "Tân"])
def test_neutralise_leaves_other_strings_alone(text):
    assert neutralise(text) == text


@pytest.mark.parametrize("separator", [";", ",", "\t", "\n", "\r"])
@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_neutralise_quotes_a_trigger_after_a_separator(separator, trigger):
    """Excel where the list separator is ";" splits "Smith;=1+1" into "Smith" and a formula;
    a tab or a line break starts a new cell too."""
    text = f"Smith{separator}{trigger}1+1"
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["Smith; Jones", "Smith, =1", "Ross-Smith", "a;b,c",
                                  "O'Brien;", "line\nnext", "Smith;"])
def test_neutralise_leaves_separators_without_a_trigger_alone(text):
    assert neutralise(text) == text


@pytest.mark.parametrize("value", [
    -1, -2.5, Decimal("-3.25"), 0, None, True, date(2026, 1, 1), SPRING, float("-inf"),
])
def test_neutralise_leaves_numbers_dates_and_none_alone(value):
    assert neutralise(value) is value


# Naming and layers ----------------------------------------------------------------------------


def test_download_filename_is_a_slug_and_the_london_date():
    late = ReportHeading("Training compliance: Police!", datetime(2026, 6, 30, 23, 30,
                                                                   tzinfo=UTC), [])
    assert download_filename(late, "csv") == "training-compliance-police-2026-07-01.csv"
    assert download_filename(ReportHeading("=!", SPRING, []), ".pdf") == "report-2026-03-31.pdf"


def test_exports_import_without_flask():
    code = ("import sys\n"
            "from jesip_learn.core.exports import (cell_safety, csv_writer, heading,\n"
            "    pdf_writer, xlsx_writer)\n"
            "print([m for m in ('flask', 'flask_login', 'flask_wtf') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


# The summary rows ---------------------------------------------------------------------------


def test_the_summary_rows_end_with_the_overall_total():
    from jesip_learn.compliance import report_rows
    from jesip_learn.compliance.dashboard import Cell, Matrix, MatrixRow
    from jesip_learn.compliance.requirements import CourseColumn
    from jesip_learn.compliance.states import STATES

    def cell(in_date, expired):
        counts = dict.fromkeys(STATES, 0)
        counts.update({"in-date": in_date, "expired": expired})
        return Cell(counts)

    courses = [CourseColumn(1, "A", "Course A"), CourseColumn(2, "B", "Course B")]
    row = MatrixRow("1", "Kent Police", "police", {1: cell(3, 1), 2: cell(1, 1)}, cell(4, 2))
    matrix = Matrix(None, courses, [row], {1: cell(3, 1), 2: cell(1, 1)}, cell(4, 2))
    rows = list(report_rows.summary_rows(matrix))
    assert rows[-1][:4] == ["Overall", "", "Every required course", 6]
    assert rows[-1][-2:] == [4, 66.7]
    assert report_rows.overall_in_words(matrix.total) == (
        "Overall: 66.7% compliant (4 of 6 required courses held in date)")
    one = Matrix(None, courses[:1], [row], {1: cell(3, 1)}, cell(3, 1))
    assert [r[0] for r in report_rows.summary_rows(one)] == ["Kent Police", "All"]


# Memory ---------------------------------------------------------------------------------------


def detail_rows(count: int):
    start = date(2025, 1, 1)
    for n in range(count):
        yield (f"Learner {n}", f"learner{n}@example.police.uk", f"Organisation {n % 300}",
               "JESIP-1", start + timedelta(days=n % 365),
               SPRING + timedelta(hours=n % 9000), n % 100)


def peak_bytes(write, count: int) -> int:
    tracemalloc.start()
    try:
        write(count)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def write_csv(count: int) -> None:
    for _ in csv_chunks(HEADING, DETAIL_HEADER + ["Score"], detail_rows(count)):
        pass


def write_xlsx_rows(count: int) -> None:
    for _ in xlsx_chunks(HEADING, ["Summary"], [["one"]], DETAIL_HEADER + ["Score"],
                         detail_rows(count)):
        pass


@pytest.mark.parametrize(("write", "small", "large"), [
    (write_csv, 2_000, 20_000),
    (write_xlsx_rows, 500, 5_000),
])
def test_memory_does_not_grow_with_the_number_of_rows(write, small, large):
    write(10)  # imports and caches before measuring
    ratio = peak_bytes(write, large) / peak_bytes(write, small)
    assert ratio < 1.5, f"peak memory grew {ratio:.2f} times for ten times the rows"
