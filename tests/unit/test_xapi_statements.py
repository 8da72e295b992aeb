"""The xAPI statement builders: shape, ADL verbs, actor, activity ids, context, results."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jesip_learn.accounts.models import Organisation, User
from jesip_learn.content import Quiz, Scenario, parse_course_folder
from jesip_learn.courses.models import Course, CourseVersion
from jesip_learn.learning.models import Completion, QuizAttempt, ScenarioRun
from jesip_learn.scoring import QuizScore
from jesip_learn.xapi import statements
from jesip_learn.xapi.settings import XapiSettings, XapiSettingsError, settings_from_config

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"
HOME = "https://learn.jesip.example"
SETTINGS = XapiSettings(endpoint="https://lrs.example.org/xAPI/", homepage=HOME)
NOW = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
IRI = re.compile(r"^https?://[^\s/]+(/\S*)?$")
ADL = "http://adlnet.gov/expapi/verbs/"


@pytest.fixture(scope="module")
def course():
    return parse_course_folder(VALID).course


@pytest.fixture
def learner():
    organisation = Organisation(id=3, name="Northshire Police", service="police")
    return User(id=42, name="Ann Smith", email="ann.smith@northshire.police.uk",
                organisation=organisation, organisation_id=3)


@pytest.fixture
def version():
    return CourseVersion(id=9, number=2, title="JESIP Awareness",
                         course=Course(id=1, code="JESIP-AWARE", slug="jesip-awareness"))


def item(course, kind):
    return next(i for i in course.items if isinstance(i, kind))


def check_shape(statement: dict) -> None:
    """What every statement must hold, whatever it records."""
    assert set(statement) >= {"actor", "verb", "object", "context", "timestamp"}
    assert "id" not in statement  # the outbox gives each its id
    assert statement["verb"]["id"].startswith(ADL)
    assert statement["object"]["objectType"] == "Activity"
    assert IRI.match(statement["object"]["id"])
    assert statement["object"]["definition"]["type"].startswith(
        "http://adlnet.gov/expapi/activities/")
    assert statement["timestamp"] == "2026-03-04T10:30:00.000Z"
    context = statement["context"]
    assert context["revision"] == "2"
    for iri in list(context["extensions"]) + list(statement.get("result", {}).get(
            "extensions", {})):
        assert IRI.match(iri) and iri.startswith(f"{HOME}/xapi/extensions/")
    assert context["extensions"] == {
        f"{HOME}/xapi/extensions/course-version": 2,
        f"{HOME}/xapi/extensions/service": "police",
        f"{HOME}/xapi/extensions/organisation": "Northshire Police",
    }
    assert context["contextActivities"]["grouping"][0]["id"] == f"{HOME}/learn/JESIP-AWARE"


def test_the_actor_is_an_account_on_the_site_not_an_email(learner):
    actor = statements.actor(SETTINGS, learner)
    assert actor == {"objectType": "Agent", "name": "Ann Smith",
                     "account": {"homePage": HOME, "name": "42"}}
    assert "mbox" not in actor and "northshire" not in str(actor["account"])


def test_the_actor_is_the_email_address_when_the_site_says_so(learner):
    actor = statements.actor(XapiSettings(endpoint="x", homepage=HOME, actor_email=True),
                             learner)
    assert actor["mbox"] == "mailto:ann.smith@northshire.police.uk" and "account" not in actor


def test_a_module_is_experienced_then_completed(course, learner, version):
    module = course.items[0]
    made = statements.module_completed(SETTINGS, learner, version, module.slug, module.title,
                                       NOW)
    assert [s["verb"]["id"] for s in made] == [ADL + "experienced", ADL + "completed"]
    for statement in made:
        check_shape(statement)
        assert statement["object"]["id"] == f"{HOME}/learn/JESIP-AWARE/modules/{module.slug}"
        assert statement["object"]["definition"]["name"] == {"en-GB": module.title}
        assert "registration" not in statement["context"]
    assert made[1]["result"] == {"completion": True}


def test_a_quiz_attempt_answers_each_question_then_passes_with_its_scaled_score(
        course, learner, version):
    quiz = item(course, Quiz)
    attempt = QuizAttempt(id=77, version=version, item_slug=quiz.slug)
    questions = list(quiz.questions[:3])
    answers = {q.id: sorted(q.correct_option_ids) or list(q.correct_order) for q in questions}
    answers[questions[0].id] = [next(o.id for o in questions[0].options if not o.correct)]
    score = QuizScore(correct=2, total=3, pass_mark=50)

    attempted = statements.quiz_attempted(SETTINGS, learner, attempt, quiz, NOW)
    made = statements.quiz_submitted(SETTINGS, learner, attempt, quiz, questions, answers,
                                     score, NOW)

    assert attempted[0]["verb"]["id"] == ADL + "attempted"
    assert [s["verb"]["id"] for s in made] == [ADL + "answered"] * 3 + [ADL + "passed"]
    registration = attempted[0]["context"]["registration"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}",
                        registration)
    quiz_iri = f"{HOME}/learn/JESIP-AWARE/quizzes/{quiz.slug}"
    for statement in [*attempted, *made]:
        check_shape(statement)
        assert statement["context"]["registration"] == registration
    first = made[0]
    assert first["object"]["id"] == f"{quiz_iri}/questions/{questions[0].id}"
    assert first["object"]["definition"]["interactionType"] in ("choice", "sequencing")
    assert first["result"] == {"response": answers[questions[0].id][0], "success": False}
    assert made[1]["result"]["success"] is True
    assert made[1]["context"]["contextActivities"]["parent"][0]["id"] == quiz_iri
    passed = made[-1]
    assert passed["object"]["id"] == quiz_iri
    assert passed["result"] == {"score": {"scaled": 0.6667, "raw": 2, "min": 0, "max": 3},
                                "success": True, "completion": True}


def test_a_failed_quiz_says_failed(course, learner, version):
    quiz = item(course, Quiz)
    attempt = QuizAttempt(id=78, version=version, item_slug=quiz.slug)
    made = statements.quiz_submitted(SETTINGS, learner, attempt, quiz, [], {},
                                     QuizScore(correct=1, total=5, pass_mark=80), NOW)
    assert made[-1]["verb"]["id"] == ADL + "failed"
    assert made[-1]["result"]["score"]["scaled"] == 0.2
    assert made[-1]["result"]["success"] is False


def test_a_scenario_choice_carries_its_jdm_stage_and_principle(course, learner, version):
    scenario = item(course, Scenario)
    run = ScenarioRun(id=5, version=version, item_slug=scenario.slug, methane={})
    first = scenario.step("first-call")
    made = statements.scenario_choice(SETTINGS, learner, run, scenario, first,
                                      first.choices[0], NOW)[0]
    check_shape(made)
    assert made["verb"]["id"] == ADL + "responded"
    scenario_iri = f"{HOME}/learn/JESIP-AWARE/scenarios/{scenario.slug}"
    assert made["object"]["id"] == f"{scenario_iri}/steps/first-call"
    assert made["result"]["response"] == "1" and made["result"]["score"] == {"raw": 2}
    assert made["result"]["extensions"] == {f"{HOME}/xapi/extensions/jdm-stage": "information"}
    assert made["context"]["registration"] == statements.registration(SETTINGS,
                                                                      "scenario-runs", 5)

    located = scenario.step("exact-location")
    shared = statements.scenario_choice(SETTINGS, learner, run, scenario, located,
                                        located.choices[0], NOW)[0]
    assert shared["result"]["extensions"] == {
        f"{HOME}/xapi/extensions/jdm-stage": "information",  # the step's own stage
        f"{HOME}/xapi/extensions/principle": "communicate"}


def test_a_methane_message_is_the_response_at_its_step(course, learner, version):
    scenario = item(course, Scenario)
    step = scenario.step("methane-message")
    run = ScenarioRun(id=6, version=version, item_slug=scenario.slug,
                      methane={step.id: ["No", "14 Mill Lane", "", "", "", "", ""]})
    made = statements.scenario_choice(SETTINGS, learner, run, scenario, step, step.choices[0],
                                      NOW)[0]
    assert made["object"]["definition"]["interactionType"] == "long-fill-in"
    assert made["result"]["response"] == "M: No\nE: 14 Mill Lane"


def test_a_scenario_completed_with_its_result(course, learner, version):
    scenario = item(course, Scenario)
    run = ScenarioRun(id=7, version=version, item_slug=scenario.slug, result="fail", points=2,
                      best_points=6)
    made = statements.scenario_completed(SETTINGS, learner, run, scenario, NOW)[0]
    check_shape(made)
    assert made["verb"]["id"] == ADL + "completed"
    assert made["result"] == {"completion": True, "success": False,
                              "score": {"scaled": 0.3333, "raw": 2, "min": 0, "max": 6}}


def test_a_course_completed_with_its_certificate_and_expiry(learner, version):
    completion = Completion(completed_at=NOW, expires_at=datetime(2027, 3, 4, 10, 30,
                                                                   tzinfo=UTC),
                            certificate_code="JL-ABCDE-FGHJK")
    made = statements.course_completed(SETTINGS, learner, completion, version)[0]
    check_shape(made)
    assert made["verb"]["id"] == ADL + "completed"
    assert made["object"]["id"] == f"{HOME}/learn/JESIP-AWARE"
    assert made["object"]["definition"]["type"] == "http://adlnet.gov/expapi/activities/course"
    assert made["result"]["extensions"] == {
        f"{HOME}/xapi/extensions/certificate": "JL-ABCDE-FGHJK",
        f"{HOME}/xapi/extensions/expires-at": "2027-03-04T10:30:00.000Z"}


def test_scaled_scores_stay_between_minus_one_and_one():
    assert statements.scaled(3, 2) == 1.0
    assert statements.scaled(-5, 2) == -1.0
    assert statements.scaled(0, 0) == 1.0


def test_settings_need_a_homepage_and_full_addresses():
    assert settings_from_config({}).enabled is False
    with pytest.raises(XapiSettingsError, match="XAPI_HOMEPAGE must be set"):
        settings_from_config({"XAPI_ENDPOINT": "https://lrs.example.org/xAPI/"})
    with pytest.raises(XapiSettingsError, match="XAPI_ENDPOINT must be a full http"):
        settings_from_config({"XAPI_ENDPOINT": "lrs.example.org", "XAPI_HOMEPAGE": HOME})
    with pytest.raises(XapiSettingsError, match="XAPI_BATCH_SIZE must be a number"):
        settings_from_config({"XAPI_ENDPOINT": "https://lrs.example.org/xAPI/",
                              "XAPI_HOMEPAGE": HOME, "XAPI_BATCH_SIZE": "many"})
    settings = settings_from_config({"XAPI_ENDPOINT": "https://lrs.example.org/xAPI/",
                                     "XAPI_HOMEPAGE": HOME + "/", "XAPI_BATCH_SIZE": "20"})
    assert settings.homepage == HOME and settings.batch_size == 20
    assert settings.statements_url == "https://lrs.example.org/xAPI/statements"


def test_the_first_wait_after_a_failed_send_is_a_setting():
    base = {"XAPI_ENDPOINT": "https://lrs.example.org/xAPI/", "XAPI_HOMEPAGE": HOME}
    assert settings_from_config(base).retry_base_seconds == 30
    settings = settings_from_config({**base, "XAPI_RETRY_FIRST_SECONDS": "5",
                                     "XAPI_RETRY_MAX_SECONDS": "60"})
    assert (settings.retry_base_seconds, settings.retry_max_seconds) == (5, 60)
    with pytest.raises(XapiSettingsError, match="XAPI_RETRY_FIRST_SECONDS must be more than 0"):
        settings_from_config({**base, "XAPI_RETRY_FIRST_SECONDS": "0"})
