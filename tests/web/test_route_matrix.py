"""Every route of the URL map against every kind of visitor: anonymous, a learner, a trainer,
a manager of organisation A, a manager of organisation B and an administrator.

Generated from the URL map, so a new route is checked without anyone remembering to add it:
a route outside the areas below fails until it is classified. Within an area a visitor
without the permission is refused (sent to sign in, or 403) and never sees the page;
everyone allowed gets an answer that is not a server error. Object-level scope (another
organisation's people, another learner's attempts) is checked at the end, and route by route
with every kind of object in tests/web/test_route_scope.py; bad parameters in
tests/web/test_route_fuzz.py.

One world (tests/support/route_world.py) serves the module, everyone signed in once; each
test's changes are rolled back at its end.
"""

from __future__ import annotations

import pytest

from tests.support.route_world import built_world

ROLES = ("anonymous", "learner", "trainer", "manager-a", "manager-b", "admin")

# Who may reach each area, by path prefix (the longest prefix that matches wins).
AREAS = {
    "/admin": {"admin"},
    "/manage": {"manager-a", "manager-b", "admin"},
    "/author": {"trainer", "admin"},
    "/exercises": {"trainer", "manager-a", "manager-b", "admin"},
    "/live": {"learner", "trainer", "manager-a", "manager-b", "admin"},
    "/people": {"trainer", "manager-a", "manager-b", "admin"},
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


# The visitors of this module, as the world names them.
PEOPLE = {"learner": "a.learner", "trainer": "a.trainer", "manager-a": "a.manager",
          "manager-b": "b.manager", "admin": "a.admin", "learner-b": "b.learner"}


@pytest.fixture(scope="module")
def built(database, tmp_path_factory):
    with built_world(database, tmp_path_factory.mktemp("matrix-world")) as world:
        yield world


@pytest.fixture
def world(built):
    """The values each route is called with (organisation A's, the same for every visitor),
    with whatever the test changes undone at its end."""
    ids = built.ids
    with built.savepoint():
        yield {
            "built": built,
            "values": {"code": ids["a.code"], "attempt_id": ids["a.attempt"],
                       "run_id": ids["a.run"], "user_id": ids["a.learner"],
                       "organisation_id": ids["a.organisation"],
                       "certificate_code": "JL-AAAAA-AAAAA", "number": ids["a.version"],
                       "token": "not-a-token", "content_hash": ids["a.content_hash"],
                       "path": "missing.png", "filename": "css/app.css"},
            "slugs": {"quiz": ids["a.quiz"], "scenario": ids["a.scenario"],
                      "learn": ids["a.module"], "author": ids["a.quiz"],
                      "allowances": ids["a.quiz"]},
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
def test_every_route_refuses_those_without_permission(role, world):
    built = world["built"]
    app, visitor = built.app, PEOPLE.get(role, role)
    token = built.tokens[visitor]
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
                response = built.send(visitor, "GET", path)
            else:
                response = built.send(visitor, "POST", path, data={"csrf_token": token})
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


def test_object_scope_within_an_area(world):
    built, values = world["built"], world["values"]
    learner_id = values["user_id"]
    browser = built.browser(PEOPLE["manager-b"])
    assert browser.client.get(f"/manage/learners/{learner_id}").status_code == 404
    browser = built.browser(PEOPLE["manager-a"])
    assert browser.client.get(f"/manage/learners/{learner_id}").status_code == 200
    assert browser.client.get(f"/manage/learners/{built.ids['b.learner']}").status_code == 404
    browser = built.browser(PEOPLE["learner-b"])
    quiz, scenario = world["slugs"]["quiz"], world["slugs"]["scenario"]
    assert browser.client.get(f"/learn/JESIP-AWARE/quizzes/{quiz}/attempts/"
                              f"{values['attempt_id']}").status_code == 404
    assert browser.client.get(f"/learn/JESIP-AWARE/scenarios/{scenario}/runs/"
                              f"{values['run_id']}").status_code == 404
