"""xAPI 1.0.3 statements for what learners do, built from the domain's objects (no queries
of their own beyond the objects' relationships, no Flask).

- Actor: an account on this site (`homePage` = XAPI_HOMEPAGE, `name` = the learner's
  account number, which never changes), or the email address when XAPI_ACTOR_EMAIL is on.
- Verbs from the ADL vocabulary (http://adlnet.gov/expapi/verbs/...).
- Activity ids are this site's addresses for the course and item, from the course code and
  item slug, so they stay the same across versions that keep the slug:
  `{homepage}/learn/CODE`, `{homepage}/learn/CODE/modules/SLUG`, `.../quizzes/SLUG`
  (its questions `.../quizzes/SLUG/questions/ID`), `.../scenarios/SLUG` (its steps
  `.../scenarios/SLUG/steps/ID`).
- Context: the course version (`revision` and an extension), the learner's service and
  organisation (extensions), the course as grouping, and a registration per quiz attempt
  or scenario run.
- Extensions are IRIs under `{homepage}/xapi/extensions/`.

Statements carry no id here: the outbox gives each one its id when it is written.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from jesip_learn.accounts.models import User
from jesip_learn.content import METHANE_FIELDS, Choice, Question, Quiz, Scenario, Step
from jesip_learn.courses.models import CourseVersion
from jesip_learn.learning.models import Completion, QuizAttempt, ScenarioRun
from jesip_learn.scoring import QuizScore, is_correct
from jesip_learn.xapi.settings import XapiSettings

XAPI_VERSION = "1.0.3"
LANGUAGE = "en-GB"
PLATFORM = "JESIP Learn"

VERBS = {
    name: f"http://adlnet.gov/expapi/verbs/{name}"
    for name in ("experienced", "completed", "attempted", "answered", "passed", "failed",
                 "responded")
}
ACTIVITY_TYPES = {
    "course": "http://adlnet.gov/expapi/activities/course",
    "module": "http://adlnet.gov/expapi/activities/module",
    "quiz": "http://adlnet.gov/expapi/activities/assessment",
    "scenario": "http://adlnet.gov/expapi/activities/simulation",
    "interaction": "http://adlnet.gov/expapi/activities/cmi.interaction",
}
ITEM_PATHS = {"module": "modules", "quiz": "quizzes", "scenario": "scenarios"}
# Names of the extensions, each an IRI under {homepage}/xapi/extensions/.
EXTENSIONS = ("course-version", "service", "organisation", "jdm-stage", "principle",
              "expires-at", "certificate")
RESPONSE_SEPARATOR = "[,]"  # between the parts of a response, as the specification says


# --- the parts ---------------------------------------------------------------------------


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def verb(name: str) -> dict:
    return {"id": VERBS[name], "display": {"en-US": name}}


def extension(settings: XapiSettings, name: str) -> str:
    if name not in EXTENSIONS:
        raise ValueError(f"unknown extension {name!r}")
    return f"{settings.homepage}/xapi/extensions/{name}"


def actor(settings: XapiSettings, user: User) -> dict:
    if settings.actor_email:
        return {"objectType": "Agent", "name": user.name, "mbox": f"mailto:{user.email}"}
    return {"objectType": "Agent", "name": user.name,
            "account": {"homePage": settings.homepage, "name": str(user.id)}}


def course_iri(settings: XapiSettings, code: str) -> str:
    return f"{settings.homepage}/learn/{code}"


def item_iri(settings: XapiSettings, code: str, kind: str, slug: str) -> str:
    return f"{course_iri(settings, code)}/{ITEM_PATHS[kind]}/{slug}"


def registration(settings: XapiSettings, kind: str, number: int) -> str:
    """The same UUID for every statement of one quiz attempt or scenario run (`kind`)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL,
                          f"{settings.homepage}/xapi/registrations/{kind}/{number}"))


def plain_text(fragment: str) -> str:
    """Rendered course HTML as the words it shows."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment or "")).split())


def activity(iri: str, kind: str, name: str, **definition) -> dict:
    return {"objectType": "Activity", "id": iri,
            "definition": {"type": ACTIVITY_TYPES[kind], "name": {LANGUAGE: name},
                           **definition}}


def course_activity(settings: XapiSettings, version: CourseVersion) -> dict:
    return activity(course_iri(settings, version.course.code), "course", version.title)


def context(settings: XapiSettings, user: User, version: CourseVersion, *,
            parent: dict | None = None, registration_id: str | None = None) -> dict:
    organisation = user.organisation
    found = {
        "platform": PLATFORM,
        "language": LANGUAGE,
        "revision": str(version.number),
        "contextActivities": {"grouping": [course_activity(settings, version)]},
        "extensions": {
            extension(settings, "course-version"): version.number,
            extension(settings, "service"): organisation.service,
            extension(settings, "organisation"): organisation.name,
        },
    }
    if parent is not None:
        found["contextActivities"]["parent"] = [parent]
    if registration_id is not None:
        found["registration"] = registration_id
    return found


def statement(settings: XapiSettings, user: User, verb_name: str, target: dict,
              moment: datetime, statement_context: dict, result: dict | None = None) -> dict:
    made = {"actor": actor(settings, user), "verb": verb(verb_name), "object": target,
            "context": statement_context, "timestamp": timestamp(moment)}
    if result is not None:
        made["result"] = result
    return made


def scaled(raw: float, best: float) -> float:
    """A score as the specification's -1 to 1."""
    if best <= 0:
        return 1.0 if raw >= 0 else -1.0
    return max(-1.0, min(1.0, round(raw / best, 4)))


# --- reading modules ---------------------------------------------------------------------


def module_completed(settings: XapiSettings, user: User, version: CourseVersion, slug: str,
                     title: str, moment: datetime) -> list[dict]:
    """The learner read the module and marked it done: experienced, then completed. (Opening
    the page records nothing: a page view writes nothing to the database.)"""
    target = activity(item_iri(settings, version.course.code, "module", slug), "module", title)
    where = context(settings, user, version)
    return [statement(settings, user, "experienced", target, moment, where),
            statement(settings, user, "completed", target, moment, where,
                      {"completion": True})]


# --- quizzes -----------------------------------------------------------------------------


def quiz_activity(settings: XapiSettings, version: CourseVersion, quiz: Quiz) -> dict:
    return activity(item_iri(settings, version.course.code, "quiz", quiz.slug), "quiz",
                    quiz.title)


def _attempt_context(settings: XapiSettings, user: User, attempt: QuizAttempt,
                     parent: dict | None = None) -> dict:
    return context(settings, user, attempt.version, parent=parent,
                   registration_id=registration(settings, "quiz-attempts", attempt.id))


def quiz_attempted(settings: XapiSettings, user: User, attempt: QuizAttempt, quiz: Quiz,
                   moment: datetime) -> list[dict]:
    return [statement(settings, user, "attempted", quiz_activity(settings, attempt.version, quiz),
                      moment, _attempt_context(settings, user, attempt))]


def question_activity(settings: XapiSettings, quiz_iri: str, question: Question) -> dict:
    # The right answer goes to the learning record store whatever the quiz's show_answers
    # says: that setting is about what the learner sees, and the store is read by the
    # organisation's analysts, not the learner. The learner's own copy of these statements
    # (subject access, records.py) leaves it out.
    components = [{"id": option.id, "description": {LANGUAGE: plain_text(option.html)}}
                  for option in question.options]
    if question.kind == "ordering":
        kind, right = "sequencing", list(question.correct_order)
    else:
        kind, right = "choice", [option.id for option in question.options if option.correct]
    return activity(f"{quiz_iri}/questions/{question.id}", "interaction", question.title,
                    interactionType=kind, choices=components,
                    correctResponsesPattern=[RESPONSE_SEPARATOR.join(right)])


def quiz_submitted(settings: XapiSettings, user: User, attempt: QuizAttempt, quiz: Quiz,
                   questions: Sequence[Question], answers: Mapping[str, Sequence[str]],
                   score: QuizScore, moment: datetime) -> list[dict]:
    """Each question answered, with the response, then the quiz passed or failed."""
    quiz_target = quiz_activity(settings, attempt.version, quiz)
    answered = [
        statement(settings, user, "answered",
                  question_activity(settings, quiz_target["id"], question), moment,
                  _attempt_context(settings, user, attempt, parent=quiz_target),
                  {"response": RESPONSE_SEPARATOR.join(answers.get(question.id, [])),
                   "success": is_correct(question, list(answers.get(question.id, [])))})
        for question in questions
    ]
    outcome = {"score": {"scaled": scaled(score.correct, score.total), "raw": score.correct,
                         "min": 0, "max": score.total},
               "success": score.passed, "completion": True}
    return [*answered, statement(settings, user, "passed" if score.passed else "failed",
                                 quiz_target, moment, _attempt_context(settings, user, attempt),
                                 outcome)]


# --- scenarios ---------------------------------------------------------------------------


def scenario_activity(settings: XapiSettings, version: CourseVersion,
                      scenario: Scenario) -> dict:
    return activity(item_iri(settings, version.course.code, "scenario", scenario.slug),
                    "scenario", scenario.title)


def _run_context(settings: XapiSettings, user: User, run: ScenarioRun,
                 parent: dict | None = None) -> dict:
    return context(settings, user, run.version, parent=parent,
                   registration_id=registration(settings, "scenario-runs", run.id))


def methane_response(texts: Sequence[str]) -> str:
    return "\n".join(f"{letter}: {text}" for (letter, _label), text
                     in zip(METHANE_FIELDS, texts, strict=False) if text)


def scenario_choice(settings: XapiSettings, user: User, run: ScenarioRun, scenario: Scenario,
                    step: Step, choice: Choice, moment: datetime) -> list[dict]:
    """A choice made at a step (a METHANE message is the response at its step), with the
    Joint Decision Model stage and principle it exercises."""
    scenario_target = scenario_activity(settings, run.version, scenario)
    step_iri = f"{scenario_target['id']}/steps/{step.id}"
    if step.kind == "methane":
        target = activity(step_iri, "interaction", step.title, interactionType="long-fill-in")
        response = methane_response((run.methane or {}).get(step.id, []))
    else:
        target = activity(step_iri, "interaction", step.title, interactionType="choice",
                          choices=[{"id": option.id,
                                    "description": {LANGUAGE: plain_text(option.label_html)}}
                                   for option in step.choices])
        response = choice.id
    result = {"response": response, "score": {"raw": choice.score}}
    tags = {extension(settings, "jdm-stage"): choice.jdm or step.jdm,
            extension(settings, "principle"): choice.principle or step.principle}
    if any(tags.values()):
        result["extensions"] = {iri: tag for iri, tag in tags.items() if tag}
    return [statement(settings, user, "responded", target, moment,
                      _run_context(settings, user, run, parent=scenario_target), result)]


def scenario_completed(settings: XapiSettings, user: User, run: ScenarioRun,
                       scenario: Scenario, moment: datetime) -> list[dict]:
    """The run reached an ending: its result (pass or fail) and points against the best."""
    points, best = run.points or 0, run.best_points or 0
    score = {"scaled": scaled(points, best), "raw": points}
    if 0 <= points <= best:
        score.update(min=0, max=best)
    return [statement(settings, user, "completed", scenario_activity(settings, run.version,
                                                                     scenario),
                      moment, _run_context(settings, user, run),
                      {"completion": True, "success": run.result == "pass", "score": score})]


# --- courses -----------------------------------------------------------------------------


def course_completed(settings: XapiSettings, user: User, completion: Completion,
                     version: CourseVersion) -> list[dict]:
    result = {"completion": True, "success": True,
              "extensions": {extension(settings, "certificate"): completion.certificate_code}}
    if completion.expires_at is not None:
        result["extensions"][extension(settings, "expires-at")] = timestamp(
            completion.expires_at)
    return [statement(settings, user, "completed", course_activity(settings, version),
                      completion.completed_at, context(settings, user, version), result)]
