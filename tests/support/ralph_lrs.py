"""A real learning record store for the tests: ralph (from PyPI) with its file-system
backend, on a free loopback port, in its own virtual environment at .venv-ralph.

`make test` installs it (the Makefile's .venv-ralph/.installed target); when it is missing,
`ensure_ralph` installs it the same way. A machine that cannot install it fails the tests
that need it, saying why: they are never skipped.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RALPH_VENV = ROOT / ".venv-ralph"
REQUIREMENTS = Path(__file__).with_name("requirements-ralph.txt")
SERVER_SCRIPT = Path(__file__).with_name("ralph_server.py")
INSTALLED = RALPH_VENV / ".installed"
START_SECONDS = 60


class RalphUnavailable(RuntimeError):
    """ralph could not be installed or started; the message says what happened."""


def ensure_ralph() -> Path:
    """ralph's Python, installing it into .venv-ralph first when it is not there."""
    python = RALPH_VENV / "bin" / "python"
    if INSTALLED.exists() and INSTALLED.stat().st_mtime >= REQUIREMENTS.stat().st_mtime:
        return python
    commands = [[sys.executable, "-m", "venv", str(RALPH_VENV)],
                [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 "-r", str(REQUIREMENTS)]]
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise RalphUnavailable(
                f"Could not install the ralph learning record store into {RALPH_VENV} "
                f"(`{' '.join(command)}` exited {done.returncode}). It comes from PyPI: is "
                f"the network there? Its last words:\n{(done.stdout + done.stderr)[-3000:]}")
    INSTALLED.touch()
    return python


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RalphLrs:
    """One ralph store with its data in `folder`; it can be stopped and started again on
    the same port with the same statements."""

    def __init__(self, folder: Path):
        self.python = ensure_ralph()
        self.folder = folder
        self.port = free_port()
        self.username, self.password = "jesip", secrets.token_urlsafe(16)
        self.process: subprocess.Popen | None = None
        (folder / "data").mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ,
                    "RALPH_APP_DIR": str(folder / "app"),
                    "RALPH_RUNSERVER_BACKEND": "fs",
                    "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(folder / "data")}
        ralph = RALPH_VENV / "bin" / "ralph"
        done = subprocess.run(  # noqa: S603
            [str(ralph), "auth", "-u", self.username, "-p", self.password, "-s", "all",
             "-M", "mailto:lrs@example.org", "-w"],
            env=self.env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RalphUnavailable(f"`ralph auth` failed: {done.stderr[-2000:]}")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/xAPI/"

    def start(self) -> None:
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [str(self.python), str(SERVER_SCRIPT), "127.0.0.1", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RalphUnavailable("ralph stopped as it started:\n" + self.log()[-3000:])
            try:
                self.get("statements?limit=1")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        self.stop()
        raise RalphUnavailable(f"ralph did not answer within {START_SECONDS} seconds:\n"
                               + self.log()[-3000:])

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def get(self, path: str) -> dict:
        pair = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"http://127.0.0.1:{self.port}/xAPI/{path}",
            headers={"Authorization": f"Basic {pair}", "X-Experience-API-Version": "1.0.3"})
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return json.load(answer)

    def statements(self) -> list[dict]:
        """Every statement the store holds, following its `more` links."""
        found, path = [], "statements?limit=100"
        while path:
            page = self.get(path)
            found.extend(page["statements"])
            more = page.get("more") or ""
            path = more.split("/xAPI/", 1)[1] if page["statements"] and "/xAPI/" in more else ""
        return found
