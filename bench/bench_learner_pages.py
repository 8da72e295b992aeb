"""A reading module's page, for a signed-in learner with years of training behind them
among thousands of others (`support.seed_histories`, `support.give_history`), under
gunicorn (2 workers): its throughput as a share of /healthz's on the same server in the
same run. `--postgres URL` runs it on a database of its own on that PostgreSQL server
(for example postgresql://postgres@127.0.0.1:5432/postgres) instead of SQLite."""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (  # noqa: E402
    give_history,
    gunicorn_server,
    measure_throughput,
    prepared_database,
    run_cli,
    signed_in_cookie,
)

# Short rounds, many of them, each measuring both: how fast this machine runs drifts over
# seconds (other work on the host), and a ratio is only fair between measurements made
# close together. The order alternates so that neither side always goes first.
ROUNDS = 10
ROUND_SECONDS = 2
PASSWORD = "benchmark passphrase for learners"
MODULE = "/learn/JESIP-AWARE/modules/the-five-principles"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to run on")
    args = parser.parse_args()
    with prepared_database(histories=True, postgres_url=args.postgres) as env:
        run_cli(env, "users", "create", "--email", "learner@kent.police.uk", "--name",
                "Bench Learner", "--organisation", "Kent Police", "--role", "operational",
                "--password-stdin", stdin=PASSWORD + "\n")
        give_history(env["DATABASE_URL"], "learner@kent.police.uk", attempts=20)
        with gunicorn_server(env) as port:
            cookie = {"Cookie": signed_in_cookie(port, "learner@kent.police.uk", PASSWORD)}
            measure_throughput(port, "/healthz", seconds=1)
            measure_throughput(port, MODULE, seconds=1, headers=cookie)
            ratios = []
            for round_number in range(ROUNDS):
                if round_number % 2:
                    page = measure_throughput(port, MODULE, seconds=ROUND_SECONDS, headers=cookie)
                    baseline = measure_throughput(port, "/healthz", seconds=ROUND_SECONDS)
                else:
                    baseline = measure_throughput(port, "/healthz", seconds=ROUND_SECONDS)
                    page = measure_throughput(port, MODULE, seconds=ROUND_SECONDS, headers=cookie)
                if baseline.failures or page.failures:
                    raise SystemExit(f"failed requests: {baseline.failures} baseline, "
                                     f"{page.failures} module page")
                ratios.append(page.per_second / baseline.per_second)
    ratios.sort()
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"reading module page (signed in) / minimal endpoint (gunicorn, 2 workers, {database})")
    print(f"  ratio median {statistics.median(ratios):.2f} over {ROUNDS} rounds "
          f"(each: {', '.join(f'{r:.2f}' for r in ratios)}; aim 0.4 or better)")


if __name__ == "__main__":
    main()
