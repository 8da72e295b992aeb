"""Browser tests: a live server on its own database, Debian's Chromium driven by
Playwright, axe-core for accessibility, and full-page screenshots.

These tests never use the rollback fixture: the server runs in another thread and commits
for real, so it gets a database of its own (a temporary SQLite file, or a sibling
PostgreSQL database when DATABASE_URL is set) that is thrown away at the end.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from jesip_learn.accounts.administration import create_user
from jesip_learn.accounts.models import Organisation, OrganisationDomain, Permission
from jesip_learn.accounts.organisations import seed_reference_organisations
from jesip_learn.core.db import Database
from jesip_learn.courses import catalogue as courses
from jesip_learn.factory import create_app
from tests.support.database import (
    configured_url,
    drop_sibling_database,
    migrate,
    sibling_database,
)
from tests.support.factories import PASSWORD, set_up_two_step
from tests.support.web import (
    SHARED_TEMPLATES,
    TEST_PASSWORD_HASH,
    TWO_STEP_PATH,
    two_step_code,
)

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
AXE_SCRIPT = HERE / "vendor" / "axe.min.js"
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
SCREENSHOT_WIDTHS = (1280, 375)
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SKIP_VARIABLE = "JESIP_SKIP_BROWSER_TESTS"
# Screenshots of the pages the tests look at are for people to look at (`make screenshots`):
# encoding a few hundred full-page PNGs took a tenth of the browser tests' time, so an
# ordinary run saves only the screens of a test that failed (under screenshots/failed/).
SCREENSHOTS_VARIABLE = "JESIP_SCREENSHOTS"
FAILED_SCREENSHOTS = SCREENSHOTS / "failed"


def screenshots_wanted() -> bool:
    return os.environ.get(SCREENSHOTS_VARIABLE) == "1"


# Each running live server's database by its URL: sign_in reads two-step secrets there.
LIVE_DATABASES: dict[str, Database] = {}
# The organisation people register with in the journeys: its domain proves who they work for.
PREFERRED_DOMAIN = "kent.police.uk"


# --- collection: every test here is a browser test --------------------------------------


def pytest_collection_modifyitems(config, items):
    skip = os.environ.get(SKIP_VARIABLE) == "1"
    for item in items:
        if HERE not in Path(item.path).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if skip:
            item.add_marker(pytest.mark.skip(reason=f"{SKIP_VARIABLE}=1"))


# Debian's headless build of Chromium first: the same engine without the desktop browser
# around it, it takes about a third less of the machine for the same tests (the course
# packages play in the whole browser: `desktop_chromium_browser`).
CHROMIUM_NAMES = ("chromium-headless-shell", "chromium")


def chromium_executable() -> str | None:
    for name in CHROMIUM_NAMES:
        if Path(f"/usr/bin/{name}").exists():
            return f"/usr/bin/{name}"
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


@pytest.fixture(scope="session", autouse=True)
def _require_chromium() -> None:
    """Missing Chromium is a failure, not a quiet skip: a green run must mean it ran."""
    if chromium_executable() is None:
        pytest.fail(
            "Chromium is not installed, so the browser tests cannot run. `make test` installs "
            "it (apt-get install chromium chromium-headless-shell); or set "
            "JESIP_SKIP_BROWSER_TESTS=1 to skip them.",
            pytrace=False,
        )


# --- the live server --------------------------------------------------------------------


class QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@dataclass
class LiveServer:
    url: str
    app: Flask
    database: Database

    @property
    def outbox(self) -> list:
        return self.app.extensions["mailer"].outbox

    def endpoint(self, path: str) -> str | None:
        """The Flask endpoint a path is routed to, or None when nothing routes it."""
        adapter = self.app.url_map.bind("localhost")
        try:
            endpoint, _ = adapter.match(path, method="GET")
        except Exception:  # NotFound, MethodNotAllowed, RequestRedirect
            return None
        return endpoint


SHIPPED_COURSES = Path(__file__).resolve().parents[2] / "courses"
# The example course of the content format, completed: code JESIP-AWARE.
FIXTURE_COURSE = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"


@contextmanager
def live_server_on_fresh_database(name: str, directory: Path) -> Iterator[LiveServer]:
    """Migrate and seed a new database, serve the app on it in a thread, then drop it."""
    configured = configured_url()
    url = sibling_database(configured, name) if configured else (
        f"sqlite:///{directory / f'{name}.db'}")
    database = None
    try:
        migrate(url)
        database = Database(url)
        with database.write_session() as session:
            seed_reference_organisations(session)
            # The shipped courses, so the crawl reaches every kind of learner page.
            courses.import_parsed(session, courses.parse_folders(SHIPPED_COURSES))
        app = create_app({
            "TESTING": False,
            "DATABASE": database,
            "DATABASE_URL": url,
            "SECRET_KEY": "browser test secret key",
            "SESSION_COOKIE_SECURE": False,
            "MAIL_BACKEND": "memory",
            "INSTANCE_PATH": directory / "instance",
            "SITE_URL": "http://127.0.0.1",  # its port once the server has one
            "PASSWORD_HASH_METHOD": TEST_PASSWORD_HASH,
            "JINJA_BYTECODE_CACHE": SHARED_TEMPLATES,
        })
        server = make_server("127.0.0.1", 0, app, threaded=True,
                             request_handler=QuietRequestHandler)
        live_url = f"http://127.0.0.1:{server.server_port}"
        app.config["SITE_URL"] = live_url
        thread = threading.Thread(target=server.serve_forever, name=f"live-{name}",
                                  daemon=True)
        thread.start()
        LIVE_DATABASES[live_url] = database
        try:
            yield LiveServer(url=live_url, app=app, database=database)
        finally:
            LIVE_DATABASES.pop(live_url, None)
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
    finally:
        if database is not None:
            database.engine.dispose()
        if configured:
            drop_sibling_database(url)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    with live_server_on_fresh_database("browser", tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    return live_server.url


@pytest.fixture
def fresh_live_server(tmp_path) -> Iterator[LiveServer]:
    """A second live server with an empty database, for a test that needs one (first run)."""
    with live_server_on_fresh_database("browser_fresh", tmp_path) as server:
        yield server


# --- people in the live database ----------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    name: str
    password: str
    organisation: str


def home_organisation(database: Database) -> tuple[int, str, str]:
    """(id, name, domain) of the seeded organisation people register with."""
    with database.session() as session:
        row = session.execute(
            select(Organisation.id, Organisation.name, OrganisationDomain.domain)
            .join(OrganisationDomain, OrganisationDomain.organisation_id == Organisation.id)
            .where(Organisation.is_active)
            .order_by((OrganisationDomain.domain != PREFERRED_DOMAIN), Organisation.name)
            .limit(1)
        ).one_or_none()
    assert row is not None, "the seeded reference data has no organisation with a domain"
    return row.id, row.name, row.domain


def add_account(database: Database, *, name: str, permissions: set[str] = frozenset(),
                email: str | None = None) -> Account:
    organisation_id, organisation_name, _ = home_organisation(database)
    email = email or f"{name.split()[0].lower()}.{uuid.uuid4().hex[:10]}@example.org"
    with database.write_session() as session:
        organisation = session.get(Organisation, organisation_id)
        user = create_user(session, email=email, name=name, password=PASSWORD,
                           organisation=organisation, command_role="operational",
                           permissions=set(permissions))
        grant = user.manager_grant()
        if grant is not None:
            grant.organisation = organisation  # a manager of their own organisation
        if user.mfa_required:
            set_up_two_step(user)
        session.flush()
        user_id = user.id
    return Account(id=user_id, email=email, name=name, password=PASSWORD,
                   organisation=organisation_name)


@pytest.fixture(scope="session")
def make_account(live_server) -> Callable[..., Account]:
    def make(name: str | None = None, permissions: set[str] = frozenset()) -> Account:
        return add_account(live_server.database,
                           name=name or f"Person {uuid.uuid4().hex[:6]}",
                           permissions=permissions)

    return make


@pytest.fixture(scope="session")
def learner(make_account) -> Account:
    return make_account("Lena Learner")


@pytest.fixture(scope="session")
def trainer(make_account) -> Account:
    return make_account("Tomasz Trainer", {Permission.TRAINER})


@pytest.fixture(scope="session")
def manager(make_account) -> Account:
    return make_account("Maryam Manager", {Permission.MANAGER})


@pytest.fixture(scope="session")
def admin(make_account) -> Account:
    return make_account("Ade Administrator", {Permission.ADMIN})


# --- Chromium ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_driver(_require_chromium) -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def chromium_browser(playwright_driver) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(executable_path=chromium_executable(),
                                                args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def desktop_chromium_browser(playwright_driver) -> Iterator[Browser]:
    """The whole of Debian's Chromium, headless: the course packages play in it, as they
    do in the desktop browsers of the learning platforms that host them."""
    path = Path("/usr/bin/chromium") if Path("/usr/bin/chromium").exists() else None
    executable = str(path) if path else shutil.which("chromium")
    if executable is None:
        pytest.fail("Chromium (the Debian package chromium) is not installed: the course "
                    "package tests play in it. `make test` installs it.", pytrace=False)
    browser = playwright_driver.chromium.launch(executable_path=executable,
                                                args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test leaves a screenshot of each page it had open, to see why."""
    report = yield
    contexts = getattr(item, "browser_contexts", ())
    if report.failed and report.when == "call" and contexts:
        FAILED_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "-", item.nodeid.split("/")[-1])[:150]
        pages = [page for context in contexts for page in context.pages]
        for number, page in enumerate(pages, start=1):
            path = FAILED_SCREENSHOTS / f"{name}-{number}.png"
            with contextlib.suppress(PlaywrightError):  # a page already closed, or gone
                page.screenshot(path=str(path), timeout=5_000)
                report.sections.append(("screenshots", str(path)))
    return report


@pytest.fixture
def new_context(request, chromium_browser, live_server) -> Iterator[Callable[..., BrowserContext]]:
    """Open browser contexts for this test (closed at its end). The site's CSP is enforced
    unless `bypass_csp=True`, which accessibility checks need to inject axe."""
    contexts: list[BrowserContext] = []
    request.node.browser_contexts = contexts

    def open_context(**options) -> BrowserContext:
        options.setdefault("base_url", live_server.url)
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = chromium_browser.new_context(**options)
        context.set_default_timeout(10_000)
        if options.get("bypass_csp"):
            # axe in every page of an accessibility context from the start: adding its
            # script tag after each page loaded took as long as running it.
            context.add_init_script(path=str(AXE_SCRIPT))
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context) -> Page:
    """A page with the site's Content-Security-Policy enforced, as a person gets it."""
    return new_context().new_page()


@pytest.fixture
def axe_page(new_context) -> Page:
    """A page whose context bypasses the CSP, so axe can be injected."""
    return new_context(bypass_csp=True).new_page()


# --- helpers the tests call -------------------------------------------------------------


def sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Fill in and send the real sign-in form, then the code from the person's
    authenticator app when they use two-step verification."""
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    if urlsplit(page.url).path == TWO_STEP_PATH:
        page.get_by_label("Security code").fill(two_step_code(LIVE_DATABASES[base_url], email))
        page.get_by_role("button", name="Continue", exact=True).click()
        page.wait_for_load_state()


def check_accessibility(page: Page, label: str = "") -> list[str]:
    """axe-core's WCAG 2.2 AA violations on the page as it is now, one readable line each."""
    # The page's styles decide sizes and contrast: wait for them after a navigation that a
    # click or a redirect began.
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    # Only violations are reported in full: axe then skips building selectors for every
    # element that passed.
    result = page.evaluate(
        "async (tags) => await axe.run(document,"
        " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    return [format_violation(label or page.url, violation) for violation in result["violations"]]


# The elements that reach furthest past the right edge of the window, deepest first, so a
# page wider than the screen names what widens it.
_OVERFLOW_SCRIPT = """(limit) => {
  const width = document.documentElement.clientWidth;
  const found = [];
  for (const element of document.body.querySelectorAll('*')) {
    const box = element.getBoundingClientRect();
    if (box.right <= width + 0.5 || box.width === 0) continue;
    let clipped = false;
    for (let parent = element.parentElement; parent && parent !== document.body;
         parent = parent.parentElement) {
      const style = getComputedStyle(parent);
      if (style.overflowX !== 'visible' && style.overflowX !== 'clip'
          && parent.getBoundingClientRect().right <= width + 0.5) { clipped = true; break; }
    }
    if (clipped) continue;
    if ([...element.children].some(child => child.getBoundingClientRect().right > width + 0.5))
      continue;
    const classes = [...element.classList].slice(0, 3).join('.');
    const text = (element.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
    found.push(`${element.tagName.toLowerCase()}${classes ? '.' + classes : ''}`
               + ` to ${Math.round(box.right)}px: "${text}"`);
    if (found.length >= limit) break;
  }
  return found;
}"""


def sideways_scrolling(page: Page, label: str) -> list[str]:
    """A problem when the page is wider than its window (it would scroll sideways), naming
    the elements that stick out; none when it fits."""
    width = page.evaluate("window.innerWidth")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width <= width:
        return []
    culprits = page.evaluate(_OVERFLOW_SCRIPT, 3)
    return [f"{label}: the page is {scroll_width}px wide in a {width}px window"
            + "".join(f"\n    {culprit}" for culprit in culprits)]


def look_at(page: Page, name: str, problems: list[str], checker: Page | None = None) -> None:
    """axe and the page's width at each screenshot width, then full-page screenshots to look
    at (when wanted: `save_screenshots`). With JavaScript turned off the page cannot run axe:
    `checker`, a scripted page, is given its HTML and checked instead."""
    target = checker or page
    if checker is not None:
        checker.set_content(page.content(), wait_until="load")
    original = target.viewport_size or {"width": 1280, "height": 800}
    for width in SCREENSHOT_WIDTHS:
        target.set_viewport_size({"width": width, "height": 800 if width > 600 else 740})
        problems += check_accessibility(target, f"{name} at {width}px")
        problems += sideways_scrolling(target, f"{name} at {width}px")
    target.set_viewport_size(original)
    save_screenshots(page, name)


def format_violation(label: str, violation: dict, examples: int = 3) -> str:
    lines = [f"{label}: {violation['id']} ({violation.get('impact')}) – {violation['help']}"
             f" [{len(violation['nodes'])} element(s)] {violation.get('helpUrl', '')}"]
    for node in violation["nodes"][:examples]:
        target = " ".join(str(t) for t in node.get("target", []))
        html = " ".join(node.get("html", "").split())[:200]
        lines.append(f"    at {target}: {html}")
        summary = " ".join((node.get("failureSummary") or "").split())
        if summary:
            lines.append(f"       {summary[:300]}")
    return "\n".join(lines)


def save_screenshots(page: Page, name: str, widths=SCREENSHOT_WIDTHS,
                     full_page: bool = True) -> list[Path]:
    """PNGs at each width, under test-artifacts/screenshots (git-ignored): the full page, or
    only the first screen of a very long one (a whole course's changes is ~100,000 px).
    Only when JESIP_SCREENSHOTS=1 (`make screenshots`); otherwise nothing is saved."""
    if not screenshots_wanted():
        return []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size or {"width": 1280, "height": 800}
    saved = []
    for width in widths:
        page.set_viewport_size({"width": width, "height": 800 if width > 600 else 740})
        path = SCREENSHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=full_page)
        saved.append(path)
    page.set_viewport_size(original)
    return saved


# --- the example course ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_course(live_server) -> str:
    """The example course in the live server's database, as the published JESIP-AWARE
    (importing it again is a no-op)."""
    with live_server.database.write_session() as session:
        courses.import_parsed(session, courses.parse_folders(FIXTURE_COURSE))
    return "JESIP-AWARE"


def answer_quiz(page: Page, quiz, *, right: bool) -> None:
    """Answer every question as a person would: radios, check boxes and a position select
    per item; all right, or all wrong."""
    for question in quiz.questions:
        group = page.get_by_role("group", name=re.compile(re.escape(question.title)))
        if question.kind == "ordering":
            order = list(question.correct_order)
            if not right:
                order.reverse()
            text = {option.id: option.html for option in question.options}
            for position, option_id in enumerate(order, start=1):
                group.get_by_label(text[option_id], exact=True).select_option(str(position))
        elif question.kind == "single":
            chosen = next(o for o in question.options if o.correct is right)
            group.get_by_role("radio", name=chosen.html, exact=True).check()
        else:
            for option in question.options:
                box = group.get_by_role("checkbox", name=option.html, exact=True)
                box.set_checked(option.correct is right)
