"""Memory per gunicorn worker under load: each worker's private memory (pages no other
process shares: Private_Clean + Private_Dirty of /proc/PID/smaps_rollup) and its
proportional share (Pss), after a few seconds of signed-in learners' pages, the sign-in
page and a quiz overview, with four threaded workers. Run as production runs it
(`gunicorn -c gunicorn.conf.py`: the app preloaded in the master and shared) against the
same server without the settings file (each worker loading its own app) in the same run.
Target: 30 MiB private memory per worker or less.
"""

from __future__ import annotations

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

WORKERS = 4
# As the README's production command runs it: threads for the live exercises' streams.
PRODUCTION_OPTIONS = ("--worker-class", "gthread", "--threads", "100")
TARGET_MIB = 30
PASSWORD = "benchmark passphrase for learners"
PAGES = ("/learn/JESIP-AWARE/modules/the-five-principles",
         "/learn/JESIP-AWARE/quizzes/check-your-understanding", "/learn/JESIP-AWARE", "/learn")


def memory_kib(pid: int) -> dict[str, int]:
    figures = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        figures[name] = int(value.split()[0])
    return figures


def under_load(env: dict, production: bool) -> list[dict[str, int]]:
    servers: list = []
    with gunicorn_server(env, WORKERS, production=production, server=servers,
                         options=PRODUCTION_OPTIONS) as port:
        cookie = {"Cookie": signed_in_cookie(port, "learner@kent.police.uk", PASSWORD)}
        measure_throughput(port, "/sign-in", seconds=2, clients=WORKERS * 2)
        for page in PAGES:
            result = measure_throughput(port, page, seconds=2, clients=WORKERS * 2,
                                        headers=cookie)
            if result.failures:
                raise SystemExit(f"{result.failures} requests for {page} failed")
        return [memory_kib(pid) for pid in servers[0].worker_pids()]


def summary(figures: list[dict[str, int]]) -> tuple[float, float]:
    private = [f["Private_Clean"] + f["Private_Dirty"] for f in figures]
    return (sum(private) / len(private) / 1024,
            sum(f["Pss"] for f in figures) / len(figures) / 1024)


def main() -> None:
    with prepared_database(histories=True) as env:
        run_cli(env, "users", "create", "--email", "learner@kent.police.uk", "--name",
                "Bench Learner", "--organisation", "Kent Police", "--role", "operational",
                "--password-stdin", stdin=PASSWORD + "\n")
        give_history(env["DATABASE_URL"], "learner@kent.police.uk", attempts=20)
        separate = summary(under_load(env, production=False))
        preloaded = summary(under_load(env, production=True))
    print(f"memory per gunicorn worker under load ({WORKERS} workers, "
          f"{' '.join(PRODUCTION_OPTIONS)})")
    verdict = "met" if preloaded[0] <= TARGET_MIB else "NOT met"
    print(f"  private: {preloaded[0]:.1f} MiB with gunicorn.conf.py (app preloaded) vs "
          f"{separate[0]:.1f} MiB each loading its own: ratio {preloaded[0] / separate[0]:.2f} "
          f"(target {TARGET_MIB} MiB or less: {verdict})")
    print(f"  proportional share (Pss): {preloaded[1]:.1f} MiB vs {separate[1]:.1f} MiB")


if __name__ == "__main__":
    main()
