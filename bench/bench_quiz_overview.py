"""The quiz overview of a learner with a long history: its time for a learner with 200
submitted attempts at the quiz (and 40 at each of the course's other quizzes), as a
multiple of the same page's for a learner with 1, in the same run
(the app in this process, through Flask's test client; CPU time, which other sessions'
load moves far less than wall-clock time). The page should cost about the same whatever
the history: the target is the 200-attempt learner's time within 1.2x of the 1-attempt
learner's, although the one shows ten attempts and page links, the other one attempt.
The learners' histories are made through the quiz code itself, so every attempt holds its
questions, their order and the answers as a real one does.
"""

from __future__ import annotations

import os
import random
import re
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import prepared_database, run_cli  # noqa: E402

ROUNDS = 5
REQUESTS = 200
BASE = "http://127.0.0.1"
PASSWORD = "benchmark passphrase for learners"
COURSE = "JESIP-AWARE"
QUIZ = "check-your-understanding"
OVERVIEW = f"/learn/{COURSE}/quizzes/{QUIZ}"
LONG, SHORT = 200, 1
OTHER_QUIZZES = 40


def add_attempts(url: str, email: str, count: int, others: int) -> None:
    """`count` submitted attempts at the quiz, over the past months, some passed; and
    `others` at each other quiz of the course."""
    from sqlalchemy import select

    from jesip_learn.accounts.models import User
    from jesip_learn.content import Quiz
    from jesip_learn.core.columns import utcnow
    from jesip_learn.core.db import Database
    from jesip_learn.courses import catalogue as courses
    from jesip_learn.learning import attempt_answers, attempts
    from tests.support.quizzes import answer_values

    database = Database(url)
    rng = random.Random(22)
    try:
        with database.write_session() as session:
            user = session.scalar(select(User).where(User.email == email))
            version = courses.find_version(session, COURSE)
            quizzes = [courses.version_item(version, item.slug) for item in version.items
                       if item.kind == "quiz"]
            now = utcnow()
            for quiz in quizzes:
                if not isinstance(quiz, Quiz):
                    continue
                number = count if quiz.slug == QUIZ else others
                for index in range(number):
                    moment = now - timedelta(days=300) * (1 - index / max(1, number))
                    attempt = attempts.start_attempt(session, user, version, quiz, rng,
                                                     moment)
                    values = answer_values(attempt_answers.attempt_questions(attempt),
                                           right=rng.random() < 0.2)
                    attempts.submit_attempt(session, attempt, values, moment)
    finally:
        database.engine.dispose()


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
        response = client.get(OVERVIEW, base_url=BASE)
        if response.status_code != 200:
            raise SystemExit(f"the overview answered {response.status_code}")
    return (time.process_time() - started) / requests


def main() -> None:
    learners = {LONG: "long.history@kent.police.uk", SHORT: "short.history@kent.police.uk"}
    with prepared_database() as env:
        run_cli(env, "courses", "import", "courses")
        for count, email in learners.items():
            run_cli(env, "users", "create", "--email", email, "--name",
                    f"Learner with {count}", "--organisation", "Kent Police", "--role",
                    "operational", "--password-stdin", stdin=PASSWORD + "\n")
            add_attempts(env["DATABASE_URL"], email, count,
                         OTHER_QUIZZES if count == LONG else 0)
        os.environ.update(env)
        from jesip_learn.factory import create_app

        app = create_app()
        clients = {count: signed_in_client(app, email) for count, email in learners.items()}
        for client in clients.values():  # warm up: templates compiled, course parsed
            cpu_per_request(client, 20)
        ratios, figures = [], []
        for round_ in range(ROUNDS):
            # Alternate the order so drift in the machine's load hits both alike.
            order = (SHORT, LONG) if round_ % 2 == 0 else (LONG, SHORT)
            measured = {count: cpu_per_request(clients[count], REQUESTS) for count in order}
            ratios.append(measured[LONG] / measured[SHORT])
            figures.append((measured[LONG], measured[SHORT]))
    ratios.sort()
    print(f"quiz overview with {LONG} previous attempts / with {SHORT} (in-process, CPU time "
          f"per request, {REQUESTS} requests a round)")
    print(f"  ratio median {ratios[len(ratios) // 2]:.2f} over {ROUNDS} rounds (target 1.2 "
          "or less; each: " + ", ".join(f"{long * 1000:.1f} ms vs {short * 1000:.1f} ms"
                                        for long, short in figures) + ")")


if __name__ == "__main__":
    main()
