"""Report downloads at scale: the CSV and XLSX writers against `csv.writer` writing the same
rows, for time; and each writer's peak memory (tracemalloc) at ten times the rows, which
should stay flat because both hold one row at a time. Exits non-zero if memory grows."""

from __future__ import annotations

import csv
import io
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jesip_learn.core.exports.csv_writer import csv_chunks  # noqa: E402
from jesip_learn.core.exports.heading import ReportHeading  # noqa: E402
from jesip_learn.core.exports.xlsx_writer import xlsx_chunks  # noqa: E402

SMALL, LARGE = 10_000, 100_000
ROUNDS = 3
#: Peak memory at LARGE rows may be at most this many times the peak at SMALL rows.
ALLOWED_GROWTH = 1.5

HEADING = ReportHeading("Training compliance", datetime(2026, 3, 31, 14, 5, tzinfo=UTC),
                        [("Service", "Police"), ("As of", "31 March 2026")], "Benchmark")
HEADER = ["Name", "Email", "Organisation", "Service", "Command role", "Course code", "Status",
          "Completed", "Expires", "Score"]
STATUSES = ("In date", "Expiring", "Expired", "In progress", "Not started")


def rows(count: int):
    """Realistic detail rows, made as they are read, as a database cursor hands them over."""
    start = date(2024, 1, 1)
    recorded = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    for n in range(count):
        yield (f"Learner {n}", f"learner{n}@example.police.uk", f"Organisation {n % 300}",
               "Police", "Operational", "JESIP-AWARE", STATUSES[n % 5],
               start + timedelta(days=n % 700), recorded + timedelta(hours=n % 20_000),
               n % 101)


def plain_csv(count: int) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for row in rows(count):
        writer.writerow(row)
        if buffer.tell() >= 64 * 1024:
            buffer.seek(0)
            buffer.truncate(0)


def export_csv(count: int) -> None:
    for _ in csv_chunks(HEADING, HEADER, rows(count)):
        pass


def export_xlsx(count: int) -> None:
    summary = [["Organisation 1", 100, 87.5]]
    for _ in xlsx_chunks(HEADING, ["Organisation", "People", "% compliant"], summary, HEADER,
                         rows(count)):
        pass


def best_of(rounds: int, action, count: int) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        action(count)
        timings.append(time.perf_counter() - started)
    return min(timings)


def peak(action, count: int) -> int:
    tracemalloc.start()
    try:
        action(count)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> int:
    export_xlsx(10)  # imports and caches before measuring
    print(f"{LARGE:,} detail rows of {len(HEADER)} columns")
    failed = []
    for name, action in (("CSV", export_csv), ("XLSX", export_xlsx)):
        # The baseline is measured right before each writer, so both see the same machine.
        baseline = best_of(ROUNDS, plain_csv, LARGE)
        seconds = best_of(1 if action is export_xlsx else ROUNDS, action, LARGE)
        small, large = peak(action, SMALL), peak(action, LARGE)
        growth = large / small
        print(f"  {name}: time / csv.writer {seconds / baseline:.2f}; peak memory "
              f"{LARGE:,} / {SMALL:,} rows {growth:.2f} ({small / 1024:.0f} KiB, "
              f"{large / 1024:.0f} KiB)")
        if growth > ALLOWED_GROWTH:
            failed.append(name)
    if failed:
        print(f"memory grew with the rows: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
