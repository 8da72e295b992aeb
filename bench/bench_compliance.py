"""Compliance reports at scale: the matrix of every organisation, one organisation's matrix
and the detail CSV export, each against hand-written SQL that yields the same numbers (or
the same rows, written with csv.writer), on SQLite and on PostgreSQL; and the export's
peak Python memory at two sizes, which should be about the same.

The database is seeded with the demo seeder (`flask demo seed`): 100,000 learners by
default, with about 12 item-progress rows each. `--quick` runs 5,000 for trying it out.
PostgreSQL is used when a server answers at --postgres-url; a database named
bench_compliance is created there for the run and dropped after it.

Ratios (compliance code's time / hand-written SQL's time, from `compliance_sql`) are
medians over a few rounds, the two alternating so that drift in the machine's load hits
both alike; each line gives the load average too. The aim for the dashboard (the matrix
and its 12-month trend, cold) is within 1.5x of the raw queries and under a second: the
run ends with its figures on each database against those aims.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass, replace
from operator import attrgetter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import (  # noqa: E402
    create_engine,
    func,
    make_url,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, OperationalError  # noqa: E402

from bench.compliance_sql import (  # noqa: E402
    DETAIL,
    MATRIX,
    hand_written,
    hand_written_trend,
    parameters,
)
from bench.support import MOVED_SHARE, add_moves, postgres_database  # noqa: E402
from jesip_learn.accounts import organisations as orgs  # noqa: E402
from jesip_learn.accounts.models import Organisation as _Organisation  # noqa: E402
from jesip_learn.cli import demo_data as demo  # noqa: E402
from jesip_learn.compliance.dashboard import (  # noqa: E402
    compliance_dashboard,
    compliance_matrix,
    month_ends,
)
from jesip_learn.compliance.person_status import iter_learner_statuses, status_select  # noqa: E402
from jesip_learn.compliance.report_filters import (  # noqa: E402
    ReportFilters,
    end_of_day,
    today_in_london,
)
from jesip_learn.compliance.states import COMPLIANT_STATES  # noqa: E402
from jesip_learn.core.db import Database  # noqa: E402
from jesip_learn.courses import catalogue as courses  # noqa: E402
from tests.support.database import migrate  # noqa: E402

try:  # the report downloads' writer, when this checkout has it
    from jesip_learn.core.exports.csv_writer import csv_chunks  # noqa: E402
    from jesip_learn.core.exports.heading import ReportHeading  # noqa: E402
except ImportError:
    csv_chunks = None

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/"
BENCH_DATABASE = "bench_compliance"
DASHBOARD_RATIO_AIM = 1.5
DETAIL_FIELDS = ("user_id", "name", "email", "organisation", "service", "command_role",
                 "course_code", "course_title", "state", "completed_at", "expires_at", "source")
status_row = attrgetter(*DETAIL_FIELDS)
organisations = _Organisation.__table__

# --- what each side computes -------------------------------------------------------------------


class TimedOut(Exception):
    pass


@contextmanager
def time_limit(session, seconds: float):
    """Stop the session's statements after `seconds`: a report query that scales badly
    must not hold the benchmark for hours. SQLite is interrupted from a timer thread;
    PostgreSQL is given a statement timeout for the transaction."""
    connection = session.connection()
    timer = None
    if connection.dialect.name == "sqlite":
        timer = threading.Timer(seconds, connection.connection.dbapi_connection.interrupt)
        timer.start()
    else:
        connection.execute(text(f"SET LOCAL statement_timeout = {int(seconds * 1000)}"))
    try:
        yield
    except DBAPIError as error:
        text_ = str(error.orig).lower()
        if "interrupted" in text_ or "statement timeout" in text_ or "canceling" in text_:
            raise TimedOut from None
        raise
    finally:
        if timer is not None:
            timer.cancel()


def matrix_counts(database: Database, scope, filters, limit: float) -> dict:
    with database.session() as session, time_limit(session, limit):
        matrix = compliance_matrix(session, scope, filters)
    return {(int(row.key), course_id, state): people
            for row in matrix.rows for course_id, cell in row.cells.items()
            for state, people in cell.counts.items() if people}


def raw_matrix_counts(database: Database, dialect: str, filters, organisation_id=None) -> dict:
    with database.engine.connect() as connection:
        rows = connection.execute(hand_written(MATRIX, dialect, organisation_id),
                                  parameters(filters, organisation_id)).all()
    return {(organisation_id_, course_id, state): people
            for organisation_id_, course_id, state, people in rows}


def dashboard_figures(database: Database, filters, limit: float):
    """What the dashboard computes, cold: the matrix and the trend of the eleven months
    before, in one statement (the trend's last month is the matrix's total)."""
    with database.session() as session, time_limit(session, limit):
        dashboard = compliance_dashboard(session, None, filters)
    matrix, trend = dashboard.matrix, dashboard.trend
    counts = {(int(row.key), course_id, state): people
              for row in matrix.rows for course_id, cell in row.cells.items()
              for state, people in cell.counts.items() if people}
    return counts, [(point.compliant, point.total) for point in trend]


def raw_dashboard_figures(database: Database, dialect: str, filters):
    counts = raw_matrix_counts(database, dialect, filters)
    days = month_ends(filters.as_of, 12)[:-1]
    with database.engine.connect() as connection:
        row = connection.execute(hand_written_trend(dialect, len(days)), {
            f"t{k}": end_of_day(day) for k, day in enumerate(days)}).one()
    compliant = sum(people for (_, _, state), people in counts.items()
                    if state in COMPLIANT_STATES)
    trend = [(int(row[2 * k] or 0), int(row[2 * k + 1] or 0)) for k in range(len(days))]
    return counts, [*trend, (compliant, sum(counts.values()))]


def month_by_month_trend(database: Database, filters, limit: float):
    """The trend as it was worked out before: the status query again for each month-end."""
    figures = []
    with database.session() as session, time_limit(session, limit):
        for day in month_ends(filters.as_of, 12):
            statuses = status_select(session, None, replace(filters, as_of=day))
            statuses = statuses.subquery()
            compliant, total = session.execute(select(
                func.count().filter(statuses.c.state.in_(COMPLIANT_STATES)),
                func.count())).one()
            figures.append((compliant or 0, total or 0))
    return figures


class NullSink:
    def write(self, text_: str) -> int:
        return len(text_)


def export_rows(database: Database, filters, limit: float, scope=None) -> int:
    """The detail CSV as the report writes it: every status, through csv.writer."""
    writer, count = csv.writer(NullSink()), 0
    with database.session() as session, time_limit(session, limit):
        for status in iter_learner_statuses(session, scope, filters):
            writer.writerow(status_row(status))
            count += 1
    return count


def export_download(database: Database, filters, limit: float) -> int:
    """The detail CSV as the download streams it (csv_writer.csv_chunks: cells neutralised,
    times in London time)."""
    heading = ReportHeading("Training compliance", end_of_day(filters.as_of))
    sink, count = NullSink(), 0

    def rows(statuses):
        nonlocal count
        for status in statuses:
            count += 1
            yield status_row(status)

    with database.session() as session, time_limit(session, limit):
        statuses = iter_learner_statuses(session, None, filters)
        for chunk in csv_chunks(heading, DETAIL_FIELDS, rows(statuses)):
            sink.write(chunk)
    return count


def raw_export_rows(database: Database, dialect: str, filters) -> int:
    writer, count = csv.writer(NullSink()), 0
    with database.engine.connect() as connection:
        result = connection.execution_options(yield_per=2000).execute(
            hand_written(DETAIL, dialect), parameters(filters))
        for row in result:
            writer.writerow(row)
            count += 1
    return count


def same_detail(database: Database, dialect: str, filters, limit: float) -> int:
    """Row for row, streamed side by side: the report's detail equals the raw query's."""
    count = 0
    with database.session() as session, time_limit(session, limit), \
            database.engine.connect() as connection:
        ours = iter_learner_statuses(session, None, filters)
        theirs = connection.execution_options(yield_per=2000).execute(
            hand_written(DETAIL, dialect), parameters(filters))
        for status, row in zip(ours, theirs, strict=True):
            if status_row(status) != tuple(row):
                raise SystemExit(f"detail rows differ at row {count}:\n  {status_row(status)}"
                                 f"\n  {tuple(row)}")
            count += 1
    return count


# --- timing ----------------------------------------------------------------------------------


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def compare(rounds: int, ours, baseline) -> tuple[float, float, float]:
    """Median ratio ours/baseline, and the median seconds of each, alternating the order."""
    ratios, our_times, base_times = [], [], []
    for round_ in range(rounds):
        if round_ % 2:
            base, _ = timed(baseline)
            mine, _ = timed(ours)
        else:
            mine, _ = timed(ours)
            base, _ = timed(baseline)
        ratios.append(mine / base)
        our_times.append(mine)
        base_times.append(base)
    return (statistics.median(ratios), statistics.median(our_times),
            statistics.median(base_times))


@dataclass(frozen=True)
class Figures:
    """Ours against the hand-written SQL, measured in the same run: the median seconds of
    each and the median of their ratios (or one round's, when ours is slow)."""

    ratio: float
    seconds: float
    baseline_seconds: float


def measure(title: str, ours, baseline, *, rounds: int, limit: float,
            same=None) -> Figures | None:
    """Check the two agree (`same`, or equal results), then print the median ratio and
    return the figures. None when ours did not finish within the limit."""
    base_seconds, expected = timed(baseline)
    try:
        our_seconds, found = timed(ours)
    except TimedOut:
        print(f"  {title}: did not finish within {limit:.0f} s "
              f"(hand-written SQL: {base_seconds:.2f} s)", flush=True)
        return None
    if not (same() if same else found == expected):
        raise SystemExit(f"{title}: the result differs from the hand-written SQL's")
    if our_seconds > limit / max(1, rounds):  # too slow to repeat: one round is the figure
        print(f"  {title}: ratio {our_seconds / base_seconds:.1f} "
              f"({our_seconds:.2f} s vs {base_seconds:.2f} s; one round)", flush=True)
        return Figures(our_seconds / base_seconds, our_seconds, base_seconds)
    ratio, mine, base = compare(rounds, ours, baseline)
    print(f"  {title}: ratio {ratio:.2f} ({mine:.3f} s vs {base:.3f} s; median of {rounds}; "
          f"load {os.getloadavg()[0]:.1f})", flush=True)
    return Figures(ratio, mine, base)


def peak_kib(action) -> tuple[float, object]:
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1024, result


# --- databases -------------------------------------------------------------------------------


@contextmanager
def sqlite_database():
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/bench.db"


def postgres_reachable(server_url: str) -> str | None:
    """None when a server answers, else why not."""
    server = make_url(server_url).set(drivername="postgresql+psycopg", database="postgres")
    engine = create_engine(server, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except OperationalError as error:
        return str(error.orig).strip().splitlines()[0]
    finally:
        engine.dispose()


def seed(url: str, learners: int) -> tuple[float, demo.DemoSummary]:
    migrate(url)
    database = Database(url)
    started = time.perf_counter()
    with database.write_session() as session:
        orgs.seed_reference_organisations(session)
        courses.import_parsed(session, courses.parse_folders(ROOT / "courses"))
        summary = demo.seed_demo(session, learners=learners, seed=1)
        moved = add_moves(session, MOVED_SHARE)
    took = time.perf_counter() - started
    if database.engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load: give the planner its statistics.
        with database.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    database.engine.dispose()
    return took, summary, moved


def organisations_by_size(database: Database, dialect: str, filters) -> list[tuple]:
    """(people, id, name) of each organisation with anyone required to train, largest first,
    counted by the hand-written query."""
    people: dict[int, int] = {}
    for (organisation_id, _course, _state), number in raw_matrix_counts(
            database, dialect, filters).items():
        people[organisation_id] = people.get(organisation_id, 0) + number
    with database.engine.connect() as connection:
        names = dict(connection.execute(text("SELECT id, name FROM organisations")).all())
    return sorted(((number, id_, names[id_]) for id_, number in people.items()), reverse=True)


# --- the run ---------------------------------------------------------------------------------


def run(url: str, label: str, args) -> Figures | None:
    """Seed, then measure and print every report; returns the dashboard's figures."""
    took, summary, moved = seed(url, args.learners)
    print(f"{label}: seeded {summary.learners:,} learners ({moved:,} of whom moved), "
          f"{summary.completions:,} completions, {summary.progress_rows:,} progress rows in "
          f"{took:.0f} s", flush=True)
    database = Database(url)
    dialect = database.engine.dialect.name
    filters = ReportFilters(as_of=today_in_london())
    rounds, limit = args.rounds, args.time_limit
    try:
        sizes = organisations_by_size(database, dialect, filters)
        (people, largest, name), (_, smallest, small_name) = sizes[0], sizes[-1]
        total = sum(number for number, _, _ in sizes)
        print(f"  {total:,} person-course statuses in {len(sizes)} organisations; the "
              f"largest, {name}: {people:,}", flush=True)

        dashboard = measure("dashboard with trend, cold (matrix + 12 months) / raw SQL "
                            "(aim 1.5, and under 1 s)",
                            lambda: dashboard_figures(database, filters, limit),
                            lambda: raw_dashboard_figures(database, dialect, filters),
                            rounds=rounds, limit=limit)
        if args.month_by_month:
            measure("the former trend, month by month (12 status queries) / raw SQL trend",
                    lambda: month_by_month_trend(database, filters, limit),
                    lambda: raw_dashboard_figures(database, dialect, filters)[1],
                    rounds=1, limit=limit)
        measure("full matrix / raw SQL",
                lambda: matrix_counts(database, None, filters, limit),
                lambda: raw_matrix_counts(database, dialect, filters),
                rounds=rounds, limit=limit)
        measure(f"one organisation's matrix ({name}) / raw SQL (aim 1.5)",
                lambda: matrix_counts(database, {largest}, filters, limit),
                lambda: raw_matrix_counts(database, dialect, filters, largest),
                rounds=rounds, limit=limit)
        export_rounds = max(3, rounds // 2)
        finished = measure(
            "detail export (iter_learner_statuses + csv.writer) / raw SQL + csv.writer",
            lambda: export_rows(database, filters, limit),
            lambda: raw_export_rows(database, dialect, filters),
            rounds=export_rounds, limit=limit,
            same=lambda: same_detail(database, dialect, filters, limit) == total)
        if finished and csv_chunks is not None:
            measure("detail download (csv_writer.csv_chunks) / raw SQL + csv.writer",
                    lambda: export_download(database, filters, limit),
                    lambda: raw_export_rows(database, dialect, filters),
                    rounds=export_rounds, limit=limit)

        peaks = [(f"{small_name}", smallest), (f"{name}", largest)]
        if finished:
            peaks.append(("everyone", None))
        figures = []
        for what, organisation_id in peaks:
            scope = {organisation_id} if organisation_id is not None else None
            try:
                peak, rows = peak_kib(lambda scope=scope: export_rows(database, filters, limit,
                                                                      scope))
            except TimedOut:  # tracemalloc slows Python several times over
                figures.append(f"not finished within {limit:.0f} s ({what})")
                continue
            figures.append(f"{peak:,.0f} KiB for {rows:,} rows ({what})")
        listed, _ = peak_kib(lambda: raw_listed(database, dialect, filters))
        print(f"  export peak Python memory (tracemalloc): {'; '.join(figures)}; the raw "
              f"query's rows held in a list instead: {listed:,.0f} KiB", flush=True)
    finally:
        database.engine.dispose()
    return dashboard


def raw_listed(database: Database, dialect: str, filters) -> int:
    with database.engine.connect() as connection:
        return len(connection.execute(hand_written(DETAIL, dialect), parameters(filters)).all())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="5,000 learners, 3 rounds")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--postgres-database", default=BENCH_DATABASE,
                        help="the database created (and dropped) for the run: another name "
                        "lets two runs share a server")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--month-by-month", action="store_true",
                        help="also time the trend as it was worked out before, a status "
                        "query per month, for comparison")
    parser.add_argument("--time-limit", type=float, default=120,
                        help="seconds one statement of a report may take before the report "
                        "counts as unfinished")
    args = parser.parse_args()
    if args.quick:
        args.learners, args.rounds = 5_000, 3
    print(f"compliance reports at {args.learners:,} learners", flush=True)
    dashboards = {}
    if args.only != "postgresql":
        with sqlite_database() as url:
            dashboards["SQLite"] = run(url, "SQLite", args)
    if args.only != "sqlite":
        problem = postgres_reachable(args.postgres_url)
        if problem:
            print(f"PostgreSQL: skipped, no server at {args.postgres_url} ({problem})")
        else:
            with postgres_database(args.postgres_url, args.postgres_database,
                                   connect_timeout=3) as url:
                dashboards["PostgreSQL"] = run(url, "PostgreSQL", args)
    summarise(args.learners, dashboards)


def summarise(learners: int, dashboards: dict[str, Figures | None]) -> None:
    """The dashboard's cold time on each database, against its aims: under a second, and
    at most 1.5 times the hand-written SQL's of the same run."""
    print(f"dashboard with trend, cold, at {learners:,} learners (aim: under 1 s and at "
          f"most {DASHBOARD_RATIO_AIM} times the raw SQL):")
    for label, figures in dashboards.items():
        if figures is None:
            print(f"  {label}: did not finish")
            continue
        met = figures.seconds < 1 and figures.ratio <= DASHBOARD_RATIO_AIM
        print(f"  {label}: {figures.seconds:.3f} s, raw SQL {figures.baseline_seconds:.3f} s,"
              f" ratio {figures.ratio:.2f}: {'met' if met else 'NOT met'}")

if __name__ == "__main__":
    main()
