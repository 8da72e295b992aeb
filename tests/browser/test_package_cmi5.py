"""cmi5 packages of every shipped course, launched in Chromium against the real ralph
learning record store (tests/support/ralph_lrs.py, with the State resource cmi5 needs).
The test is the launching system: it writes the LaunchData state document and the
"launched" statement, serves a single-use fetch URL that hands out the authorisation
token, and opens the AU with cmi5's query parameters. Each course plays to a pass and to
a fail; the statements read back from ralph are held to the cmi5 specification's rules
for an AU (section 9)."""

from __future__ import annotations

import base64
import json
import re
import urllib.request
import uuid
from datetime import datetime
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from jesip_learn.courses.packaging import build_package
from jesip_learn.courses.packaging.manifests import course_iri
from tests.scorm.harness import LearningSystem
from tests.scorm.playing import (
    answer_quiz,
    back_to_contents,
    drawn_question_ids,
    items_of,
    open_item,
    read_module,
    shipped_course,
    shipped_folders,
    start_quiz,
    wait_ready,
    walk_scenario,
)
from tests.support.ralph_lrs import RalphLrs, RalphUnavailable

VERB = "http://adlnet.gov/expapi/verbs/"
CMI5_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
MOVEON_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/moveon"
SESSION_ID = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
DURATION = re.compile(r"^PT(\d+H)?(\d+M)?(\d+(\.\d+)?S)?$")
LMS_HOME = "https://lms.example.org"


@pytest.fixture(scope="module")
def lms(tmp_path_factory):
    system = LearningSystem(tmp_path_factory.mktemp("cmi5-lms"))
    yield system
    system.close()


@pytest.fixture(scope="module")
def lrs(tmp_path_factory, lms):
    try:
        store = RalphLrs(tmp_path_factory.mktemp("cmi5-lrs"))
        # The AU is served by the launching system and talks to the store across origins.
        store.env["RALPH_RUNSERVER_CORS_ALLOW_ORIGINS"] = json.dumps([lms.origin])
        store.start()
    except RalphUnavailable as error:
        pytest.fail(f"The cmi5 tests need the ralph learning record store: {error}")
    yield store
    store.stop()


@pytest.fixture(scope="module")
def packages(lms) -> dict[str, str]:
    built = {}
    for folder in shipped_folders():
        course, files = shipped_course(folder)
        package = build_package(course, files, version=1, package_format="cmi5")
        built[folder] = lms.add_package(f"{folder}-cmi5", package.data)
    return built


def send(lrs: RalphLrs, method: str, path: str, body: dict | list) -> None:
    pair = base64.b64encode(f"{lrs.username}:{lrs.password}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{lrs.endpoint}{path}", data=json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Basic {pair}", "X-Experience-API-Version": "1.0.3",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert answer.status in (200, 204)


class Launch:
    """One launch of an AU, as the launching system makes it (cmi5 sections 8 and 10);
    `again` is an earlier launch whose registration (and learner) this one continues."""

    def __init__(self, lms: LearningSystem, lrs: RalphLrs, path: str, course, mastery: float,
                 again: Launch | None = None):
        self.registration = again.registration if again else str(uuid.uuid4())
        self.session_id = str(uuid.uuid4())
        self.actor = again.actor if again else {
            "objectType": "Agent", "name": "Lena Learner",
            "account": {"homePage": LMS_HOME, "name": f"learner-{uuid.uuid4().hex[:8]}"}}
        self.course_id = course_iri(course, "")
        self.activity_id = f"{self.course_id}/package"
        self.return_url = lms.url("pages/returned.html")
        context = {"contextActivities": {"grouping": [{"id": self.course_id}]},
                   "extensions": {SESSION_ID: self.session_id}}
        self.launch_data = {"contextTemplate": context, "launchMode": "Normal",
                            "launchMethod": "AnyWindow", "moveOn": "CompletedAndPassed",
                            "masteryScore": mastery, "returnURL": self.return_url,
                            "entitlementKey": {"courseStructure": self.course_id}}
        query = urlencode({"stateId": "LMS.LaunchData", "activityId": self.activity_id,
                           "agent": json.dumps(self.actor), "registration": self.registration})
        send(lrs, "PUT", f"activities/state?{query}", self.launch_data)
        send(lrs, "POST", "statements", {
            "id": str(uuid.uuid4()), "actor": self.actor,
            "verb": {"id": f"{VERB}launched", "display": {"en-US": "launched"}},
            "object": {"id": self.activity_id, "objectType": "Activity"},
            "context": {**json.loads(json.dumps(context)), "registration": self.registration,
                        "contextActivities": {"grouping": [{"id": self.course_id}],
                                              "category": [{"id": CMI5_CATEGORY}]},
                        "extensions": {SESSION_ID: self.session_id,
                                       "https://w3id.org/xapi/cmi5/context/extensions/launchmode":
                                           "Normal",
                                       "https://w3id.org/xapi/cmi5/context/extensions/moveon":
                                           "CompletedAndPassed"}},
            "timestamp": datetime.now().astimezone().isoformat()})
        token = base64.b64encode(f"{lrs.username}:{lrs.password}".encode()).decode()
        fetch_url = lms.fetch_url(token)
        self.fetch_key = fetch_url.rsplit("/", 1)[1]
        self.url = lms.url(f"{path}/index.html") + "?" + urlencode({
            "endpoint": lrs.endpoint, "fetch": fetch_url,
            "actor": json.dumps(self.actor), "registration": self.registration,
            "activityId": self.activity_id})

    def au_statements(self, lrs: RalphLrs) -> list[dict]:
        """The AU's statements in this launch's session, in the order they were made."""
        mine = [s for s in lrs.statements()
                if s.get("context", {}).get("registration") == self.registration
                and s["context"].get("extensions", {}).get(SESSION_ID) == self.session_id
                and s["verb"]["id"] != f"{VERB}launched"]
        return sorted(mine, key=lambda s: s["timestamp"])


@pytest.fixture
def au_page(desktop_chromium_browser):
    context = desktop_chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def check_cmi5_rules(launch: Launch, statements: list[dict], mastery: float) -> dict[str, dict]:
    """The rules of cmi5 section 9 that every AU statement must meet; the statements by verb."""
    verbs = [s["verb"]["id"].removeprefix(VERB) for s in statements]
    assert verbs[0] == "initialized", verbs
    assert verbs[-1] == "terminated", verbs
    assert verbs.count("initialized") == verbs.count("terminated") == 1, verbs
    assert not ({"passed", "failed"} <= set(verbs)), "an AU never says passed and failed at once"
    for statement in statements:
        uuid.UUID(statement["id"])
        assert statement["actor"]["account"] == launch.actor["account"]
        assert statement["object"]["id"] == launch.activity_id
        context = statement["context"]
        assert context["registration"] == launch.registration
        assert context["extensions"][SESSION_ID] == launch.session_id
        assert {"id": launch.course_id} in context["contextActivities"]["grouping"]
        categories = [c["id"] for c in context["contextActivities"]["category"]]
        assert CMI5_CATEGORY in categories
        verb = statement["verb"]["id"].removeprefix(VERB)
        assert (MOVEON_CATEGORY in categories) == (verb in ("passed", "failed", "completed"))
        result = statement.get("result", {})
        if verb in ("passed", "failed", "completed", "terminated"):
            assert DURATION.match(result["duration"]), result
        if verb == "passed":
            assert result["success"] is True and result["score"]["scaled"] >= mastery
        if verb == "failed":
            assert result["success"] is False and result["score"]["scaled"] < mastery
        if verb == "completed":
            assert result["completion"] is True
            assert "success" not in result
    return {s["verb"]["id"].removeprefix(VERB): s for s in statements}


@pytest.mark.parametrize("folder", shipped_folders())
def test_a_cmi5_course_plays_to_a_pass(lms, lrs, packages, au_page, folder):
    course, _files = shipped_course(folder)
    [quiz] = items_of(course, "quiz")
    launch = Launch(lms, lrs, packages[folder], course, quiz.pass_mark / 100)
    au_page.goto(launch.url)
    wait_ready(au_page)
    for module in items_of(course, "module"):
        read_module(au_page, module.slug)
    start_quiz(au_page, quiz.slug)
    answer_quiz(au_page, quiz, right=True)
    for scenario in items_of(course, "scenario"):
        walk_scenario(au_page, scenario)
    open_item(au_page, items_of(course, "module")[0].slug)
    back_to_contents(au_page)
    # The contents page is shown after the click: wait for it, as a person would.
    expect(au_page.get_by_text("Course complete")).to_be_visible()
    au_page.get_by_role("button", name="Save and close").click()
    au_page.wait_for_url(launch.return_url)
    by_verb = check_cmi5_rules(launch, launch.au_statements(lrs), quiz.pass_mark / 100)
    assert list(by_verb) == ["initialized", "passed", "completed", "terminated"]
    assert by_verb["passed"]["result"]["score"]["scaled"] == 1
    # The AU keeps the learner's place, and what it has said, in its own state document.
    saved = lrs.get("activities/state?" + urlencode({
        "stateId": "https://w3id.org/xapi/jesip-learn/state/progress",
        "activityId": launch.activity_id, "agent": json.dumps(launch.actor),
        "registration": launch.registration}))
    assert saved["sent"] == {"passed": True, "completed": True}
    assert json.loads(saved["suspend"])["quiz"][quiz.slug]["passed"] is True
    # The fetch URL hands its token out once only.
    assert lms.use_fetch(launch.fetch_key) == {"error-code": "1",
                                               "error-text": "already in use or unknown"}


@pytest.mark.parametrize("folder", shipped_folders())
def test_a_cmi5_course_plays_to_a_fail(lms, lrs, packages, au_page, folder):
    course, _files = shipped_course(folder)
    [quiz] = items_of(course, "quiz")
    launch = Launch(lms, lrs, packages[folder], course, quiz.pass_mark / 100)
    au_page.goto(launch.url)
    wait_ready(au_page)
    start_quiz(au_page, quiz.slug)
    answer_quiz(au_page, quiz, right=False)
    back_to_contents(au_page)
    au_page.get_by_role("button", name="Save and close").click()
    au_page.wait_for_url(launch.return_url)
    by_verb = check_cmi5_rules(launch, launch.au_statements(lrs), quiz.pass_mark / 100)
    assert list(by_verb) == ["initialized", "failed", "terminated"]
    assert by_verb["failed"]["result"]["score"]["scaled"] == 0


def test_a_cmi5_course_resumes_in_a_second_session(lms, lrs, packages, au_page):
    folder = "jesip-awareness"
    course, _files = shipped_course(folder)
    [quiz] = items_of(course, "quiz")
    mastery = quiz.pass_mark / 100
    first = Launch(lms, lrs, packages[folder], course, mastery)
    au_page.goto(first.url)
    wait_ready(au_page)
    read_module(au_page, items_of(course, "module")[0].slug)
    drawn = start_quiz(au_page, quiz.slug)
    answer_quiz(au_page, quiz, right=True, only=3)
    back_to_contents(au_page)
    au_page.get_by_role("button", name="Save and close").click()
    au_page.wait_for_url(first.return_url)
    assert list(check_cmi5_rules(first, first.au_statements(lrs), mastery)) == [
        "initialized", "terminated"]

    second = Launch(lms, lrs, packages[folder], course, mastery, again=first)
    au_page.goto(second.url)
    wait_ready(au_page)
    module = items_of(course, "module")[0]
    status = au_page.locator(f'[data-status="{module.slug}"]')
    assert status.inner_text() == "Completed"
    au_page.locator(f'a[href="#{quiz.slug}"]').click()
    assert drawn_question_ids(au_page, quiz.slug) == drawn
    answer_quiz(au_page, quiz, right=True)
    back_to_contents(au_page)
    au_page.get_by_role("button", name="Save and close").click()
    au_page.wait_for_url(second.return_url)
    by_verb = check_cmi5_rules(second, second.au_statements(lrs), mastery)
    # Passed now; not completed, for the other modules and the scenarios wait.
    assert list(by_verb) == ["initialized", "passed", "terminated"]
