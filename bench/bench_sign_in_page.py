"""The sign-in page's throughput under gunicorn (2 workers), as a share of the throughput
of /healthz on the same server in the same run."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import gunicorn_server, measure_throughput, prepared_database  # noqa: E402

ROUNDS = 3


def main() -> None:
    with prepared_database() as env, gunicorn_server(env) as port:
        measure_throughput(port, "/healthz", seconds=1)  # warm both workers
        measure_throughput(port, "/sign-in", seconds=1)
        ratios = []
        for _ in range(ROUNDS):
            # Alternate the two so drift in the machine's load hits both alike.
            baseline = measure_throughput(port, "/healthz")
            page = measure_throughput(port, "/sign-in")
            if baseline.failures or page.failures:
                raise SystemExit(f"failed requests: {baseline.failures} baseline, "
                                 f"{page.failures} sign-in")
            ratios.append(page.per_second / baseline.per_second)
    ratios.sort()
    median = ratios[len(ratios) // 2]
    print("sign-in page throughput / minimal endpoint (gunicorn, 2 workers, loopback)")
    print(f"  ratio median {median:.2f} over {ROUNDS} rounds "
          f"(each round: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
