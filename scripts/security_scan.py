"""Scan the running site with Wapiti, signed in, and fail on any finding of medium or higher.

Run through `scripts/security-scan.sh` (`make scan`), which installs Wapiti in a virtual
environment of its own and runs this with the application's Python.

What it does, in a temporary folder that is deleted afterwards:

1. a fresh SQLite database: migrations, the reference organisations, the shipped courses
   and a small demo (invented learners with training records);
2. two scan accounts: a demo learner with training records, so the learner's pages show
   progress, certificates and history, and an administrator (who sees the most), enrolled
   in two-step verification when the site has it;
3. the site under gunicorn on a free loopback port, with a secret key of its own and
   cookies allowed over plain http (so Wapiti reports, at low level, that the session
   cookie is not Secure: in production it is);
4. for each account: sign in through the real forms (password, then the six-digit code
   when the site asks for one), hand the session cookie to Wapiti, and crawl and attack
   the site with anything that would end the session left out;
5. read each JSON report, print every finding at every level, and exit 1 when any is
   medium, high or critical, or the crawl met a server error.

The reports go to test-artifacts/security-scan/, with the server's log.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "security-scan"
APP_BIN = Path(sys.executable).parent
SESSION_COOKIE = "jesip_session"  # SESSION_COOKIE_NAME in jesip_learn/core/config.py
DEMO_LEARNERS = 50

# Wapiti's levels (wapitiCore/language/vulnerability.py).
LEVEL_NAMES = {0: "info", 1: "low", 2: "medium", 3: "high", 4: "critical"}
FAILING_LEVEL = 2

# Wapiti's default modules, less `ssl` (the scan is plain http on loopback) and `ssrf` (it
# needs Wapiti's endpoint on the internet), plus the CSRF and header-injection checks.
MODULES = ("cookieflags", "csp", "csrf", "crlf", "exec", "file", "http_headers",
           "permanentxss", "redirect", "sql", "upload", "xss")

# Reached by the crawl, these would end the scan's session or lock the account out, and
# teach the scanner nothing: signing out, and the account's two-step settings.
SESSION_ENDING_PATHS = ("/sign-out*", "/account/two-step*")
ADMIN_START_PATHS = ("/admin/users", "/admin/organisations", "/admin/audit", "/author/courses",
                     "/manage/compliance", "/manage/requirements", "/manage/imports",
                     "/manage/approvals", "/learn")
LEARNER_START_PATHS = ("/learn", "/learn/history", "/account")


@dataclass(frozen=True)
class ScanAccount:
    label: str
    user_id: int
    email: str
    password: str
    totp_secret: str | None  # set when the account signs in with a second step
    # Crawl budget and attack time per module, in seconds.
    crawl_seconds: int
    attack_seconds: int
    # Where the crawl starts besides the home page, so each area is reached within budget.
    start_paths: tuple[str, ...]


class ScanError(Exception):
    """The scan could not run as intended; the message says what went wrong."""


# --- the site --------------------------------------------------------------------------


def flask(env: dict, *arguments: str) -> str:
    completed = subprocess.run([APP_BIN / "flask", "--app", "app", *arguments], cwd=ROOT,
                               env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise ScanError(f"flask {' '.join(arguments)} failed:\n{completed.stdout}"
                        f"{completed.stderr}")
    return completed.stdout


def prepare_database(env: dict) -> None:
    flask(env, "db", "upgrade")
    flask(env, "organisations", "seed")
    flask(env, "courses", "import", "courses")
    flask(env, "demo", "seed", "--learners", str(DEMO_LEARNERS))


def create_scan_accounts(env: dict) -> list[ScanAccount]:
    """The administrator and the learner, written straight to the scan's database."""
    os.environ.update(env)  # create_app reads its settings from the environment
    from sqlalchemy import func, select

    from jesip_learn.accounts import passwords
    from jesip_learn.accounts.administration import create_user
    from jesip_learn.accounts.models import (
        CommandRole,
        Organisation,
        Permission,
        PermissionGrant,
        User,
    )
    from jesip_learn.cli.demo_data import DEMO_DOMAIN
    from jesip_learn.factory import create_app
    from jesip_learn.learning.models import Completion, ItemProgress

    app = create_app()
    admin_password, learner_password = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    with app.extensions["database"].write_session() as session:
        organisation = session.scalars(select(Organisation).order_by(Organisation.id)).first()
        admin = create_user(
            session, email="security.scan@scan.example.org", name="Security Scan",
            password=admin_password, organisation=organisation,
            command_role=CommandRole.TACTICAL,
            permissions={Permission.ADMIN, Permission.TRAINER})
        totp_secret = None
        if hasattr(User, "mfa_secret"):  # administrators must use two-step verification
            import pyotp

            totp_secret = pyotp.random_base32()
            admin.mfa_secret = totp_secret
            admin.mfa_enabled_at = datetime.now(UTC)
        # An active demo learner holding only the learner permission, with the most
        # training records behind them.
        learner = session.scalars(
            select(User)
            .where(User.email.endswith("@" + DEMO_DOMAIN), User.is_active.is_(True),
                   User.approved_at.is_not(None),
                   ~User.grants.any(PermissionGrant.permission != Permission.LEARNER),
                   User.id.in_(select(Completion.user_id)))
            .order_by(select(func.count()).where(ItemProgress.user_id == User.id)
                      .scalar_subquery().desc(), User.id)
        ).first()
        if learner is None:
            raise ScanError("The demo holds no active learner with training records.")
        learner.password_hash = passwords.hash_password(learner_password)
        session.flush()
        # The learner first: the administrator's scan submits forms that change accounts.
        accounts = [
            ScanAccount("learner", learner.id, learner.email, learner_password, None,
                        crawl_seconds=25, attack_seconds=5, start_paths=LEARNER_START_PATHS),
            ScanAccount("administrator", admin.id, admin.email, admin_password, totp_secret,
                        crawl_seconds=60, attack_seconds=12, start_paths=ADMIN_START_PATHS),
        ]
    app.extensions["database"].engine.dispose()
    return accounts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_site(env: dict, log_path: Path):
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [APP_BIN / "gunicorn", "--workers", "2", "--threads", "2", "--timeout", "60",
             "--graceful-timeout", "5", "--bind", f"127.0.0.1:{port}",
             "--access-logfile", "-", "app:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(base_url + "/healthz", timeout=2):
                        break
                except OSError as error:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise ScanError(f"The site did not start (see {log_path})") from error
                    time.sleep(0.3)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- signing in ------------------------------------------------------------------------

CSRF_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*>')
VALUE = re.compile(r'\bvalue="([^"]*)"')


def csrf_token(page: str, url: str) -> str:
    field = CSRF_INPUT.search(page)
    value = VALUE.search(field.group(0)) if field else None
    if value is None:
        raise ScanError(f"No CSRF token in the form at {url}")
    return value.group(1)


class Browser:
    """Just enough of a browser to sign in: cookies, redirects and forms."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path: str) -> tuple[str, str]:
        """The page at `path`, and the path it ended at after redirects."""
        return self._open(urllib.request.Request(self.base_url + path))

    def submit(self, path: str, fields: dict) -> tuple[str, str]:
        """Post the form on the page at `path` with its CSRF token; the page reached."""
        page, _ = self.get(path)
        body = urllib.parse.urlencode({"csrf_token": csrf_token(page, path), **fields}).encode()
        return self._open(urllib.request.Request(self.base_url + path, data=body,
                                                 method="POST"))

    def _open(self, request: urllib.request.Request) -> tuple[str, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.read().decode(), urllib.parse.urlsplit(response.url).path
        except urllib.error.HTTPError as error:
            raise ScanError(f"{request.method} {request.full_url}: HTTP {error.code}") from error

    def session_cookie(self) -> http.cookiejar.Cookie:
        for cookie in self.cookies:
            if cookie.name == SESSION_COOKIE:
                return cookie
        raise ScanError(f"The site set no {SESSION_COOKIE} cookie")


def sign_in(base_url: str, account: ScanAccount) -> Browser:
    browser = Browser(base_url)
    page, path = browser.submit("/sign-in", {"email": account.email,
                                             "password": account.password})
    if path == "/sign-in/two-step":
        if account.totp_secret is None:
            raise ScanError(f"The site asks the {account.label} for a code, but the account "
                            "has no two-step secret")
        import pyotp

        page, path = browser.submit("/sign-in/two-step",
                                    {"code": pyotp.TOTP(account.totp_secret).now()})
    if path.startswith(("/sign-in", "/account/two-step")):
        raise ScanError(f"Signing in as the {account.label} stopped at {path}")
    page, path = browser.get("/account")
    if path != "/account" or account.email not in page:
        raise ScanError(f"Signed in as the {account.label}, /account led to {path}")
    return browser


def write_cookie_file(browser: Browser, destination: Path) -> None:
    """The session cookie in Wapiti's JSON cookie format (wapitiCore/net/jsoncookie.py):
    domain, then path, then name."""
    cookie = browser.session_cookie()
    cookies = {"127.0.0.1": {cookie.path or "/": {cookie.name: {
        "value": cookie.value, "expires": cookie.expires, "secure": cookie.secure,
        "port": None, "version": 0}}}}
    destination.write_text(json.dumps(cookies))


# --- the scan --------------------------------------------------------------------------


def excluded_urls(base_url: str, accounts: list[ScanAccount]) -> list[str]:
    # The scan accounts' own pages under /admin could take away their permissions, give the
    # learner a role that needs two-step verification, or reset it, in the middle of a scan.
    paths = [*SESSION_ENDING_PATHS, *(f"/admin/users/{a.user_id}*" for a in accounts)]
    return [base_url + path for path in paths]


def run_wapiti(wapiti: Path, base_url: str, account: ScanAccount, excluded: list[str],
               work: Path) -> Path:
    cookie_file = work / f"{account.label}-cookie.json"
    write_cookie_file(sign_in(base_url, account), cookie_file)
    report = ARTIFACTS / f"wapiti-{account.label}.json"
    report.unlink(missing_ok=True)
    command = [
        str(wapiti), "--url", base_url + "/", "--scope", "folder",
        "--cookie", str(cookie_file),
        "--module", ",".join(MODULES),
        "--flush-session", "--store-session", str(work / "wapiti-session"),
        "--store-config", str(work / "wapiti-config"),
        "--max-scan-time", str(account.crawl_seconds),
        "--max-attack-time", str(account.attack_seconds),
        "--timeout", "20", "--tasks", "4",
        "--format", "json", "--output", str(report), "--detailed-report", "1",
        "--no-bugreport", "--verbose", "0",
    ]
    for path in account.start_paths:
        command += ["--start", base_url + path]
    for url in excluded:
        command += ["--exclude", url]
    started = time.monotonic()
    print(f"== Wapiti, signed in as the {account.label} ({account.email}) ==", flush=True)
    completed = subprocess.run(command, cwd=work, capture_output=True, text=True)
    (ARTIFACTS / f"wapiti-{account.label}.log").write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0 or not report.exists():
        raise ScanError(f"Wapiti failed (exit {completed.returncode}):\n"
                        f"{completed.stderr[-3000:]}")
    print(f"   {time.monotonic() - started:.0f} s", flush=True)
    return report


@dataclass(frozen=True)
class Finding:
    level: int
    category: str
    method: str
    path: str
    parameter: str
    info: str

    def __str__(self) -> str:
        where = f"{self.method} {self.path}" + (f" [{self.parameter}]" if self.parameter else "")
        return f"{LEVEL_NAMES.get(self.level, self.level):>8}  {self.category}: {where}\n" \
               f"          {self.info}"


def read_report(report: Path) -> tuple[list[Finding], list[dict]]:
    """Every finding in the report, worst first, and the requests the crawl made. Wapiti
    reports a server error only when an attack causes it; one the crawl met is as serious,
    so it is added here at Wapiti's level for errors (high)."""
    data = json.loads(report.read_text())
    findings = [
        Finding(item["level"], category, item["method"], item["path"], item["parameter"] or "",
                " ".join(str(item["info"]).split()))
        for section in ("vulnerabilities", "anomalies", "additionals")
        for category, items in data.get(section, {}).items()
        for item in items
    ]
    crawled = [page["request"] for page in data["infos"].get("crawled_pages", [])]
    findings += [
        Finding(3, "Internal Server Error during the crawl", request["method"],
                urllib.parse.urlsplit(request["url"]).path, "",
                f"HTTP {request['status_code']} for {request['url']}")
        for request in crawled if (request.get("status_code") or 0) >= 500
    ]
    findings.sort(key=lambda f: (-f.level, f.category, f.path))
    return findings, crawled


def check_crawl_was_signed_in(account: ScanAccount, crawled: list[dict]) -> None:
    """A crawl that lost its session would scan only the public pages and find nothing."""
    wanted = "/admin/users" if account.label == "administrator" else "/learn/history"
    if not any(urllib.parse.urlsplit(request["url"]).path == wanted
               and request.get("status_code") == 200 for request in crawled):
        raise ScanError(f"The {account.label}'s crawl never reached {wanted}: it was not "
                        "signed in, or lost its session")


def scan(wapiti: Path) -> int:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jesip-scan-") as folder:
        work = Path(folder)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'scan.db'}",
               "SECRET_KEY": secrets.token_hex(32), "SESSION_COOKIE_SECURE": "0",
               "MAIL_BACKEND": "log", "REDIS_URL": "", "SITE_URL": "http://127.0.0.1",
               "TRUSTED_HOSTS": "127.0.0.1",
               # The attacks post the email forms again and again: let them all be handled.
               "EMAIL_REQUESTS_PER_ACCOUNT": "1000000", "EMAIL_REQUESTS_PER_ADDRESS": "1000000"}
        print("== Preparing a demo database ==", flush=True)
        prepare_database(env)
        accounts = create_scan_accounts(env)
        failing: list[tuple[str, Finding]] = []
        with running_site(env, ARTIFACTS / "server.log") as base_url:
            for account in accounts:
                report = run_wapiti(wapiti, base_url, account,
                                    excluded_urls(base_url, accounts), work)
                findings, crawled = read_report(report)
                check_crawl_was_signed_in(account, crawled)
                print(f"   {len(crawled)} requests crawled; report {report.relative_to(ROOT)}")
                print(f"   {len(findings)} findings" + (":" if findings else ""))
                for finding in findings:
                    print(f"   {finding}")
                failing += [(account.label, f) for f in findings if f.level >= FAILING_LEVEL]
    print(f"== Scan finished in {time.monotonic() - started:.0f} s ==")
    if failing:
        print(f"{len(failing)} findings of medium level or higher:", file=sys.stderr)
        for label, finding in failing:
            print(f"   as the {label}: {finding}", file=sys.stderr)
        return 1
    print("No finding of medium level or higher.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wapiti", type=Path, required=True, help="the wapiti executable")
    arguments = parser.parse_args()
    try:
        return scan(arguments.wapiti)
    except ScanError as error:
        print(f"Security scan could not run: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
