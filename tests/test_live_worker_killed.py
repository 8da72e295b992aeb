"""A worker killed mid-exercise loses nothing that was acknowledged: the site runs under
gunicorn (gthread workers, as in production); a participant's message is answered, then every
process of the server is killed at once (SIGKILL, no chance to tidy up); after a restart the
message is in the log and the participant's stream, resumed with Last-Event-ID, carries it
once and nothing before it again."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from jesip_learn.core.db import Database
from jesip_learn.exercises.live import sessions
from jesip_learn.exercises.live.log import entries
from jesip_learn.exercises.live.models import LiveSession
from tests.support.database import migrate
from tests.support.factories import PASSWORD
from tests.support.live import import_live_course, live_world

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(env: dict) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen(
        [BIN / "gunicorn", "--worker-class", "gthread", "--workers", "2", "--threads", "4",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "app:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError("gunicorn did not start")


def _request(port, method, path, cookie="", body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, body=body, headers={
        **({"Cookie": cookie} if cookie else {}), **(headers or {}),
        **({"Content-Type": "application/x-www-form-urlencoded"} if body else {})})
    response = connection.getresponse()
    return response, response.read().decode()


def _token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _sign_in(port: int, email: str) -> str:
    response, page = _request(port, "GET", "/sign-in")
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    response, _ = _request(port, "POST", "/sign-in", cookie, urllib.parse.urlencode(
        {"email": email, "password": PASSWORD, "csrf_token": _token(page)}))
    assert response.status == 302
    return response.getheader("Set-Cookie").split(";", 1)[0]


@pytest.mark.skipif(sys.platform == "win32", reason="process groups")
def test_an_acknowledged_message_survives_every_worker_killed(tmp_path):
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    migrate(url)
    database = Database(url)
    with database.write_session() as session:
        import_live_course(session)
        world = live_world(session)
        sessions.start(session, world.facilitator, world.live)
        live_id, email = world.live.id, world.people["police-control"].email
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "killed", "SITE_URL":
           "http://127.0.0.1", "TRUSTED_HOSTS": "127.0.0.1", "SESSION_COOKIE_SECURE": "0",
           "LIVE_STREAM_SECONDS": "0"}
    process, port = _serve(env)
    try:
        cookie = _sign_in(port, email)
        _response, stream = _request(port, "GET", f"/live/{live_id}/stream", cookie)
        seen = [int(n) for n in re.findall(r"^id: (\d+)$", stream, re.M)]
        _response, page = _request(port, "GET", f"/live/{live_id}", cookie)
        response, _ = _request(port, "POST", f"/live/{live_id}/message", cookie,
                               urllib.parse.urlencode({
                                   "csrf_token": _token(page),
                                   "message-target": "inter-control",
                                   "message-text": "Acknowledged before the crash"}))
        assert response.status == 302  # acknowledged
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # every worker at once, no tidying up
        process.wait(timeout=10)
    with database.session() as session:
        texts = [e.text for e in entries(session, session.get(LiveSession, live_id))]
    assert "Acknowledged before the crash" in texts
    process, port = _serve(env)
    try:
        cookie = _sign_in(port, email)
        _response, stream = _request(port, "GET", f"/live/{live_id}/stream", cookie,
                                     headers={"Last-Event-ID": str(seen[-1])})
        resumed = [int(n) for n in re.findall(r"^id: (\d+)$", stream, re.M)]
        assert len(resumed) == 1 and resumed[0] > seen[-1]
        assert "Acknowledged before the crash" in stream
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        database.dispose()
