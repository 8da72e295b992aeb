"""axe-core on every page each role can reach by following links, so a new page is checked
without anyone remembering to add it, and on the pages' error states."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, check_accessibility, sign_in

ROLES = ("anonymous", "learner", "trainer", "manager", "admin")
MAX_PAGES_PER_ROLE = 150
MAX_PAGES_PER_ENDPOINT = 3
# Pages the administrator's crawl must reach, so a broken crawl cannot pass by seeing nothing.
ADMIN_MUST_REACH = ("/admin/users", "/admin/organisations", "/admin/organisations/new",
                    "/admin/", "/admin/xapi", "/admin/notifications", "/account/two-step",
                    "/account", "/manage/approvals", "/accessibility")


@dataclass
class Crawl:
    visited: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)


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


@pytest.mark.parametrize("role", ROLES)
def test_every_reachable_page_passes_axe(role, request, axe_page, live_server):
    if role != "anonymous":
        account = request.getfixturevalue(role)
        sign_in(axe_page, live_server.url, account.email)
        expect(axe_page.get_by_role("heading", level=1)).to_have_text("My training")

    result = crawl(axe_page, live_server, role)

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
