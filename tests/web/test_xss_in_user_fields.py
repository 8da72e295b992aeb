"""Hostile text in every field people type (names, organisation names, the source of
imported records, a search) is shown as text on every page that shows it: never as markup.

The payloads are the content engine's XSS corpus; each is put in the fields at once and the
pages read back with an HTML parser, which must find no element or attribute from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from jesip_learn.accounts.models import Organisation
from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion

CORPUS = Path(__file__).resolve().parents[1] / "content" / "xss_payloads.txt"
PAYLOADS = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"
# The site's own pages have scripts only from /static and no inline event handlers.
MARKER = "xss-probe"
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcset", "xlink:href",
                  "background", "poster", "cite"}


def _problems(html: str, payload: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    # Escaped, a payload's "<" becomes "&lt;": finding it as written means markup got through.
    found = [f"unescaped: {payload[:60]}"] if "<" in payload and payload in html else []
    for script in soup.find_all("script"):
        if not (script.get("src") or "").startswith("/static/"):
            found.append(f"script: {str(script)[:80]}")
    for element in soup.find_all(True):
        for name, value in element.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            if name.lower().startswith("on"):
                found.append(f"{element.name}[{name}]")
            if name.lower() in URL_ATTRIBUTES and "javascript:" in (
                    text.lower().replace("\t", "").replace(" ", "")):
                found.append(f"{element.name}[{name}]={text[:60]}")
        if element.name in ("iframe", "object", "embed", "math", "base", "meta", "img") and (
                element.get("src") or element.get("data") or element.get("href")
                or element.get("content") or "").lower().startswith(("http", "data:", "//")):
            found.append(f"<{element.name}> from somewhere else")
    return found


@pytest.mark.parametrize("payload", PAYLOADS[::3], ids=lambda p: p[:30])
def test_hostile_text_is_shown_as_text(payload, browser, make, organisation, session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    version = courses.find_version(session, "JESIP-AWARE")
    hostile = f"{MARKER} {payload}"[:200]
    org = session.get(Organisation, organisation.id)
    org.name = f"Org {hostile}"[:200]
    learner = make.user(organisation=organisation, name=f"L {hostile}"[:200])
    when = datetime.now(UTC) - timedelta(days=20)
    session.add(Completion(user_id=learner.id, course_id=version.course_id, version_id=None,
                           completed_at=when, expires_at=progress.add_months(when, 12),
                           certificate_code=None, source=hostile[:200]))
    admin = make.user(organisation=organisation, name=f"A {hostile}"[:200],
                      permissions={"admin"})
    session.commit()
    browser.sign_in(admin.email)
    pages = ["/admin/users", f"/admin/users/{learner.id}", "/admin/organisations",
             f"/admin/audit?q={MARKER}", "/manage/compliance", "/manage/compliance/learners",
             f"/manage/learners/{learner.id}", "/manage/approvals", "/account",
             "/learn", "/manage/requirements", "/author/courses"]
    problems = {}
    for path in pages:
        response = browser.client.get(path)
        assert response.status_code == 200, path
        found = _problems(response.get_data(as_text=True), payload)
        if found:
            problems[path] = found
    browser.sign_out()
    browser.sign_in(learner.email)
    for path in ("/learn", "/learn/JESIP-AWARE", "/learn/history", "/account"):
        found = _problems(browser.client.get(path).get_data(as_text=True), payload)
        if found:
            problems[path] = found
    assert problems == {}
