"""Shared pieces of the benchmarks: a throwaway migrated database, a gunicorn server on
loopback, and a bounded load generator. Every figure is printed as a ratio against a
baseline measured in the same run, because the machine is shared and noisy."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def prepared_database(*, histories: bool = False, postgres_url: str | None = None):
    """A fresh SQLite database, migrated and seeded, in a temporary folder (or, given
    `postgres_url`, a PostgreSQL database of its own on that server, dropped at the end).
    With `histories`, it also holds the shipped courses and people with years of training
    behind them (`seed_histories`), as a site in use has: a benchmark should not measure a
    site whose only people are its own fresh learners."""
    with tempfile.TemporaryDirectory() as folder, _database_url(folder, postgres_url) as url:
        env = {**os.environ, "DATABASE_URL": url,
               "SECRET_KEY": "benchmark", "SESSION_COOKIE_SECURE": "0",
               "SITE_URL": "http://127.0.0.1", "TRUSTED_HOSTS": "127.0.0.1"}
        commands = [["db", "upgrade"], ["organisations", "seed"]]
        if histories:
            commands.append(["courses", "import", "courses"])
        for command in commands:
            subprocess.run([PYTHON_BIN / "flask", "--app", "app", *command], cwd=ROOT, env=env,
                           check=True, capture_output=True)
        if histories:
            seed_histories(env["DATABASE_URL"])
            settle_after_loading(env["DATABASE_URL"])
        yield env


def settle_after_loading(url: str) -> None:
    """What a PostgreSQL site in use has done by itself soon after a bulk load: autovacuum
    has vacuumed and analysed the tables (statistics for the planner, the visibility map
    for index-only scans) and a checkpoint has written the load out. Without this a
    benchmark would measure plans made for tables the planner knows nothing about (a server
    with autovacuum off never gathers statistics) while the server is still writing the
    load in the background, which slows the pages that use the database and not /healthz."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import ProgrammingError

    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"),
                           isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
            # A role without pg_checkpoint may not: the server writes it out in its own time.
            with suppress(ProgrammingError):
                connection.execute(text("CHECKPOINT"))
    finally:
        engine.dispose()


@contextmanager
def _database_url(folder: str, postgres_url: str | None):
    if postgres_url is None:
        yield f"sqlite:///{folder}/bench.db"
        return
    with postgres_database(postgres_url) as url:
        yield url


@contextmanager
def postgres_database(server_url: str, name: str | None = None, *,
                      connect_timeout: int | None = None):
    """A PostgreSQL database of the benchmark's own on the server at `server_url`, empty
    (one of the same name left by an earlier run is dropped first), dropped at the end;
    yields its URL. `name` defaults to one per process, so that runs at the same time do
    not share one; `connect_timeout`, in seconds, bounds each connection to the server."""
    from sqlalchemy import create_engine, make_url, text

    server = make_url(server_url).set(drivername="postgresql+psycopg")
    name = name or f"bench_{os.getpid()}"
    connect_args = {} if connect_timeout is None else {"connect_timeout": connect_timeout}
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT",
                          connect_args=connect_args)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class Server:
    port: int
    pid: int  # the master's

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return [int(pid) for pid in children]


@contextmanager
def gunicorn_server(env: dict, workers: int = 2, *, production: bool = True,
                    server: list | None = None, options: tuple[str, ...] = ()):
    """A gunicorn serving the app on loopback; yields its port. With `production` (the
    default) it runs with the site's gunicorn.conf.py (the app preloaded in the master),
    without it with no settings at all; `server`, a list, is given the Server (port and
    master's process id); `options`, more of gunicorn's command-line options."""
    port = free_port()
    # Without the site's settings file, gunicorn would still read ./gunicorn.conf.py.
    settings = ["-c", str(ROOT / "gunicorn.conf.py") if production else os.devnull]
    process = subprocess.Popen(
        [PYTHON_BIN / "gunicorn", *settings, *options, "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "app:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # Ready once a worker answers, not once the master listens: on a busy machine
        # workers loading the app each may take longer than a request's timeout.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    connection.close()
                    break
            except (OSError, http.client.HTTPException):
                time.sleep(0.2)
        else:
            process.terminate()
            raise RuntimeError("gunicorn did not start: " + process.stderr.read().decode())
        if server is not None:
            server.append(Server(port, process.pid))
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass(frozen=True)
class Throughput:
    requests: int
    seconds: float
    failures: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def measure_throughput(port: int, path: str, *, seconds: float = 4.0, clients: int = 4,
                       max_requests: int = 200_000, headers: dict | None = None) -> Throughput:
    """Keep-alive GETs from `clients` threads for `seconds`, stopping early at
    `max_requests`: the loop is bounded in both time and count."""
    counts, failures = [0] * clients, [0] * clients
    stop_at = time.monotonic() + seconds
    budget = max_requests // clients

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop_at and counts[index] < budget:
            try:
                connection.request("GET", path, headers=headers or {})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failures[index] += 1
                counts[index] += 1
            except (OSError, http.client.HTTPException):
                failures[index] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Throughput(sum(counts), time.monotonic() - started, sum(failures))


def signed_in_cookie(port: int, email: str, password: str) -> str:
    """Sign in through the real form, as a browser would; returns the Cookie header."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/sign-in")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    body = urllib.parse.urlencode({"csrf_token": token.group(1), "email": email,
                                   "password": password})
    connection.request("POST", "/sign-in", body=body, headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"sign-in failed with status {response.status}")
    connection.close()
    return response.getheader("Set-Cookie").split(";", 1)[0]


def run_cli(env: dict, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run([PYTHON_BIN / "flask", "--app", "app", *args], cwd=ROOT, env=env,
                            check=True, capture_output=True, text=True, input=stdin)
    return result.stdout


# --- realistic histories ---------------------------------------------------------------------

HISTORY_LEARNERS = 2_000  # invented people around the benchmark's own learners
MOVED_SHARE = 0.04  # of approved learners, moved once to another organisation
SAMPLE_ATTEMPTS = 12  # submitted attempts at each quiz for a sample of the invented people
SAMPLED_SHARE = 0.05


def seed_histories(url: str, *, learners: int = HISTORY_LEARNERS) -> None:
    """Fill a migrated database holding the reference organisations and the shipped courses
    with people as a site has them after years of use: `demo.seed_demo`'s learners (three
    years of completions, each renewed before or after it ran out, and item progress), a
    share of whom moved organisation once, and a sample with many submitted quiz attempts."""
    import random

    from sqlalchemy import select

    from jesip_learn.accounts.models import User
    from jesip_learn.cli import demo_data as demo
    from jesip_learn.core.db import Database

    database = Database(url)
    try:
        with database.write_session() as session:
            demo.seed_demo(session, learners=learners, seed=22)
            add_moves(session, MOVED_SHARE)
            ids = session.scalars(select(User.id).where(User.email.like(
                demo.demo_email_pattern()), User.approved_at.is_not(None))
                .order_by(User.id)).all()
            rng = random.Random(22)
            for user_id in rng.sample(ids, max(1, int(len(ids) * SAMPLED_SHARE))):
                _add_attempts(session, session.get(User, user_id), SAMPLE_ATTEMPTS, rng)
    finally:
        database.engine.dispose()


def give_history(url: str, email: str, *, attempts: int, other_attempts: int | None = None,
                 quiz: tuple[str, str] | None = None) -> None:
    """One of the benchmark's own learners, as someone who has trained for years: they moved
    organisation once, completed every course three times over the past years (renewing
    it), and submitted `attempts` attempts at each quiz (when `quiz`, a course's code and a
    quiz's slug, is given: at that quiz, and `other_attempts` at each other)."""
    import random

    from sqlalchemy import select

    from jesip_learn.accounts.models import User
    from jesip_learn.core.db import Database

    database = Database(url)
    try:
        with database.write_session() as session:
            user = session.scalar(select(User).where(User.email == email))
            rng = random.Random(email)
            _move_once(session, user, rng)
            _complete_over_years(session, user, rng)
            _add_attempts(session, user, attempts, rng, other_attempts=other_attempts,
                          only_quiz=quiz)
    finally:
        database.engine.dispose()


def add_moves(session, share: float) -> int:
    """A share of the approved learners moved once, to another organisation of their
    service, between joining and now."""
    import random

    from sqlalchemy import select, update

    from jesip_learn.accounts.models import Organisation, PreviousMembership, User
    from jesip_learn.core.columns import utcnow

    rng = random.Random(22)
    users, organisations = User.__table__, Organisation.__table__
    people = session.execute(
        select(users.c.id, users.c.organisation_id, users.c.command_role, users.c.joined_at,
               organisations.c.service)
        .join(organisations, organisations.c.id == users.c.organisation_id)
        .where(users.c.approved_at.is_not(None)).order_by(users.c.id)).all()
    by_service: dict[str, list[int]] = {}
    for id_, service in session.execute(select(organisations.c.id, organisations.c.service)):
        by_service.setdefault(service, []).append(id_)
    now = utcnow()
    moves, changes = [], []
    for user_id, organisation_id, role, joined, service in people:
        if rng.random() >= share or len(by_service[service]) < 2:
            continue
        moved_at = joined + (now - joined) * rng.uniform(0.1, 0.9)
        moves.append({"user_id": user_id, "organisation_id": organisation_id,
                      "command_role": role, "started_at": joined, "ended_at": moved_at})
        changes.append({"id": user_id, "joined_at": moved_at, "organisation_id": rng.choice(
            [other for other in by_service[service] if other != organisation_id])})
    if moves:
        session.execute(PreviousMembership.__table__.insert(), moves)
        session.execute(update(User), changes)
    return len(moves)


def _move_once(session, user, rng) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from jesip_learn.accounts.models import Organisation, PreviousMembership
    from jesip_learn.core.columns import utcnow

    now = utcnow()
    before = session.scalar(select(Organisation).where(
        Organisation.service == user.organisation.service,
        Organisation.id != user.organisation_id).order_by(Organisation.name))
    if before is None:
        return
    started = now - timedelta(days=4 * 365)
    moved = now - timedelta(days=rng.randint(200, 500))
    session.add(PreviousMembership(user_id=user.id, organisation_id=before.id,
                                   command_role=user.command_role, started_at=started,
                                   ended_at=moved))
    user.joined_at = moved
    session.flush()


def _complete_over_years(session, user, rng) -> None:
    """Three completions of every published course, each renewed before the last ran out."""
    from datetime import timedelta

    from sqlalchemy import select

    from jesip_learn.core.columns import utcnow
    from jesip_learn.courses.models import Course, CourseVersion
    from jesip_learn.learning.models import Completion
    from jesip_learn.learning.progress import add_months, new_certificate_code

    now = utcnow()
    for course, version in session.execute(
            select(Course, CourseVersion)
            .join(CourseVersion, CourseVersion.id == Course.published_version_id)):
        months = version.validity_months or 12
        latest = now - timedelta(days=rng.randint(5, 200))
        for renewal in range(3):
            completed = add_months(latest, -months * renewal) + timedelta(
                days=rng.randint(-30, 30) if renewal else 0)
            session.add(Completion(
                user_id=user.id, course_id=course.id, version_id=version.id,
                completed_at=completed,
                expires_at=add_months(completed, version.validity_months)
                if version.validity_months else None,
                certificate_code=new_certificate_code(), source=""))
    session.flush()


def _add_attempts(session, user, count: int, rng, *, other_attempts: int | None = None,
                  only_quiz: tuple[str, str] | None = None) -> None:
    """Submitted attempts at each quiz of each published course, over the past 300 days,
    some passed, made through the quiz code so each holds its questions and answers."""
    from datetime import timedelta

    from sqlalchemy import select

    from jesip_learn.content import Quiz
    from jesip_learn.core.columns import utcnow
    from jesip_learn.courses import catalogue as courses
    from jesip_learn.courses.models import Course
    from jesip_learn.learning import attempt_answers, attempts
    from tests.support.quizzes import answer_values

    now = utcnow()
    for code in session.scalars(select(Course.code).where(
            Course.published_version_id.is_not(None)).order_by(Course.code)):
        version = courses.find_version(session, code)
        for stored in version.items:
            if stored.kind != "quiz":
                continue
            quiz = courses.version_item(version, stored.slug)
            if not isinstance(quiz, Quiz):
                continue
            number = count if only_quiz in (None, (code, quiz.slug)) else (other_attempts or 0)
            for index in range(number):
                moment = now - timedelta(days=300) * (1 - index / max(1, number))
                attempt = attempts.start_attempt(session, user, version, quiz, rng, moment)
                values = answer_values(attempt_answers.attempt_questions(attempt),
                                       right=rng.random() < 0.2)
                attempts.submit_attempt(session, attempt, values, moment)
