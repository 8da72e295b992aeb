"""The quiz overview of a learner with a long history: its time for a learner with 200
submitted attempts at the quiz (and 40 at each of the other courses' quizzes), as a
multiple of the same page's for a learner with 1, in the same run (the app in this process,
through Flask's test client, the two learners' requests taken in turn; CPU time, which
other sessions' load moves far less than wall-clock time). The page should cost about the
same whatever the history: the target is the 200-attempt learner's time within 1.2x of the
1-attempt learner's, although the one shows ten attempts and page links, the other one
attempt. The learners' histories are made through the quiz code itself
(`support.give_history`), so every attempt holds its questions, their order and the
answers as a real one does, among thousands of other people's (`support.seed_histories`).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import give_history, prepared_database, run_cli  # noqa: E402

ROUNDS = 5
REQUESTS = 200
BASE = "http://127.0.0.1"
PASSWORD = "benchmark passphrase for learners"
COURSE = "JESIP-AWARE"
QUIZ = "check-your-understanding"
OVERVIEW = f"/learn/{COURSE}/quizzes/{QUIZ}"
LONG, SHORT = 200, 1
OTHER_QUIZZES = 40


def signed_in_client(app, email: str):
    client = app.test_client()
    page = client.get("/sign-in", base_url=BASE).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    response = client.post("/sign-in", base_url=BASE, data={
        "csrf_token": token.group(1), "email": email, "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"sign-in failed with status {response.status_code}")
    return client


def cpu_per_request(client, requests: int) -> float:
    """CPU seconds of this process per overview request: other sessions' load on the
    machine moves wall-clock time far more than this."""
    started = time.process_time()
    for _ in range(requests):
        _overview(client)
    return (time.process_time() - started) / requests


def cpu_per_request_alternating(clients: dict, requests: int) -> dict:
    """CPU seconds per overview request for each client, their requests taken in turn (the
    first one first every other time): measured in blocks of 200, one after the other, the
    ratio moved by a tenth between rounds with the machine's drift."""
    spent = dict.fromkeys(clients, 0.0)
    for request in range(requests):
        for key in (list(clients) if request % 2 == 0 else list(clients)[::-1]):
            started = time.process_time()
            _overview(clients[key])
            spent[key] += time.process_time() - started
    return {key: seconds / requests for key, seconds in spent.items()}


def _overview(client) -> None:
    response = client.get(OVERVIEW, base_url=BASE)
    if response.status_code != 200:
        raise SystemExit(f"the overview answered {response.status_code}")


def main() -> None:
    learners = {LONG: "long.history@kent.police.uk", SHORT: "short.history@kent.police.uk"}
    with prepared_database(histories=True) as env:
        for count, email in learners.items():
            run_cli(env, "users", "create", "--email", email, "--name",
                    f"Learner with {count}", "--organisation", "Kent Police", "--role",
                    "operational", "--password-stdin", stdin=PASSWORD + "\n")
            # Both moved once and completed their courses over the years; only the
            # attempts differ.
            give_history(env["DATABASE_URL"], email, attempts=count, quiz=(COURSE, QUIZ),
                         other_attempts=OTHER_QUIZZES if count == LONG else 0)
        os.environ.update(env)
        from jesip_learn.factory import create_app

        app = create_app()
        clients = {count: signed_in_client(app, email) for count, email in learners.items()}
        for client in clients.values():  # warm up: templates compiled, course parsed
            cpu_per_request(client, 50)
        ratios, figures = [], []
        for _ in range(ROUNDS):
            measured = cpu_per_request_alternating(clients, REQUESTS)
            ratios.append(measured[LONG] / measured[SHORT])
            figures.append((measured[LONG], measured[SHORT]))
    ratios.sort()
    print(f"quiz overview with {LONG} previous attempts / with {SHORT} (in-process, CPU time "
          f"per request, {REQUESTS} requests each a round, taken in turn)")
    print(f"  ratio median {ratios[len(ratios) // 2]:.2f} over {ROUNDS} rounds (target 1.2 "
          "or less; each: " + ", ".join(f"{long * 1000:.1f} ms vs {short * 1000:.1f} ms"
                                        for long, short in figures) + ")")


if __name__ == "__main__":
    main()
