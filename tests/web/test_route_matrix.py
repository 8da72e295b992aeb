"""Every route of the URL map against every kind of visitor: anonymous, a learner, a trainer,
a manager of organisation A, a manager of organisation B and an administrator.

Generated from the URL map, so a new route is checked without anyone remembering to add it:
a route outside the areas below fails until it is classified. Within an area a visitor
without the permission is refused (sent to sign in, or 403) and never sees the page;
everyone allowed gets an answer that is not a server error. Object-level scope (another
organisation's people, another learner's attempts) is checked separately at the end.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from jesip_learn import attempts, courses, runs

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"
ROLES = ("anonymous", "learner", "trainer", "manager-a", "manager-b", "admin")

# Who may reach each area, by path prefix (the longest prefix that matches wins).
AREAS = {
    "/admin": {"admin"},
    "/manage": {"manager-a", "manager-b", "admin"},
    "/author": {"trainer", "admin"},
    "/exercises": {"trainer", "manager-a", "manager-b", "admin"},
    "/learn": {"learner", "trainer", "manager-a", "manager-b", "admin"},
    "/account": {"learner", "trainer", "manager-a", "manager-b", "admin"},
    "/course-files": {"learner", "trainer", "manager-a", "manager-b", "admin"},
}
PUBLIC = ("/", "/about", "/accessibility", "/healthz", "/favicon.ico", "/static", "/verify",
          "/sign-in", "/register", "/forgot-password", "/confirm-email", "/reset-password",
          "/setup", "/unsubscribe", "/privacy")
# Routes a matrix request must not call, because they would end the visitor's session.
SKIPPED = {"auth.sign_out"}


def _area(path: str) -> set[str] | None:
    prefixes = [prefix for prefix in AREAS if path == prefix or path.startswith(prefix + "/")]
    if prefixes:
        return AREAS[max(prefixes, key=len)]
    public = any(path == prefix or path.startswith(prefix + "/") for prefix in PUBLIC)
    return set(ROLES) if public else None


@pytest.fixture
def world(session, make, organisation, other_organisation):
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    version = courses.find_version(session, "JESIP-AWARE")
    outline = courses.version_outline(version)
    quiz_slug = next(item.slug for item in outline if item.kind == "quiz")
    scenario_slug = next(item.slug for item in outline if item.kind == "scenario")
    module_slug = next(item.slug for item in outline if item.kind == "module")
    people = {
        "learner": make.user(organisation=organisation, name="Lia Learner"),
        "trainer": make.user(organisation=organisation, permissions={"trainer"}),
        "manager-a": make.user(organisation=organisation, permissions={"manager"}),
        "manager-b": make.user(organisation=other_organisation, permissions={"manager"}),
        "admin": make.user(organisation=organisation, permissions={"admin"}),
        "learner-b": make.user(organisation=other_organisation, name="Ben B"),
    }
    learner = people["learner"]
    attempt = attempts.start_attempt(session, learner, version,
                                     courses.version_item(version, quiz_slug),
                                     rng=random.Random(1))
    run = runs.start_run(session, learner, version, courses.version_item(version, scenario_slug))
    session.commit()
    return {
        "people": people, "version": version,
        "values": {"code": "JESIP-AWARE", "attempt_id": attempt.id, "run_id": run.id,
                   "user_id": learner.id, "organisation_id": organisation.id,
                   "certificate_code": "JL-AAAAA-AAAAA", "number": version.number,
                   "token": "not-a-token", "content_hash": version.content_hash,
                   "path": "missing.png", "filename": "css/app.css"},
        "slugs": {"quiz": quiz_slug, "scenario": scenario_slug, "learn": module_slug,
                  "author": quiz_slug},
    }


def _url(rule, world) -> str:
    values = dict(world["values"])
    blueprint = rule.endpoint.split(".", 1)[0]
    values["slug"] = world["slugs"].get(blueprint, "x")
    values["kind"] = "detail.csv" if rule.endpoint.startswith("compliance.") else "users"
    arguments = {name: values.get(name, 1 if "id" in name else "x") for name in rule.arguments}
    path = rule.rule
    for name, value in arguments.items():
        path = path.replace(f"<{name}>", str(value))
        for converter in ("int", "path", "string"):
            path = path.replace(f"<{converter}:{name}>", str(value))
    return path


@pytest.mark.parametrize("role", ROLES)
def test_every_route_refuses_those_without_permission(role, app, browser, world):
    person = world["people"].get(role)
    if person is not None:
        browser.sign_in(person.email)
    token = browser.get("/account" if person else "/sign-in").csrf_token()
    checked, unclassified, wrong = 0, [], []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        path = _url(rule, world)
        allowed = _area(rule.rule)
        if allowed is None:
            unclassified.append(rule.rule)
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = browser.client.get(path)
            else:
                response = browser.client.post(path, data={"csrf_token": token})
            checked += 1
            status = response.status_code
            if status >= 500:
                wrong.append(f"{method} {path}: {status}")
            elif role not in allowed:
                refused = (status == 302 and "/sign-in" in response.headers["Location"]
                           if role == "anonymous" else status == 403)
                if not refused:
                    wrong.append(f"{method} {path}: {status} for {role}, who may not")
    assert unclassified == [], "classify these routes in AREAS or PUBLIC"
    assert wrong == []
    assert checked > 60


def test_object_scope_within_an_area(browser, world):
    people, values = world["people"], world["values"]
    learner = people["learner"]
    browser.sign_in(people["manager-b"].email)
    assert browser.client.get(f"/manage/learners/{learner.id}").status_code == 404
    browser.sign_out()
    browser.sign_in(people["manager-a"].email)
    assert browser.client.get(f"/manage/learners/{learner.id}").status_code == 200
    assert browser.client.get(f"/manage/learners/{people['learner-b'].id}").status_code == 404
    browser.sign_out()
    browser.sign_in(people["learner-b"].email)
    quiz, scenario = world["slugs"]["quiz"], world["slugs"]["scenario"]
    assert browser.client.get(f"/learn/JESIP-AWARE/quizzes/{quiz}/attempts/"
                              f"{values['attempt_id']}").status_code == 404
    assert browser.client.get(f"/learn/JESIP-AWARE/scenarios/{scenario}/runs/"
                              f"{values['run_id']}").status_code == 404
