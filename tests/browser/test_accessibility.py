"""axe-core on every page each role can reach by following links, so a new page is checked
without anyone remembering to add it, and on the pages' error states. The crawl also measures
every page at a phone's width (375 px): none may scroll sideways.

The crawl has a live server of its own, filled as a site in use is: a few hundred people
across the services' organisations with three years of training, a course with two
versions and its editors, an exercise of several organisations, a scheduled report, and
names and addresses longer than most, so that tables and lists reach the widths real data
gives them."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from jesip_learn.accounts.models import Organisation, Permission, Service, User
from jesip_learn.cli.demo_data import seed_demo
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.authoring.changes import create_course
from jesip_learn.courses.authoring.editors import add_editor
from jesip_learn.courses.authoring.publishing import publish_draft
from jesip_learn.courses.models import Course
from jesip_learn.exercises import participants as exercise_participants
from jesip_learn.exercises import recorded as exercises
from jesip_learn.notifications.reports import subscribe
from tests.browser.conftest import (
    FIXTURE_COURSE,
    Account,
    LiveServer,
    add_account,
    check_accessibility,
    live_server_on_fresh_database,
    sideways_scrolling,
    sign_in,
)

ROLES = ("anonymous", "learner", "trainer", "manager", "admin")
MAX_PAGES_PER_ROLE = 150
MAX_PAGES_PER_ENDPOINT = 3
# Pages the administrator's crawl must reach, so a broken crawl cannot pass by seeing nothing.
ADMIN_MUST_REACH = ("/admin/users", "/admin/organisations", "/admin/organisations/new",
                    "/admin/", "/admin/xapi", "/admin/notifications", "/account/two-step",
                    "/account", "/manage/approvals", "/accessibility")


PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
# Longer than most, with no spaces to break at in the address.
LONG_NAME = "Bartholomew Fitzwilliam-Montgomery-Ravenscroft"


@dataclass
class Crawl:
    visited: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    too_wide: list[str] = field(default_factory=list)


@dataclass
class CrawlSite:
    server: LiveServer
    accounts: dict[str, Account]


@pytest.fixture(scope="module")
def crawl_site(tmp_path_factory) -> Iterator[CrawlSite]:
    with live_server_on_fresh_database("crawl", tmp_path_factory.mktemp("crawl")) as server:
        yield CrawlSite(server, _fill(server))


def _fill(server: LiveServer) -> dict[str, Account]:
    database = server.database
    accounts = {
        "learner": add_account(database, name="Lena Learner"),
        "trainer": add_account(database, name="Tomasz Trainer", permissions={Permission.TRAINER}),
        "manager": add_account(database, name="Maryam Manager", permissions={Permission.MANAGER}),
        "admin": add_account(database, name="Ade Administrator", permissions={Permission.ADMIN}),
    }
    long_named = add_account(database, name=LONG_NAME, email=(
        "bartholomew.fitzwilliam-montgomery-ravenscroft.training@example.org"))
    with database.write_session() as session:
        seed_demo(session, learners=300)
        # A second version of JESIP-AWARE: its history, differences and changes.
        courses.import_parsed(session, courses.parse_folders(FIXTURE_COURSE))
        people = {role: session.get(User, account.id) for role, account in accounts.items()}
        trainer, manager, admin = people["trainer"], people["manager"], people["admin"]
        course = create_course(session, trainer, title="Flood response across three services",
                               code="FLOOD-RESPONSE-MULTI-AGENCY")
        publish_draft(session, trainer, course, needs_renewal=False, note="First version")
        awareness = session.scalar(select(Course).where(Course.code == "JESIP-AWARE"))
        add_editor(session, admin, awareness, trainer)
        add_editor(session, admin, course, admin)
        others = session.scalars(
            select(Organisation.id).where(Organisation.is_active,
                                          Organisation.id != manager.organisation_id,
                                          Organisation.service.in_(
                                              [Service.FIRE, Service.AMBULANCE]))
            .order_by(Organisation.name).limit(3)).all()
        exercise = exercises.record_exercise(session, manager, exercises.ExerciseDetails(
            title="Operation Riverbank: a multi-agency flood response table-top exercise",
            held_on=date(2026, 3, 14), kind="table-top",
            location="Maidstone Fire Station, Loose Road, Maidstone, Kent ME15 9QB",
            organisation_ids=(manager.organisation_id, *others),
            command_roles=("operational", "tactical"),
            principles=("co-locate", "communicate"), jdm_stages=("information",)))
        for person in (people["learner"], session.get(User, long_named.id)):
            exercise_participants.add_participant(session, manager, exercise, person, "operational")
        subscribe(session, manager, name="Monthly compliance for the whole organisation by course",
                  query="", file_format="csv", frequency="monthly")
    return accounts


def same_origin_path(href: str, current_url: str, base_url: str) -> str | None:
    """The path (and query) a link leads to on this site, or None if it is not one to crawl."""
    url, _fragment = urldefrag(urljoin(current_url, href))
    parts, base = urlsplit(url), urlsplit(base_url)
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        return None
    path = parts.path or "/"
    if path.startswith("/static/") or PurePosixPath(path).suffix not in ("", ".html"):
        return None
    return f"{path}?{parts.query}" if parts.query else path


def crawl(page: Page, live_server: LiveServer, role: str) -> Crawl:
    """Breadth first from "/", at most a few pages per endpoint, checking each with axe."""
    result = Crawl()
    queue, seen = deque(["/"]), {"/"}
    per_endpoint: Counter[str] = Counter()
    while queue and len(result.visited) < MAX_PAGES_PER_ROLE:
        path = queue.popleft()
        response = page.goto(f"{live_server.url}{path}")
        landed = same_origin_path(page.url, page.url, live_server.url) or path
        seen.add(landed)
        result.visited.append(path)
        if response is not None and response.status >= 500:
            result.server_errors.append(f"{role}: {path} answered {response.status}")
        result.violations += check_accessibility(page, f"{role} {path}")
        page.set_viewport_size(PHONE)
        result.too_wide += sideways_scrolling(page, f"{role} {path} at 375px")
        page.set_viewport_size(DESKTOP)
        hrefs = page.eval_on_selector_all(
            "a[href]", "links => links.map(a => a.getAttribute('href'))")
        for href in hrefs:
            target = same_origin_path(href, page.url, live_server.url)
            if target is None or target in seen:
                continue
            seen.add(target)
            endpoint = live_server.endpoint(target.split("?", 1)[0]) or "<unrouted>"
            if per_endpoint[endpoint] >= MAX_PAGES_PER_ENDPOINT:
                continue
            per_endpoint[endpoint] += 1
            queue.append(target)
    return result


# The administrator's crawl, the longest, runs from test_accessibility_admin.py, so that the
# two test processes (which take whole files) can share the crawls.
@pytest.mark.parametrize("role", [role for role in ROLES if role != "admin"])
def test_every_reachable_page_passes_axe_and_fits_a_phone(role, crawl_site, new_context):
    check_every_reachable_page(role, crawl_site, new_context)


def check_every_reachable_page(role: str, crawl_site: CrawlSite, new_context) -> None:
    """Sign in as `role`, follow every link the pages offer, and run axe and the phone
    width on each page reached."""
    live_server = crawl_site.server
    page = new_context(bypass_csp=True, base_url=live_server.url, viewport=DESKTOP).new_page()
    if role != "anonymous":
        sign_in(page, live_server.url, crawl_site.accounts[role].email)
        expect(page.get_by_role("heading", level=1)).to_have_text("My training")

    result = crawl(page, live_server, role)

    assert len(result.visited) >= 3, f"the {role} crawl reached only {result.visited}"
    if role == "admin":
        missing = [p for p in ADMIN_MUST_REACH if p not in result.visited]
        if not any(p.startswith("/admin/users/") for p in result.visited):
            missing.append("/admin/users/<id>")
        assert not missing, f"the admin crawl never reached {missing}; it saw {result.visited}"
    if role == "learner":
        kinds = ("/learn/JESIP-AWARE", "/modules/", "/quizzes/", "/scenarios/")
        unseen = [k for k in kinds if not any(k in path for path in result.visited)]
        assert not unseen, f"the learner crawl never reached {unseen}; it saw {result.visited}"
    assert not result.server_errors, "\n".join(result.server_errors)
    assert not result.violations, (
        f"{len(result.violations)} accessibility violation(s) on {len(result.visited)} pages "
        f"seen as {role}:\n" + "\n".join(result.violations))
    assert not result.too_wide, (
        f"{len(result.too_wide)} of {len(result.visited)} pages seen as {role} scroll "
        "sideways on a phone:\n" + "\n".join(result.too_wide))


def submit_empty(page: Page, base_url: str, path: str, button: str) -> None:
    page.goto(f"{base_url}{path}")
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()


def test_error_states_pass_axe(new_context, live_server, admin):
    anonymous = new_context(bypass_csp=True).new_page()
    violations: list[str] = []
    for path, button in (("/sign-in", "Sign in"), ("/register", "Create account"),
                         ("/forgot-password", "Send reset link")):
        submit_empty(anonymous, live_server.url, path, button)
        violations += check_accessibility(anonymous, f"{path} sent empty")

    response = anonymous.goto(f"{live_server.url}/no-such-page")
    assert response.status == 404
    expect(anonymous.get_by_role("heading", level=1)).to_have_text("Page not found")
    violations += check_accessibility(anonymous, "404 page")

    administrator = new_context(bypass_csp=True).new_page()
    sign_in(administrator, live_server.url, admin.email)
    administrator.goto(f"{live_server.url}/admin/organisations")
    administrator.get_by_role("button", name="Add an organisation").click()
    expect(administrator.get_by_role("heading", level=1)).to_be_visible()
    administrator.get_by_role("button", name="Save organisation").click()
    expect(administrator.locator(".govuk-error-summary")).to_be_visible()
    violations += check_accessibility(administrator, "/admin/organisations/new sent empty")

    assert not violations, (f"{len(violations)} accessibility violation(s) in error states:\n"
                            + "\n".join(violations))
