"""End to end against a real learning record store: ralph on loopback (tests/support/
ralph_lrs.py). A learner completes a course through the site; `flask xapi send` posts the
outbox; the statements read back from the store are the ones the site wrote. Then the
store stops, another learner learns, the sender fails and backs off, the store starts
again, an administrator sends again, and every statement is in the store exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from jesip_learn.accounts.models import User
from jesip_learn.courses import catalogue as courses
from jesip_learn.factory import create_app
from jesip_learn.learning import attempt_answers
from jesip_learn.learning.models import Completion, QuizAttempt
from jesip_learn.xapi.models import XapiStatement
from tests.support.quizzes import answer_values
from tests.support.ralph_lrs import RalphLrs, RalphUnavailable
from tests.support.web import Browser, app_settings

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
HOME = "http://jesip.test"
COURSE = "/learn/JESIP-AWARE"
ADL = "http://adlnet.gov/expapi/verbs/"
METHANE = {"major_incident": "Not declared yet", "exact_location": "14 Mill Lane, Riverside",
           "incident_type": "Flooding", "hazards": "Fast-flowing water", "access": "",
           "casualties": "", "emergency_services": "One fire appliance"}


@pytest.fixture
def lrs(tmp_path):
    try:
        store = RalphLrs(tmp_path / "lrs")
        store.start()
    except RalphUnavailable as error:
        pytest.fail(f"The xAPI end-to-end test needs the ralph learning record store: {error}")
    yield store
    store.stop()


@pytest.fixture
def app(transactional_db, tmp_path, lrs):
    return create_app(app_settings(
        transactional_db, INSTANCE_PATH=tmp_path, XAPI_ENDPOINT=lrs.endpoint,
        XAPI_USERNAME=lrs.username, XAPI_PASSWORD=lrs.password, XAPI_HOMEPAGE=HOME))


def read_modules(browser: Browser, version) -> None:
    for item in courses.version_outline(version):
        if item.kind == "module":
            url = f"{COURSE}/modules/{item.slug}"
            browser.submit(f"{url}/complete", {}, form_url=url)


def take_quiz(browser: Browser, session, user: User, *, right: bool) -> QuizAttempt:
    overview = f"{COURSE}/quizzes/check-your-understanding"
    browser.submit(f"{overview}/start", {}, form_url=overview)
    session.expire_all()
    attempt = session.scalars(select(QuizAttempt).where(QuizAttempt.user_id == user.id)
                              .order_by(QuizAttempt.id.desc())).first()
    url = f"{overview}/attempts/{attempt.id}"
    values = answer_values(attempt_answers.attempt_questions(attempt), right=right)
    browser.submit(url, {**values, "action": "submit"})
    return attempt


def walk_scenario(browser: Browser) -> None:
    """The best path: exact location, share the call, the METHANE message, a pass."""
    overview = f"{COURSE}/scenarios/flooding"
    response = browser.submit(f"{overview}/start", {}, form_url=overview,
                              follow_redirects=False)
    url = response.headers["Location"]
    browser.submit(f"{url}/choose", {"choice": "1", "step": "first-call"}, form_url=url)
    browser.submit(f"{url}/choose", {"choice": "1", "step": "exact-location"}, form_url=url)
    page = browser.submit(f"{url}/methane", {**METHANE, "step": "methane-message"},
                          form_url=url)
    assert page.status == 200


def outbox_ids(session, status: str | None = None) -> set[str]:
    session.expire_all()
    query = select(XapiStatement.statement_id)
    if status:
        query = query.where(XapiStatement.status == status)
    return set(session.scalars(query))


def send(app) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["xapi", "send"])
    return result.exit_code, result.output


def verbs_of(stored: list[dict], object_id: str) -> list[str]:
    return sorted(s["verb"]["id"].removeprefix(ADL) for s in stored
                  if s["object"]["id"] == object_id)


def test_learning_reaches_the_store_once_even_when_it_is_down(app, lrs, version, make,
                                                              organisation, session):
    learner = make.user(organisation=organisation, name="Lee Learner")
    browser = Browser(app.test_client())
    browser.sign_in(learner.email)
    read_modules(browser, version)
    take_quiz(browser, session, learner, right=True)
    walk_scenario(browser)
    assert session.scalar(select(Completion.id).where(Completion.user_id == learner.id))

    exit_code, output = send(app)
    written = outbox_ids(session)
    assert exit_code == 0, output
    assert f"xAPI: {len(written)} statements sent, 0 rejected" in output
    assert outbox_ids(session, "sent") == written

    stored = lrs.statements()
    assert Counter(s["id"] for s in stored) == Counter(written)
    mine = {"homePage": HOME, "name": str(learner.id)}
    assert all(s["actor"]["account"] == mine for s in stored)
    module = next(i for i in courses.version_outline(version) if i.kind == "module")
    assert verbs_of(stored, f"{HOME}{COURSE}/modules/{module.slug}") == [
        "completed", "experienced"]
    quiz_id = f"{HOME}{COURSE}/quizzes/check-your-understanding"
    assert verbs_of(stored, quiz_id) == ["attempted", "passed"]
    drawn = courses.version_item(version, "check-your-understanding").questions_drawn
    answered = [s for s in stored if s["verb"]["id"] == ADL + "answered"]
    assert len(answered) == drawn and all(s["result"]["success"] for s in answered)
    assert all(s["object"]["id"].startswith(quiz_id + "/questions/") for s in answered)
    passed = next(s for s in stored if s["verb"]["id"] == ADL + "passed")
    assert passed["result"]["score"]["scaled"] == 1.0
    assert {s["context"]["registration"] for s in answered} == {
        passed["context"]["registration"]}
    choices = [s for s in stored if s["verb"]["id"] == ADL + "responded"]
    assert len(choices) == 3
    first_call = next(s for s in choices if s["object"]["id"].endswith("/steps/first-call"))
    assert first_call["result"]["response"] == "1"
    assert first_call["result"]["extensions"] == {
        f"{HOME}/xapi/extensions/jdm-stage": "information"}
    scenario = next(s for s in stored if s["object"]["id"] == f"{HOME}{COURSE}/scenarios/"
                    "flooding")
    assert scenario["result"]["success"] is True and scenario["result"]["completion"] is True
    finished = next(s for s in stored if s["object"]["id"] == f"{HOME}{COURSE}")
    assert finished["verb"]["id"] == ADL + "completed"
    assert finished["context"]["extensions"] == {
        f"{HOME}/xapi/extensions/course-version": 1,
        f"{HOME}/xapi/extensions/service": "police",
        f"{HOME}/xapi/extensions/organisation": organisation.name}

    # The store goes down; another learner learns; nothing is lost.
    lrs.stop()
    second = make.user(organisation=organisation, name="Sid Second")
    other = Browser(app.test_client())
    other.sign_in(second.email)
    read_modules(other, version)
    take_quiz(other, session, second, right=False)
    waiting = outbox_ids(session, "queued")
    assert len(waiting) == 2 * 2 + 1 + drawn + 1  # two modules, attempted, answers, failed

    exit_code, output = send(app)
    assert exit_code == 1 and "No answer from the learning record store" in output
    session.expire_all()
    tried = list(session.scalars(select(XapiStatement).where(XapiStatement.status == "queued")))
    assert {row.attempts for row in tried} == {1}
    assert all(row.next_attempt_at > row.created_at for row in tried)

    lrs.start()
    exit_code, output = send(app)
    assert (exit_code, output.strip()) == (0, "xAPI: 0 statements sent, 0 rejected")  # waits

    admin = make.user(organisation=organisation, permissions={"admin"})
    administrator = Browser(app.test_client())
    administrator.sign_in(admin.email)
    page = administrator.submit("/admin/xapi/retry", {"statement": ""}, form_url="/admin/xapi")
    assert f"{len(waiting)} statements are queued to be sent again" in " ".join(
        page.notifications)
    exit_code, output = send(app)
    assert exit_code == 0 and f"{len(waiting)} statements sent" in output

    every = outbox_ids(session)
    assert outbox_ids(session, "sent") == every == written | waiting
    stored = lrs.statements()
    assert Counter(s["id"] for s in stored) == Counter(every)  # each exactly once
    failed = next(s for s in stored if s["verb"]["id"] == ADL + "failed")
    assert failed["actor"]["account"]["name"] == str(second.id)
    assert failed["result"]["success"] is False
