"""Scenario walkthroughs: a learner's runs, the choices they make, and the debrief.

A run keeps its path as ``[[step id, choice id or null], ...]``; the last entry is the step
the learner is on. Every choice is saved as it is made (the view's request commits once),
so a closed browser resumes where it stopped. A run is played against the version it
started on (`run.version`), so publishing a new version never changes a run in progress.

Every move names the step the learner was shown: a second press of the same button (a
double click, a replayed POST, a second tab) finds the run already past that step and
changes nothing. Two moves at once take turns (`progress.lock_learner_course`), and each is
saved only onto the path it was worked out from, so a page left open in another tab can
never answer a step twice, nor leave a run finished anywhere but at an ending.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from jesip_learn import scoring
from jesip_learn.accounts.models import User
from jesip_learn.content import METHANE_FIELDS, Choice, Scenario, Step
from jesip_learn.core.columns import utcnow
from jesip_learn.core.input_errors import InputError
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import Course, CourseVersion
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion, ScenarioRun
from jesip_learn.xapi import outbox as xapi_outbox
from jesip_learn.xapi import statements as xapi_statements

METHANE_MAX_CHARACTERS = 500

# The words a learner reads for the tags of content-format.md.
JDM_STAGE_LABELS = {
    "information": "Gather information and intelligence",
    "risk": "Assess risks and develop a working strategy",
    "powers": "Consider powers, policies and procedures",
    "options": "Identify options and contingencies",
    "action": "Take action and review what happened",
}
PRINCIPLE_LABELS = {
    "co-locate": "Co-locate",
    "communicate": "Communicate",
    "co-ordinate": "Co-ordinate",
    "risk": "Jointly understand risk",
    "awareness": "Shared situational awareness",
}


class RunError(InputError, ValueError):
    """A move the run cannot take, in words for the learner. Nothing was saved."""

    def __init__(self, message: str, field_errors: dict[int, str] | None = None):
        super().__init__(message)
        # For a METHANE message: the index of a field (0 to 6) → what is wrong with it.
        self.field_errors = field_errors or {}


ANSWERED_ELSEWHERE = ("This step was already answered in another tab, so the answer you "
                      "gave here was not saved. The walkthrough carries on from where it "
                      "has got to.")


@dataclass(frozen=True, slots=True)
class Move:
    """What a choice did: `advanced` is False when the run had already moved past the step
    the learner was shown (nothing changed); then `answered_elsewhere` says that step was
    given another answer (on a page open in another tab), rather than this same answer sent
    again. `completion` is set when the move finished the course."""

    run: ScenarioRun
    advanced: bool
    completion: Completion | None = None
    answered_elsewhere: bool = False


# --- reading a run -----------------------------------------------------------------------


def scenario_for(run: ScenarioRun) -> Scenario:
    """The scenario as it was in the version the run started on."""
    return courses.version_item(run.version, run.item_slug)


def current_step(run: ScenarioRun, scenario: Scenario) -> Step:
    return scenario.step(run.path[-1][0])


def is_open(run: ScenarioRun) -> bool:
    return run.finished_at is None and run.abandoned_at is None


def last_choice(run: ScenarioRun, scenario: Scenario) -> tuple[Step, Choice] | None:
    """The step and choice of the learner's latest move, or None before the first."""
    if len(run.path) < 2:
        return None
    step_id, choice_id = run.path[-2]
    step = scenario.step(step_id)
    choice = _choice(step, choice_id) if step else None
    return (step, choice) if choice else None


def _choice(step: Step, choice_id: str | None) -> Choice | None:
    return next((choice for choice in step.choices if choice.id == choice_id), None)


def _path_steps(path: list) -> list[scoring.PathStep]:
    return [scoring.PathStep(step_id, choice_id) for step_id, choice_id in path]


def run_for(session: Session, user: User, run_id: int) -> ScenarioRun | None:
    """The run, only when it is this learner's."""
    run = session.get(ScenarioRun, run_id)
    return run if run is not None and run.user_id == user.id else None


def open_run(session: Session, user: User, course: Course, slug: str) -> ScenarioRun | None:
    """The learner's unfinished run of this scenario that they have not started again."""
    return session.scalar(select(ScenarioRun).where(
        ScenarioRun.user_id == user.id, ScenarioRun.course_id == course.id,
        ScenarioRun.item_slug == slug, ScenarioRun.finished_at.is_(None),
        ScenarioRun.abandoned_at.is_(None))
        .order_by(ScenarioRun.started_at.desc(), ScenarioRun.id.desc()).limit(1))


def run_history(session: Session, user: User, course: Course,
                slug: str | None = None) -> list[ScenarioRun]:
    """Every run of the learner on this course (or one of its scenarios), newest first."""
    query = select(ScenarioRun).where(ScenarioRun.user_id == user.id,
                                      ScenarioRun.course_id == course.id)
    if slug is not None:
        query = query.where(ScenarioRun.item_slug == slug)
    return list(session.scalars(query.order_by(ScenarioRun.started_at.desc(),
                                               ScenarioRun.id.desc())))


# --- moving through a run ----------------------------------------------------------------


def start_run(session: Session, user: User, version: CourseVersion, scenario: Scenario,
              now: datetime | None = None) -> ScenarioRun:
    """Resume the learner's open run of this scenario, or start one at its first step.
    Pressed twice at once, the second press waits for the first and resumes its run."""
    now = now or utcnow()
    progress.lock_learner_course(session, user.id, version.course_id)
    progress.start_item(session, user, version, scenario.slug, now)
    run = open_run(session, user, version.course, scenario.slug)
    if run is None:
        run = ScenarioRun(user_id=user.id, course_id=version.course_id, version_id=version.id,
                          item_slug=scenario.slug, started_at=now,
                          path=[[scenario.start, None]], methane={})
        session.add(run)
        session.flush()
    return run


def choose(session: Session, run: ScenarioRun, scenario: Scenario, choice_id: str,
           shown_step_id: str | None = None, now: datetime | None = None) -> Move:
    """Take one of the current step's choices. `shown_step_id` is the step the learner's
    page showed: when the run has moved on since, nothing happens."""
    _take_turn(session, run)
    if shown_step_id is not None and shown_step_id != run.path[-1][0]:
        return _moved_on(run, shown_step_id, lambda step_choice: step_choice == choice_id)
    step = _step_to_answer(run, scenario)
    if step.kind == "methane":
        raise RunError("Write your METHANE message, then select Continue")
    choice = _choice(step, choice_id)
    if choice is None:
        raise RunError("Select one of the choices on this page")
    return _advance(session, run, scenario, choice, now or utcnow())


def submit_methane(session: Session, run: ScenarioRun, scenario: Scenario,
                   texts: Sequence[str | None], shown_step_id: str | None = None,
                   now: datetime | None = None) -> Move:
    """Store the learner's METHANE message for the current step and move on."""
    _take_turn(session, run)
    if shown_step_id is not None and shown_step_id != run.path[-1][0]:
        stored = (run.methane or {}).get(shown_step_id) or []
        return _moved_on(run, shown_step_id,
                         lambda _choice: _seven_texts(stored) == _seven_texts(texts))
    step = _step_to_answer(run, scenario)
    if step.kind != "methane" or not step.choices:
        raise RunError("This step does not ask for a METHANE message")
    cleaned = clean_methane(texts)
    return _advance(session, run, scenario, step.choices[0], now or utcnow(),
                    methane=cleaned)


def clean_methane(texts: Sequence[str | None]) -> list[str]:
    """The seven texts trimmed; or a RunError naming each field that is too long
    (`field_errors`), or saying that at least one must be filled in (the message as a whole)."""
    cleaned = _seven_texts(texts)
    too_long = {
        index: f"{letter} – {label} must be {METHANE_MAX_CHARACTERS} characters or fewer"
        for index, ((letter, label), text) in enumerate(zip(METHANE_FIELDS, cleaned,
                                                            strict=True))
        if len(text) > METHANE_MAX_CHARACTERS
    }
    if too_long:
        raise RunError(next(iter(too_long.values())), too_long)
    if not any(cleaned):
        raise RunError("Write at least one part of your METHANE message")
    return cleaned


def _seven_texts(texts: Sequence[str | None]) -> list[str]:
    """One trimmed text for each METHANE part, empty where none was sent."""
    texts = list(texts)[:len(METHANE_FIELDS)]
    texts += [""] * (len(METHANE_FIELDS) - len(texts))
    return [(text or "").strip() for text in texts]


def start_again(session: Session, run: ScenarioRun, now: datetime | None = None) -> ScenarioRun:
    """Leave this run in the learner's history and begin a new one on the published version.
    Pressing it twice does not start twice: the second press finds the new run open."""
    now = now or utcnow()
    _take_turn(session, run)
    if is_open(run):
        run.abandoned_at = now
        session.flush()
    user = session.get(User, run.user_id)
    course = session.get(Course, run.course_id)
    version = course.published_version
    if version is None or not any(item.slug == run.item_slug and item.kind == "scenario"
                                  for item in version.items):
        version = run.version  # the scenario has left the course: play the old one again
    return start_run(session, user, version, courses.version_item(version, run.item_slug), now)


def _take_turn(session: Session, run: ScenarioRun) -> None:
    """Wait while another move on the learner's progress in this course is under way, then
    read the run as it stands now: a move made meanwhile in another tab is seen, not
    overwritten."""
    progress.lock_learner_course(session, run.user_id, run.course_id)
    session.refresh(run)


def _moved_on(run: ScenarioRun, shown_step_id: str,
              same_answer: Callable[[str | None], bool]) -> Move:
    """The run had moved past the step the page showed, so nothing changes. When that step
    was answered, and not with this same answer (a double click, a replayed POST), the
    answer came from a page left open in another tab: the learner is told."""
    answers = [choice_id for step_id, choice_id in run.path[:-1] if step_id == shown_step_id]
    elsewhere = bool(answers) and not same_answer(answers[-1])
    return Move(run, advanced=False, answered_elsewhere=elsewhere)


def _step_to_answer(run: ScenarioRun, scenario: Scenario) -> Step:
    if run.abandoned_at is not None:
        raise RunError("You started this walkthrough again, so this one has stopped")
    if run.finished_at is not None:
        raise RunError("This walkthrough has ended")
    step = current_step(run, scenario)
    if step is None or step.kind == "end":
        raise RunError("This walkthrough has ended")
    return step


def _advance(session: Session, run: ScenarioRun, scenario: Scenario, choice: Choice,
             now: datetime, methane: list[str] | None = None) -> Move:
    """Record the choice (and the METHANE message) on the current step and step onto its
    target; at an ending, finish the run in the same change."""
    step_id = run.path[-1][0]
    changes: dict = {"path": [*run.path[:-1], [step_id, choice.id], [choice.target, None]]}
    if methane is not None:
        changes["methane"] = {**(run.methane or {}), step_id: methane}
    target = scenario.step(choice.target)
    ending = target is not None and target.kind == "end"
    if ending:
        score = scoring.score_scenario(scenario, _path_steps(changes["path"]))
        changes.update(finished_at=now, result=score.result, points=score.points,
                       best_points=score.best)
    if not _save_move(session, run, changes):
        return Move(run, advanced=False, answered_elsewhere=True)
    xapi_outbox.record(session, lambda settings: xapi_statements.scenario_choice(
        settings, session.get(User, run.user_id), run, scenario, scenario.step(step_id), choice,
        now))
    completion = _finish(session, run, scenario, now) if ending else None
    return Move(run, advanced=True, completion=completion)


def _save_move(session: Session, run: ScenarioRun, changes: dict) -> bool:
    """Save a move onto the run only as it was read: still open, its path no longer than it
    was (a path only grows, one entry a move). False, and nothing saved, when another move
    got there first."""
    result = session.execute(
        update(ScenarioRun).where(
            ScenarioRun.id == run.id, ScenarioRun.finished_at.is_(None),
            ScenarioRun.abandoned_at.is_(None),
            func.json_array_length(ScenarioRun.path) == len(run.path))
        .values(**changes), execution_options={"synchronize_session": False})
    session.refresh(run)  # what the database now holds, whoever wrote it
    return result.rowcount == 1


def _finish(session: Session, run: ScenarioRun, scenario: Scenario,
            now: datetime) -> Completion | None:
    xapi_outbox.record(session, lambda settings: xapi_statements.scenario_completed(
        settings, session.get(User, run.user_id), run, scenario, now))
    if run.result != "pass":
        return None
    return progress.complete_published_item(session, run.user_id, run.course_id, run.item_slug,
                                            now)


# --- the debrief -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DebriefStep:
    step_title: str
    choice_html: str
    feedback_html: str
    points: int
    methane: bool  # the learner wrote a METHANE message here


@dataclass(frozen=True, slots=True)
class MethaneDebrief:
    step_id: str
    step_title: str
    fields: list[scoring.MethaneFieldResult]

    @property
    def covered(self) -> int:
        return sum(1 for field in self.fields if field.covered)


@dataclass(frozen=True, slots=True)
class Debrief:
    path: list[DebriefStep]
    ending: Step | None  # the ending reached, or None for a run not finished
    points: int
    best: int
    result: str | None  # "pass", "fail", or None while unfinished
    stages_touched: tuple[str, ...]
    stages_missed: tuple[str, ...]
    principles_touched: tuple[str, ...]
    principles_missed: tuple[str, ...]
    methane: list[MethaneDebrief]

    @property
    def passed(self) -> bool:
        return self.result == "pass"


def debrief(run: ScenarioRun, scenario: Scenario) -> Debrief:
    """The path taken with each choice's feedback, the points against the best path, the JDM
    stages and principles touched and missed, and each METHANE message against the model."""
    path, messages = [], []
    for step_id, choice_id in run.path:
        step = scenario.step(step_id)
        choice = _choice(step, choice_id) if step else None
        if choice is None:
            continue
        path.append(DebriefStep(step_title=step.title, choice_html=choice.label_html,
                                feedback_html=choice.feedback_html, points=choice.score,
                                methane=step.kind == "methane"))
        if step.kind == "methane" and step.model_answer is not None:
            written = (run.methane or {}).get(step.id, [])
            model = [line.text for line in step.model_answer.lines]
            messages.append(MethaneDebrief(step.id, step.title,
                                           scoring.compare_methane(model, written)))
    score = scoring.score_scenario(scenario, _path_steps(run.path))
    last = current_step(run, scenario)
    return Debrief(
        path=path, ending=last if last is not None and last.kind == "end" else None,
        points=score.points, best=score.best, result=score.result,
        stages_touched=score.stages_touched, stages_missed=score.stages_missed,
        principles_touched=score.principles_touched,
        principles_missed=score.principles_missed, methane=messages,
    )
