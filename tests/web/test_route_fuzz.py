"""Bad parameters get a 400 or 404 page, never a server error: every parameter of every
route in the URL map, every query-string parameter a view reads, and the form fields that
carry numbers, each given hostile values (digits of other scripts, numbers beyond the
database's integers, NUL, very long text, "../", right-to-left text, nothing) while the
rest of the request is one that works. Run on SQLite and PostgreSQL: they fail differently.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask import url_for

from tests.support.pages import read_page
from tests.support.route_table import OBJECT_ROUTES, resolve
from tests.support.route_world import built_world, changed_tables

HOSTILE = {
    "superscript two": "²",
    "Arabic-Indic digits": "١٢",
    "minus one": "-1",
    "zero": "0",
    "2**31": str(2**31),
    "2**63": str(2**63),
    "2**64": str(2**64),
    "23 nines": "9" * 23,
    "NUL": "\x00",
    "5000 nines": "9" * 5000,
    "5000 letters": "x" * 5000,
    "dot dot slash": "../",
    "unicode": "Zoë ✓ 東京 \u202egnp.exe",
    "empty": "",
}
# 405: a POST whose address, with "/" in a parameter, is another route's, taking no POST.
PAGE_ERRORS = {400, 404, 405}
# Pages that answer a value they do not know with a page or a redirect of their own.
TOLERANT = {
    "main.verify": {200},  # the public page says no certificate has that code
    "auth.confirm_email": {410},  # "this link has expired or is not valid"
    "auth.reset_password": {410},
    "auth.first_administrator": {410},
    # An item or file no longer in the draft is a conflict with someone else's change:
    # back to the draft, saying so.
    "editor.move_item": {302},
    "editor.delete_file": {302},
}
# Who requests the routes of NOT_OBJECTS, and a value that works for each parameter.
NOT_OBJECT_REQUESTS = {
    "static": ("anonymous", {"filename": "css/app.css"}),
    "auth.confirm_email": ("anonymous", {"token": "x"}),
    "auth.reset_password": ("anonymous", {"token": "x"}),
    "auth.first_administrator": ("anonymous", {"token": "x"}),
    "notifications.unsubscribe": ("anonymous", {"token": "b.unsubscribe_token"}),
    "notifications.unsubscribe_confirmed": ("anonymous", {"token": "b.unsubscribe_token"}),
    "compliance.download": ("a.manager", {"kind": "=detail.csv"}),
    "compliance.decide_requirement": ("a.manager", {"code": "a.code"}),
    "imports.template": ("a.manager", {"kind": "=users"}),
    "imports.upload": ("a.manager", {"kind": "=users"}),
    "sso_admin.provider_edit": ("a.admin", {"provider_id": "=1"}),
    "sso_admin.link": ("a.admin", {"provider_id": "=1"}),
    "sso_admin.unlink": ("a.admin", {"link_id": "=1"}),
}

# The query-string parameters each view reads, and who asks.
COMPLIANCE_FILTERS = ("service", "organisation", "command_role", "course", "courses", "status",
                      "group", "as_of-day", "as_of-month", "as_of-year")
QUERIES = {
    "admin.users": ("a.admin", ("q", "organisation", "permission", "command_role", "status",
                                "page")),
    "admin.organisations": ("a.admin", ("q", "service", "area")),
    "admin.audit_log": ("a.admin", ("q", "action", "from", "to", "page")),
    "admin.audit_download": ("a.admin", ("q", "action", "from", "to", "page")),
    "quiz.overview": ("b.learner", ("page",)),
    "static": ("anonymous", ("v",)),
    "sso.callback": ("anonymous", ("state", "error")),
    "editor.edit_page": ("b.trainer", ("line",)),
    "author.quiz_analysis": ("b.trainer", ("basis",)),
    "author.history": ("b.trainer", ("old", "new")),
    "author.diff": ("b.trainer", ("old", "new")),
    "compliance.dashboard": ("a.manager", (*COMPLIANCE_FILTERS, "sort", "order", "page")),
    "compliance.learners": ("a.manager", (*COMPLIANCE_FILTERS, "group_key", "page")),
    "compliance.learner": ("b.manager", COMPLIANCE_FILTERS),
    "compliance.download": ("a.manager", (*COMPLIANCE_FILTERS, "group_key")),
    "notifications.new_subscription": ("a.manager", (*COMPLIANCE_FILTERS[:6], "page")),
    "exercises.add_participant": ("b.manager", ("q",)),
    "main.verify": ("anonymous", ("code",)),
    "live_facilitate.control": ("b.trainer", ("q", "role")),
    "live.page": ("b.learner", ("as", "log")),
    "live.stream": ("b.learner", ("after", "as")),
    "auth.sign_in": ("anonymous", ("next",)),
}
# Views that read query parameters named in a variable rather than written out.
READ_BY_NAME = {"compliance._read_filters": COMPLIANCE_FILTERS,
                "admin._audit_search": ("q", "action", "from", "to"),
                # A static file's fingerprint, which decides how long it may be kept.
                "edge._security_headers": ("v",)}
QUERY_STATUSES = {200, 302, 303, 400, 404}

WEB = Path(__file__).resolve().parents[2] / "jesip_learn" / "web"


@pytest.fixture(scope="module")
def world(database, tmp_path_factory):
    with built_world(database, tmp_path_factory.mktemp("fuzz-world")) as built:
        yield built


@pytest.fixture
def fresh(world):
    with world.savepoint():
        yield world


def _working_request(world, endpoint: str) -> tuple[str, dict[str, str], object]:
    """Who asks, URL values that work, and the case (with the form) where there is one."""
    case = next((case for case in OBJECT_ROUTES if case.endpoint == endpoint), None)
    if case is not None:
        return case.owner, {name: str(value) for name, value in resolve(world, case).items()}, case
    role, values = NOT_OBJECT_REQUESTS[endpoint]
    return role, {name: key[1:] if key.startswith("=") else str(world.ids.get(key, key))
                  for name, key in values.items()}, None


def _path(rule, values: dict[str, str]) -> str:
    """The rule's address with these values, each quoted as a browser would send it."""
    parts = []
    for is_argument, text in rule._trace:  # noqa: SLF001 - the rule as written, in order
        parts.append(quote(values[text], safe="/" if _converter(rule, text) == "path" else "")
                     if is_argument else text)
    path = "".join(parts)
    return path[path.index("|") + 1:]


def _converter(rule, name: str) -> str:
    return type(rule._converters[name]).__name__.removesuffix("Converter").lower()  # noqa: SLF001


def _rules(app):
    return [rule for rule in app.url_map.iter_rules()
            if rule.arguments - set(rule.defaults or {})]


@dataclass
class ServerError:
    """What a request that raised would have been: a 500 page (tests propagate errors)."""

    error: Exception
    status_code: int = 500

    def __str__(self) -> str:
        return f"500 ({type(self.error).__name__}: {str(self.error)[:120]})"


def _send(world, role, method, path, case, query=""):
    address = path + (f"?{query}" if query else "")
    try:
        if method == "GET":
            return world.send(role, "GET", address)
        with world.session() as session:
            form = case.form(world, session) if case and case.form else {}
        return world.send(role, "POST", address, data={**form, "csrf_token": world.tokens[role]})
    except Exception as error:  # noqa: BLE001 - every failure is reported, not just the first
        return ServerError(error)


def _status(response) -> str:
    if isinstance(response, ServerError):
        return str(response)
    location = response.headers.get("Location")
    return f"{response.status_code}" + (f" to {location[:80]}" if location else "")


def _parameters(app):
    return [(rule.endpoint, rule.rule, name) for rule in _rules(app)
            for name in sorted(rule.arguments - set(rule.defaults or {}))]


def test_every_route_parameter_is_fuzzed(world):
    """The fuzz below is built from the URL map: each route with a parameter has a request
    that works, whose parameters it replaces one at a time."""
    missing = [endpoint for endpoint, _rule, _name in _parameters(world.app)
               if endpoint not in NOT_OBJECT_REQUESTS
               and not any(case.endpoint == endpoint for case in OBJECT_ROUTES)]
    assert missing == []
    assert len(_parameters(world.app)) > 60


@pytest.mark.parametrize("value_name", list(HOSTILE))
def test_hostile_route_parameters_get_400_or_404(fresh, value_name):
    world, value = fresh, HOSTILE[value_name]
    wrong = []
    for rule in _rules(world.app):
        role, values, case = _working_request(world, rule.endpoint)
        method = "GET" if "GET" in rule.methods else "POST"
        for name in sorted(rule.arguments - set(rule.defaults or {})):
            path = _path(rule, {**values, name: value})
            response = _send(world, role, method, path, case)
            allowed = PAGE_ERRORS | TOLERANT.get(rule.endpoint, set())
            if response.status_code == 308 and ("/" in value or not value):
                # "//" in the address (an empty or a "/" value): the router merges the
                # slashes and redirects, on this site, to another page or to none.
                location = urlsplit(response.headers["Location"])
                assert location.netloc in ("", "jesip.test"), location
                response = _send(world, role, method, location.path, case)
                allowed = {200, 302, 400, 403, 404, 405}
            if response.status_code not in allowed:
                wrong.append(f"{method} {rule.rule} with {name}={value_name!r}: "
                             f"{_status(response)}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("value_name", list(HOSTILE))
def test_hostile_query_parameters_never_fail(fresh, value_name):
    world, value = fresh, HOSTILE[value_name]
    wrong = []
    for endpoint, (role, names) in QUERIES.items():
        takes_values = (endpoint in NOT_OBJECT_REQUESTS
                        or any(case.endpoint == endpoint for case in OBJECT_ROUTES))
        values = _working_request(world, endpoint)[1] if takes_values else {}
        with world.app.test_request_context():
            path = url_for(endpoint, **values)
        for name in names:
            response = _send(world, role, "GET", path, None, urlencode({name: value}))
            if response.status_code not in QUERY_STATUSES:
                wrong.append(f"GET {path}?{name}={value_name!r}: {_status(response)}")
    assert wrong == [], "\n".join(wrong)


def _names_read(function: ast.AST) -> tuple[set[str], bool]:
    """The query parameters a function reads by a written-out name, and whether it reads
    any by a name held in a variable."""
    names, by_variable = set(), False
    for node in ast.walk(function):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and getattr(node.func.value, "attr", getattr(node.func.value, "id", "")) == "args"):
            argument = node.args[0] if node.args else None
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                names.add(argument.value)
            else:
                by_variable = True
        if (isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant)
                and any(isinstance(op, ast.In) for op in node.ops)
                and any(getattr(c, "attr", "") == "args" for c in node.comparators)):
            names.add(node.left.value)
    return names, by_variable


def test_every_query_parameter_a_view_reads_is_fuzzed():
    """A view that starts reading a new query parameter fails here until it is in QUERIES."""
    fuzzed = {name for _role, names in QUERIES.values() for name in names}
    unfuzzed, unlisted = set(), []
    for module in sorted(WEB.glob("*.py")):
        tree = ast.parse(module.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            names, by_variable = _names_read(function)
            unfuzzed |= names - fuzzed
            qualified = f"{module.stem}.{function.name}"
            if by_variable and qualified not in READ_BY_NAME:
                unlisted.append(qualified)
    unfuzzed |= {name for names in READ_BY_NAME.values() for name in names} - fuzzed
    assert sorted(unfuzzed) == []
    assert unlisted == [], "list the names these read in READ_BY_NAME"


# --- form fields that carry numbers, dates and choices ---------------------------------------


def _case_form(endpoint: str, label: str = ""):
    case = next(c for c in OBJECT_ROUTES if c.endpoint == endpoint and c.label == label)
    return case, case.form


def _org(world, org):
    return str(world.ids[f"{org}.organisation"])


# (who, address, the form that works, the fields given hostile values)
FORMS = {
    "notifications.retry": ("a.admin", lambda w: "/admin/notifications/retry",
                            lambda w, s: {"notice": str(w.ids["b.notice"])}, ("notice",)),
    "xapi.retry": ("a.admin", lambda w: "/admin/xapi/retry",
                   lambda w, s: {"statement": w.ids["b.statement"]}, ("statement",)),
    "admin.organisation_edit": (
        "a.admin", lambda w: "/admin/organisations/new",
        lambda w, s: {"name": "Westshire Fire", "service": "fire", "country": "England",
                      "domains": "westshire.fire.uk", "is_active": "y", "areas": []},
        ("areas", "service", "country")),
    "admin.user_edit": ("a.admin", lambda w: f"/admin/users/{w.ids['b.learner']}",
                        _case_form("admin.user_edit")[1],
                        ("organisation", "manager_area", "command_role", "permissions")),
    "compliance.requirements": (
        "a.manager", lambda w: "/manage/requirements",
        lambda w, s: {"course_id": str(w.ids["a.course_id"]), "organisation_id": _org(w, "a"),
                      "service": "", "command_role": "tactical", "months": ""},
        ("course_id", "organisation_id", "service", "command_role")),
    "compliance.requirements exercise": (
        "a.manager", lambda w: "/manage/requirements",
        lambda w, s: {"course_id": "exercise", "organisation_id": _org(w, "a"),
                      "service": "", "command_role": "tactical", "months": "24"},
        ("months",)),
    "notifications.new_subscription": (
        "a.manager", lambda w: "/manage/subscriptions/new",
        lambda w, s: {"name": "Monthly", "file_format": "csv", "frequency": "monthly",
                      "filters": f"organisation={_org(w, 'a')}"},
        ("filters", "file_format", "frequency")),
    "notifications.preferences_page": (
        "a.manager", lambda w: "/account/notifications",
        lambda w, s: {"expiry_reminders": "on", "digest_frequency": "weekly"},
        ("digest_frequency",)),
    "exercises.new": ("a.trainer", lambda w: "/exercises/new",
                      lambda w, s: {**_case_form("exercises.edit")[1](w, s),
                                    "organisation_ids": [_org(w, "a"), _org(w, "c")]},
                      ("held_on_day", "held_on_month", "held_on_year", "organisation_ids",
                       "kind", "command_roles", "principles", "jdm_stages")),
    "exercises.add_participant": (
        "b.manager", lambda w: f"/exercises/{w.ids['b.exercise']}/participants/add",
        _case_form("exercises.add_participant")[1], ("user_id", "role")),
    "exercises.add_learning_point": (
        "b.trainer", lambda w: f"/exercises/{w.ids['b.exercise']}/learning-points",
        _case_form("exercises.add_learning_point")[1], ("principle", "jdm_stage")),
    "live_facilitate.roles": (
        "b.trainer", lambda w: f"/exercises/live/{w.ids['b.live']}/roles",
        _case_form("live_facilitate.roles")[1], ("participant", "role")),
    "live_facilitate.invite": (
        "b.trainer", lambda w: f"/exercises/live/{w.ids['b.live']}/invite",
        _case_form("live_facilitate.invite")[1], ("user_id", "role")),
    "live_facilitate.join_code": (
        "b.trainer", lambda w: f"/exercises/live/{w.ids['b.live']}/join-code",
        _case_form("live_facilitate.join_code")[1], ("hours",)),
    "live_facilitate.release": (
        "b.trainer", lambda w: f"/exercises/live/{w.ids['b.live']}/release",
        _case_form("live_facilitate.release")[1], ("event_id",)),
    "live.decide": (
        "b.learner", lambda w: f"/live/{w.ids['b.live']}/decide",
        _case_form("live.decide")[1], ("decide-decision", "decide-option")),
    "author.remove_editor": ("b.trainer", lambda w: "/author/courses/SOUTH-AWARE/editors/remove",
                             _case_form("author.remove_editor")[1], ("user_id",)),
    "author.import_draft": ("b.trainer", lambda w: "/author/courses/SOUTH-AWARE/import",
                            _case_form("author.import_draft")[1], ("revision",)),
    "author.restore": ("b.trainer", lambda w: "/author/courses/SOUTH-AWARE/versions/1/restore",
                       _case_form("author.restore")[1], ("needs_renewal",)),
    "editor.publish": ("b.trainer", lambda w: "/author/courses/SOUTH-AWARE/draft/publish",
                       _case_form("editor.publish")[1], ("needs_renewal",)),
    "editor.move_item": (
        "b.trainer",
        lambda w: "/author/courses/SOUTH-AWARE/draft/pages/01-why-interoperability.md/move",
        _case_form("editor.move_item")[1], ("direction",)),
    "editor.add_item": ("b.trainer", lambda w: "/author/courses/SOUTH-AWARE/draft/items",
                        _case_form("editor.add_item")[1], ("kind",)),
    "records.transfer": ("a.learner", lambda w: "/account/transfer",
                         lambda w, s: {"organisation": _org(w, "b"),
                                       "command_role": "operational"},
                         ("organisation", "command_role")),
    "records_admin.erasure": ("a.admin", lambda w: f"/admin/users/{w.ids['b.learner']}/erasure",
                              lambda w, s: {"decision": "erase", "reason": "Asked by them"},
                              ("decision", "confirmed")),
    "imports.apply": ("b.manager", lambda w: f"/manage/imports/{w.ids['b.batch']}/apply",
                      _case_form("imports.apply")[1], ("plan",)),
    "scenario.choose": (
        "b.learner",
        lambda w: f"/learn/SOUTH-AWARE/scenarios/flooding/runs/{w.ids['b.run']}/choose",
        _case_form("scenario.choose")[1], ("step", "choice")),
}


def test_every_form_fuzzed_is_a_route(world):
    endpoints = {rule.endpoint for rule in world.app.url_map.iter_rules()}
    assert sorted({name.split()[0] for name in FORMS} - endpoints) == []


@pytest.mark.parametrize("value_name", list(HOSTILE))
def test_hostile_form_fields_never_fail(fresh, value_name):
    world, value = fresh, HOSTILE[value_name]
    wrong = []
    for name, (role, address, form, fields) in FORMS.items():
        for field in fields:
            with world.session() as session:
                data = form(world, session)
            data[field] = [value] if isinstance(data.get(field), list) else value
            try:
                response = world.send(role, "POST", address(world),
                                      data={**data, "csrf_token": world.tokens[role]})
            except Exception as error:  # noqa: BLE001 - every failure is reported
                response = ServerError(error)
            if response.status_code >= 500:
                wrong.append(f"POST {name} with {field}={value_name!r}: {_status(response)}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize(("role", "address"), [
    ("a.learner", "/learn/%00"),
    ("a.learner", "/learn/JESIP-AWARE/modules/%00"),
    ("a.admin", "/admin/audit?q=%00"),
    ("a.admin", "/admin/users?%00=1"),
    ("anonymous", "/verify/JL-%00"),
], ids=["address", "slug", "query value", "query name", "public page"])
def test_nul_in_an_address_is_refused_on_every_database(fresh, role, address):
    """PostgreSQL refuses NUL in text with an error; SQLite keeps it. Either way it is in no
    code, slug or search, and the request is refused before it reaches either."""
    response = fresh.send(role, "GET", address)
    assert response.status_code == 400
    assert "not allowed (NUL)" in read_page(response).text


def test_nul_in_a_form_field_is_a_bad_request_not_an_error(fresh):
    """A form field the form does not check for control characters (here the email address
    of the person to add) reaches the database: PostgreSQL's refusal is a 400, and nothing
    is saved; SQLite finds no such person."""
    world = fresh
    before = world.fingerprint()
    response = world.send("b.trainer", "POST", "/author/courses/SOUTH-AWARE/editors", data={
        "email": "editor\x00@northshire.police.uk", "role": "editor",
        "csrf_token": world.tokens["b.trainer"]})
    assert response.status_code in (200, 400)
    assert "There is no account with that email address" in read_page(response).text or \
        "not allowed (NUL)" in read_page(response).text
    assert changed_tables(before, world.fingerprint()) == []
