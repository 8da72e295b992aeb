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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def prepared_database():
    """A fresh SQLite database, migrated and seeded, in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/bench.db",
               "SECRET_KEY": "benchmark", "SESSION_COOKIE_SECURE": "0",
               "SITE_URL": "http://127.0.0.1", "TRUSTED_HOSTS": "127.0.0.1"}
        for command in (["db", "upgrade"], ["organisations", "seed"]):
            subprocess.run([PYTHON_BIN / "flask", "--app", "app", *command], cwd=ROOT, env=env,
                           check=True, capture_output=True)
        yield env


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
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        else:
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
