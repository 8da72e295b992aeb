"""Live exercise delivery under gunicorn (2 gthread workers) on PostgreSQL: 60 participants
(`--quick`: 20) each hold their page's stream open; the facilitator sends events to every
role and participants send messages to the inter-control talk group; each receiver's stream
notes when each arrives. Prints the delivery time from the start of the send to its arrival
in each receiver's stream, p50 and p95 in seconds, beside the same figures for a plain page
request (a participant's page) measured in the same run as the baseline.

Needs PostgreSQL: BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres
names the server); a database `bench_live_<pid>` is created there and dropped at the end.
"""

from __future__ import annotations

import http.client
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from bench.support import PYTHON_BIN, ROOT, free_port, signed_in_cookie  # noqa: E402

PASSWORD = "correct horse battery staple 42"
ROLES = ("police-control", "fire-control", "ambulance-control")
SENDS = 12  # each send reaches every participant of the roles it is for


def _database() -> str:
    server = make_url(os.environ.get("BENCH_DATABASE_URL",
                                     "postgresql://postgres@127.0.0.1:5432/postgres"))
    name = f"bench_live_{os.getpid()}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def _drop(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def _prepare(url: str, env: dict, participants: int) -> tuple[int, str, list[tuple[str, str]]]:
    """Migrate, seed, import the live exercises; a facilitator, the participants (one role
    each, in turn) and a running session. Returns its id and who signs in as what."""
    for command in (["db", "upgrade"], ["organisations", "seed"],
                    ["courses", "import", "courses/jesip-live-exercises"]):
        subprocess.run([PYTHON_BIN / "flask", "--app", "app", *command], cwd=ROOT, env=env,
                       check=True, capture_output=True)
    from jesip_learn.accounts import passwords
    from jesip_learn.accounts.administration import create_user
    from jesip_learn.accounts.models import Organisation, User
    from jesip_learn.core.db import Database
    from jesip_learn.courses import catalogue as courses
    from jesip_learn.exercises.live import sessions
    from jesip_learn.exercises.live.models import LiveParticipant

    database = Database(url)
    shared_hash = passwords.hash_password(PASSWORD)
    people = []
    with database.write_session() as session:
        version = courses.find_version(session, "JESIP-LIVE")
        slug = next(i.slug for i in courses.version_outline(version) if "attack" in i.slug)
        services = {service: session.scalars(select(Organisation).where(
            Organisation.service == service)).first() for service in ("police", "fire",
                                                                       "ambulance")}
        facilitator = create_user(session, email="facilitator@bench.example", name="Facilitator",
                                  password=PASSWORD, organisation=services["police"],
                                  command_role="operational", permissions={"trainer"})
        live = sessions.create_session(session, facilitator, version.id, slug)
        for number in range(participants):
            role = ROLES[number % len(ROLES)]
            organisation = services[role.split("-")[0]]
            user = User(email=f"p{number}@bench.example", name=f"Participant {number}",
                        password_hash=shared_hash, organisation_id=organisation.id,
                        command_role="control-room", email_confirmed_at=live.created_at,
                        approved_at=live.created_at)
            session.add(user)
            session.flush()
            participant = LiveParticipant(user=user, role_id=role,
                                                   joined_at=live.created_at)
            live.participants.append(participant)
            people.append((user.email, role))
        session.flush()
        sessions.start(session, facilitator, live)
        live_id = live.id
    database.dispose()
    return live_id, "facilitator@bench.example", people


def _serve(env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [PYTHON_BIN / "gunicorn", "-c", "gunicorn.conf.py", "--worker-class", "gthread",
         "--workers", "2", "--threads", "100", "--graceful-timeout", "3",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "app:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not start: " + process.stderr.read().decode())


class Receiver(threading.Thread):
    """One participant's stream: when each marked entry ("Bench N") arrived."""

    def __init__(self, port: int, live_id: int, cookie: str):
        super().__init__(daemon=True)
        self.port, self.live_id, self.cookie = port, live_id, cookie
        self.arrivals: dict[str, float] = {}
        self.ready = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        connection.request("GET", f"/live/{self.live_id}/stream", headers={
            "Cookie": self.cookie, "Accept": "text/event-stream"})
        response = connection.getresponse()
        self.ready.set()
        while True:
            line = response.readline()
            if not line:
                return
            for mark in re.findall(rb"Bench (\d+)", line):
                self.arrivals.setdefault(mark.decode(), time.monotonic())


def _post(port: int, cookie: str, path: str, page: str, fields: dict) -> float:
    """Send a form as a browser would (its CSRF token from the page); returns the time the
    send began."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", page, headers={"Cookie": cookie})
    body = connection.getresponse().read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)
    started = time.monotonic()
    connection.request("POST", path, body=urllib.parse.urlencode(
        {**fields, "csrf_token": token}, doseq=True), headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"{path} answered {response.status}")
    return started


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def main() -> None:
    participants = 20 if "--quick" in sys.argv[1:] else 60
    try:
        url = _database()
    except OperationalError as error:
        print(f"skipped: this benchmark needs PostgreSQL (BENCH_DATABASE_URL): {error}")
        return
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "benchmark",
           "SESSION_COOKIE_SECURE": "0", "SITE_URL": "http://127.0.0.1",
           "TRUSTED_HOSTS": "127.0.0.1", "LIVE_STREAM_SECONDS": "300"}
    process = None
    try:
        live_id, facilitator_email, people = _prepare(url, env, participants)
        process, port = _serve(env)
        cookies = [(signed_in_cookie(port, email, PASSWORD), role) for email, role in people]
        facilitator = signed_in_cookie(port, facilitator_email, PASSWORD)
        receivers = [Receiver(port, live_id, cookie) for cookie, _role in cookies]
        for receiver in receivers:
            receiver.start()
        for receiver in receivers:
            receiver.ready.wait(30)
        time.sleep(1)  # every stream past its first read
        sent: dict[str, tuple[float, set[str]]] = {}
        control = f"/exercises/live/{live_id}"
        page_times = []
        for number in range(SENDS):
            mark = str(number)
            if number % 2 == 0:
                started = _post(port, facilitator, f"{control}/extra", control, {
                    "title": f"Bench {mark}", "text": "A new development",
                    "roles": list(ROLES), "nonce": f"bench-{mark}"})
                sent[mark] = (started, set(ROLES))
            else:
                cookie, role = cookies[number % len(cookies)]
                started = _post(port, cookie, f"/live/{live_id}/message", f"/live/{live_id}", {
                    "message-target": "inter-control", "message-text": f"Bench {mark}",
                    "message-nonce": f"bench-{mark}"})
                sent[mark] = (started, set(ROLES))
            # The baseline: a participant's page, requested while the streams are open.
            cookie, _role = cookies[(number * 7) % len(cookies)]
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            begun = time.monotonic()
            connection.request("GET", f"/live/{live_id}", headers={"Cookie": cookie})
            connection.getresponse().read()
            page_times.append(time.monotonic() - begun)
            time.sleep(0.3)
        time.sleep(3)
        delays, missing = [], 0
        for receiver, (_cookie, role) in zip(receivers, cookies, strict=True):
            for mark, (started, roles) in sent.items():
                if role not in roles:
                    continue
                if mark in receiver.arrivals:
                    delays.append(receiver.arrivals[mark] - started)
                else:
                    missing += 1
        p50, p95 = _percentiles(delays)
        page50, page95 = _percentiles(page_times)
        print(f"live exercise delivery, {participants} participants, gunicorn 2 gthread "
              f"workers, PostgreSQL")
        print(f"  delivery from send to each receiver's stream: p50 {p50:.3f} s, "
              f"p95 {p95:.3f} s ({len(delays)} deliveries, {missing} missing)")
        print(f"  plain page request (baseline): p50 {page50:.3f} s, p95 {page95:.3f} s")
        print(f"  ratio p95 delivery / p95 page: {p95 / page95:.2f}")
        if missing:
            raise SystemExit(f"{missing} deliveries never arrived")
    finally:
        try:
            if process is not None:
                process.terminate()  # the open streams end with the workers
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        finally:
            _drop(url)


if __name__ == "__main__":
    main()
