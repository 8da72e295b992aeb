"""Another organisation's objects, route by route: every route whose address names an object
is tried with organisation B's object by each person of organisation A (learner, trainer,
manager, administrator), with a GET and with the POST its form sends (real fields and a
valid CSRF token). Those who may not see it get 403 or 404 and change nothing in the
database; those who may (the table says who), and the person of B it belongs to, get the
page or the expected redirect, and their POST changes what it should. The table
(tests/support/route_table.py) must classify every parameter of every route in the URL
map, so a new route fails here until someone says whose objects it takes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from flask import url_for
from sqlalchemy import func, select

from jesip_learn.accounts.models import User
from jesip_learn.learning.models import Completion
from tests.support.pages import read_page
from tests.support.route_table import A_PEOPLE, NOT_OBJECTS, OBJECT_ROUTES, Case, resolve
from tests.support.route_world import World, built_world, changed_tables

REFUSED = {403, 404}


@pytest.fixture(scope="module")
def world(database, tmp_path_factory):
    with built_world(database, tmp_path_factory.mktemp("scope-world")) as built:
        yield built


@pytest.fixture
def fresh(world):
    """The world, with whatever this test changes undone at its end."""
    with world.savepoint():
        yield world


def _methods(world, endpoint: str) -> list[str]:
    methods = set()
    for rule in world.app.url_map.iter_rules(endpoint):
        methods |= rule.methods - {"HEAD", "OPTIONS"}
    return sorted(methods)


def _address(world, case: Case) -> str:
    with world.app.test_request_context():
        return url_for(case.endpoint, **resolve(world, case))


def _send(world, role: str, method: str, address: str, case: Case):
    if method == "GET":
        return world.send(role, "GET", address + (f"?{case.query}" if case.query else ""))
    with world.session() as session:
        form = case.form(world, session) if case.form else {}
    return world.send(role, "POST", address, data={**form, "csrf_token": world.tokens[role]})


def _outcome(response) -> str:
    location = response.headers.get("Location", "")
    return f"{response.status_code}" + (f" to {urlsplit(location).path}" if location else "")


def _marked(case: Case):
    """A case whose hole is known and not yet mended fails until it is (strict xfail)."""
    marks = [pytest.mark.xfail(strict=True, reason=case.hole)] if case.hole else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_marked(case) for case in OBJECT_ROUTES])
def test_another_organisations_object(fresh, case):
    world = fresh
    methods = _methods(world, case.endpoint)
    if "POST" in methods:
        assert case.form is not None, f"{case.id}: give the form its owner would send"
    if case.prepare:
        with world.session() as session:
            case.prepare(world, session)
    address = _address(world, case)
    wrong = []
    for method in methods:
        before = world.fingerprint() if method == "POST" else None
        for role in A_PEOPLE:
            if role in case.see:
                continue
            response = _send(world, role, method, address, case)
            if response.status_code not in REFUSED:
                wrong.append(f"{role} {method} {address}: {_outcome(response)}, not refused")
            if before is not None and (changed := changed_tables(before, world.fingerprint())):
                wrong.append(f"{role} {method} {address} changed {', '.join(changed)}")
                before = world.fingerprint()
        for role in dict.fromkeys((*sorted(case.see), case.owner)):
            with world.savepoint():  # each success undone before the next person's
                before = world.fingerprint() if method == "POST" else None
                response = _send(world, role, method, address, case)
                if response.status_code != case.expect[method]:
                    wrong.append(f"{role} {method} {address}: {_outcome(response)}, expected "
                                 f"{case.expect[method]}")
                if (before is not None and role == case.owner and case.changes
                        and not changed_tables(before, world.fingerprint())):
                    wrong.append(f"{role} {method} {address} changed nothing: is the form "
                                 "real?")
    assert wrong == [], "\n".join(wrong)


def test_every_route_with_a_parameter_is_classified(world):
    """A new route whose address takes a parameter fails here until the table says whose
    objects it takes (OBJECT_ROUTES) or why it takes none (NOT_OBJECTS)."""
    covered = {}
    for case in OBJECT_ROUTES:
        covered.setdefault(case.endpoint, set()).update(case.values)
    unclassified, endpoints = [], set()
    for rule in world.app.url_map.iter_rules():
        endpoints.add(rule.endpoint)
        if not rule.arguments or rule.endpoint in NOT_OBJECTS:
            continue
        missing = rule.arguments - set(rule.defaults or {}) - covered.get(rule.endpoint, set())
        if missing:
            unclassified.append(f"{rule.rule} ({rule.endpoint}): {', '.join(sorted(missing))}")
    unknown = sorted((set(covered) | set(NOT_OBJECTS)) - endpoints)
    assert unclassified == [], "say in tests/support/route_table.py whose objects these take"
    assert unknown == [], "these endpoints are no longer in the URL map"


# --- another organisation's objects named in a form or a query string ----------------------


@dataclass(frozen=True)
class Named:
    """A's person sends B's object in a form field or the query string of their own page."""

    label: str
    role: str
    method: str
    address: Callable[[World], str]
    fields: Callable[[World], dict] = lambda world: {}
    statuses: frozenset[int] = frozenset(REFUSED)
    hidden: Callable[[World], list[str]] = lambda world: []  # must not be on the page
    shown: Callable[[World], list[str]] = lambda world: []  # must be: the page works


def _ids(world, key):
    return str(world.ids[key])


def _email(world, role):
    with world.session() as session:
        return world.user(session, role).email


NAMED = [
    Named("an editor of B's course removed from A's course", "a.trainer", "POST",
          lambda w: "/author/courses/JESIP-AWARE/editors/remove",
          lambda w: {"user_id": _ids(w, "b.editor")}),
    Named("B's learner added to A's exercise, which B took no part in", "a.trainer", "POST",
          lambda w: f"/exercises/{_ids(w, 'a.exercise')}/participants/add",
          lambda w: {"user_id": _ids(w, "b.learner"), "role": "operational"},
          statuses=frozenset({200})),
    Named("B's person added by A's manager to the exercise they share", "a.manager", "POST",
          lambda w: f"/exercises/{_ids(w, 'shared_exercise')}/participants/add",
          lambda w: {"user_id": _ids(w, "b.colleague"), "role": "operational"},
          statuses=frozenset({200})),
    Named("B's person added by A's manager from a file", "a.manager", "POST",
          lambda w: f"/exercises/{_ids(w, 'shared_exercise')}/participants/upload/apply",
          lambda w: {"text": f"email,role\n{_email(w, 'b.colleague')},\n"},
          statuses=frozenset({302})),
    Named("B's people searched for by A's manager in the exercise they share", "a.manager",
          "GET", lambda w: f"/exercises/{_ids(w, 'shared_exercise')}/participants/add?q=colleague",
          statuses=frozenset({200}), hidden=lambda w: ["Colleague b"],
          shown=lambda w: ["Colleague a"]),
    Named("the exercise A and B share, opened by A's manager", "a.manager", "GET",
          lambda w: f"/exercises/{_ids(w, 'shared_exercise')}", statuses=frozenset({200}),
          hidden=lambda w: ["Learner B"], shown=lambda w: ["Operation Shared", "Learner A"]),
    Named("a course rule for B added by A's manager", "a.manager", "POST",
          lambda w: "/manage/requirements",
          lambda w: {"course_id": _ids(w, "a.course_id"),
                     "organisation_id": _ids(w, "b.organisation"),
                     "service": "", "command_role": "", "months": ""},
          statuses=frozenset({400})),
    Named("an exercise rule for B added by A's manager", "a.manager", "POST",
          lambda w: "/manage/requirements",
          lambda w: {"course_id": "exercise", "months": "36",
                     "organisation_id": _ids(w, "b.organisation"), "service": "",
                     "command_role": ""},
          statuses=frozenset({400})),
    Named("a scheduled report of B's figures asked for by A's manager", "a.manager", "POST",
          lambda w: "/manage/subscriptions/new",
          lambda w: {"name": "B's figures", "file_format": "csv", "frequency": "weekly",
                     "filters": f"organisation={_ids(w, 'b.organisation')}"},
          statuses=frozenset({400})),
    Named("the dashboard filtered by B for A's manager", "a.manager", "GET",
          lambda w: f"/manage/compliance?organisation={_ids(w, 'b.organisation')}",
          statuses=frozenset({200}), shown=lambda w: ["Select an organisation from the list"],
          hidden=lambda w: ["Southshire"]),
    Named("the people of B's row of the dashboard, for A's manager", "a.manager", "GET",
          lambda w: f"/manage/compliance/learners?group_key={_ids(w, 'b.organisation')}"),
    Named("B's row of the dashboard downloaded by A's manager", "a.manager", "GET",
          lambda w: "/manage/compliance/download/detail.csv?group_key="
                    + _ids(w, "b.organisation")),
    Named("a download filtered by B for A's manager", "a.manager", "GET",
          lambda w: "/manage/compliance/download/detail.csv?organisation="
                    + _ids(w, "b.organisation"), statuses=frozenset({400})),
    Named("a scheduled report filtered by B, asked for by A's manager", "a.manager", "GET",
          lambda w: "/manage/subscriptions/new?organisation=" + _ids(w, "b.organisation"),
          statuses=frozenset({200}), hidden=lambda w: ["Southshire"]),
    Named("B's version numbers compared on A's course", "a.trainer", "GET",
          lambda w: "/author/courses/JESIP-AWARE/diff?old=1&new=2", statuses=frozenset({200}),
          hidden=lambda w: ["SOUTH-AWARE"], shown=lambda w: ["JESIP-AWARE"]),
]

# Lists of things: organisation A's people see their own, none of B's.
LISTS = [
    ("a.manager", "/manage/approvals", ["Pending a"], ["Pending b"]),
    ("a.manager", "/manage/transfers", ["Mover to a"], ["Mover to b"]),
    ("a.manager", "/manage/subscriptions", ["Weekly a"], ["Weekly b"]),
    ("a.manager", "/manage/requirements", ["Northshire Police"], ["Southshire"]),
    ("a.manager", "/manage/compliance/learners", ["Learner A"], ["Learner B"]),
    ("a.manager", "/manage/compliance/download/detail.csv", ["learner@northshire.police.uk"],
     ["southshire"]),
    ("a.manager", "/manage/compliance/download/by-person.csv",
     ["learner@northshire.police.uk"], ["southshire"]),
    ("a.manager", "/manage/imports", ["Northshire Police"], ["Southshire"]),
    ("a.manager", "/exercises", ["Operation Shared"], ["Operation B"]),
    ("a.trainer", "/exercises", ["Operation A"], ["Operation B", "Operation Shared"]),
    ("a.trainer", "/exercises/learning-points.csv", ["sooner (a)"], ["sooner (b)"]),
    ("a.manager", "/exercises/learning-points.csv", [], ["sooner (b)"]),
    ("a.trainer", "/author/courses", ["JESIP-AWARE"], ["SOUTH-AWARE"]),
    ("a.learner", "/account/my-data", ["learner@northshire.police.uk"],
     ["southshire", "Learner B"]),
]


@pytest.mark.parametrize("named", NAMED, ids=lambda named: named.label)
def test_another_organisations_object_named_in_a_form_or_query(fresh, named):
    world = fresh
    before = world.fingerprint() if named.method == "POST" else None
    data = None
    if named.method == "POST":
        data = {**named.fields(world), "csrf_token": world.tokens[named.role]}
    response = world.send(named.role, named.method, named.address(world), data=data)
    assert response.status_code in named.statuses, _outcome(response)
    if before is not None:
        assert changed_tables(before, world.fingerprint()) == []
    text = read_page(response).text if response.mimetype == "text/html" else \
        response.get_data(as_text=True)
    assert [hidden for hidden in named.hidden(world) if hidden in text] == []
    assert [shown for shown in named.shown(world) if shown not in text] == []


@pytest.mark.parametrize(("role", "address", "own", "theirs"), LISTS,
                         ids=[f"{role} {address}" for role, address, _o, _t in LISTS])
def test_lists_hold_none_of_another_organisations_objects(world, role, address, own, theirs):
    response = world.send(role, "GET", address)
    assert response.status_code == 200
    text = read_page(response).text if response.mimetype == "text/html" else \
        response.get_data(as_text=True)
    assert [wanted for wanted in own if wanted not in text] == []
    assert [unwanted for unwanted in theirs if unwanted in text] == []


@pytest.mark.parametrize(("kind", "rows"), [
    ("users", lambda w: "name,email,organisation,command role\n"
              f"Learner B,{_email(w, 'b.learner')},Northshire Police,strategic\n"
              "Someone New,someone.new@southshire.fire.uk,Southshire Fire and Rescue Service,"
              "operational\n"
              "Fresh Face,fresh.face@northshire.police.uk,Northshire Police,operational\n"),
    ("completions", lambda w: "email,course code,completion date\n"
                    f"{_email(w, 'b.learner')},JESIP-AWARE,2026-01-05\n"
                    f"{_email(w, 'a.colleague')},JESIP-AWARE,2026-01-05\n"),
], ids=["people", "completions"])
def test_an_import_by_as_manager_changes_none_of_bs_people(fresh, kind, rows):
    """A's manager uploads a file naming B's learner (moving them to A, or recording their
    training) and a new person in B, beside a row of A's own: B's rows are refused, and
    applying the file does only A's."""
    world = fresh
    token = world.tokens["a.manager"]
    upload = world.send("a.manager", "POST", f"/manage/imports/{kind}/new", data={
        "csrf_token": token, "source": "Northshire training records",
        "file": (io.BytesIO(rows(world).encode()), "rows.csv")})
    assert upload.status_code == 302, _outcome(upload)
    check = read_page(world.send("a.manager", "GET", upload.headers["Location"]))
    assert check.status == 200
    plan = check.soup.select_one("form[action$='/apply'] input[name='plan']")
    applied = world.send("a.manager", "POST", upload.headers["Location"] + "/apply",
                         data={"csrf_token": token, "plan": plan["value"]})
    assert applied.status_code == 302, _outcome(applied)
    with world.session() as session:
        own = ("fresh.face@northshire.police.uk" if kind == "users"
               else _email(world, "a.colleague"))
        person = session.scalar(select(User).where(User.email == own))
        assert person is not None and person.organisation_id == world.ids["a.organisation"]
        if kind == "completions":
            assert session.scalar(select(func.count()).select_from(Completion).where(
                Completion.user_id == person.id)) == 1
        learner = world.user(session, "b.learner")
        assert (learner.organisation_id, learner.command_role) == (
            world.ids["b.organisation"], "operational")
        assert session.scalar(select(func.count()).select_from(Completion).where(
            Completion.user_id == learner.id)) == 1  # the world's own, nothing imported
        assert session.scalar(select(User).where(
            User.email == "someone.new@southshire.fire.uk")) is None
