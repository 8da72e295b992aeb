"""Item analysis for trainers: how each question of a quiz and each choice of a scenario
performs with real learners.

    quiz_analysis(session, course_id, "check-your-understanding")            # every version
    quiz_analysis(session, course_id, "check-your-understanding", version_id=7)
    scenario_analysis(session, course_id, "rising-water-at-millbrook")

Each reads the item's content from the versions in scope and its attempts (or runs) in one
query each, loading only the columns it needs, and returns frozen dataclasses: counts, and
shares from 0 to 1 (None when there is nothing to divide by, never a division by zero).

Decisions, and why:

- **Which attempts count.** By default each learner's *first* submitted attempt among those
  analysed (`basis="first"`), the usual choice in item analysis: a retake follows the
  feedback and explanations of the first try, so retakes measure memory of the answers and
  make every question look easier and less telling. `basis="every"` counts every submitted
  attempt. Either way `submitted_attempts` and `learners` count everything in scope, and
  `analysed_attempts`, the pass rate, the mean score and every per-question figure use the
  chosen basis. With one version chosen, "first" means the learner's first attempt at that
  version. Unsubmitted attempts never count.
- **Questions that come and go.** A quiz may draw some questions from a bank, and a new
  version may add, remove or change questions. A question counts only in the attempts that
  showed it, and each attempt is marked against its own version's question (a changed
  answer key applies from its version on). Questions are listed as the newest version in
  scope has them, then questions that only older versions held (`current=False`).
- **Option shares.** For a single-answer or select-all question, an option's share is the
  share of attempts showing it that selected it (for select-all the shares add up to more
  than 1). For an ordering question, an item's share is the share of attempts that put that
  item in its right position: a trainer sees which step of the sequence learners misplace.
- **Discrimination: the corrected point-biserial correlation** between being right on the
  question (1 or 0) and the share right on the *rest* of that attempt's questions, chosen
  over the upper-lower 27% index because: quizzes are short (five questions give totals
  with few distinct values, so the 27% groups split ties arbitrarily); cohorts are small
  (the 27% rule throws away the middle 46% of the few attempts there are); and questions
  are drawn at random, so attempts answer different sets and a total score is not comparable
  across them, while the share right on the rest of an attempt is. Leaving the question out
  of its own criterion ("corrected") stops a short quiz flattering every question. It runs
  from -1 to 1: see DISCRIMINATION_HELP and `discrimination_rating`. It is None below
  MIN_ATTEMPTS_FOR_DISCRIMINATION attempts, and when everyone was right (or wrong) on the
  question or on the rest, since nothing then varies to correlate.
- **Scenario runs.** Every run counts (started, finished, passed); a step's `reached` is the
  runs that reached it at least once, and a choice's `runs` the runs that took it at least
  once, as a share of the runs that reached its step (a run that loops back may take
  several choices of one step, so those shares can add up to more than 1; `times` counts
  every time a choice was taken). Choices are matched across versions by their step, text
  and target, since a choice's id is only its place in the list.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn import scoring
from jesip_learn.content import Option, Question, Quiz, Scenario, Step
from jesip_learn.content.item_writing import item_flaws
from jesip_learn.content.scenario_map import plain_text, step_label
from jesip_learn.content.serialise import item_from_data
from jesip_learn.courses.models import CourseItem, CourseVersion
from jesip_learn.learning.models import QuizAttempt, ScenarioRun

Basis = Literal["first", "every"]

MIN_ATTEMPTS_FOR_DISCRIMINATION = 10
GOOD_DISCRIMINATION = 0.30
FAIR_DISCRIMINATION = 0.20
NO_VARIATION = 1e-12  # sums of squares below this are float noise around zero

DISCRIMINATION_HELP = (
    "Discrimination compares each question with the rest of the quiz: questions that strong "
    "learners get right and weak learners get wrong discriminate well. Near zero or negative "
    "means the question may be faulty: ambiguous wording, a wrong answer marked right, or a "
    "question about something the rest of the quiz does not test."
)
DISCRIMINATION_LABELS = {
    "good": "Discriminates well: learners who do well on the rest of the quiz usually get "
            "this right",
    "fair": "Discriminates fairly: worth a look if it is also very easy or very hard",
    "poor": "Discriminates poorly: strong and weak learners do about as well on it; check the "
            "wording and the answer",
    "negative": "Negative: weaker learners do better on it than stronger ones; check which "
                "answer is marked right",
    "no-variation": "Cannot say: everyone answered it the same way (or did equally well on "
                    "the rest of the quiz)",
    "too-few": f"Too few attempts to judge yet (fewer than {MIN_ATTEMPTS_FOR_DISCRIMINATION})",
}


def share(part: int, whole: int) -> float | None:
    """part / whole, or None when whole is 0."""
    return part / whole if whole else None


# --- how the items are written ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemWarning:
    """An item-writing flaw of a quiz or scenario (content/item_writing.py, the validator's
    own checks): at `line` of its file `source`, in the question titled `where` ("" when it
    concerns the whole quiz or scenario)."""

    source: str
    line: int
    where: str
    message: str


def item_warnings(item: Quiz | Scenario) -> tuple[ItemWarning, ...]:
    """The flaws of the item as given (the published version's, on the analysis pages)."""
    questions = sorted(item.questions, key=lambda q: q.line) if isinstance(item, Quiz) else []
    found = []
    for flaw in item_flaws(item):
        question = next((q for q in reversed(questions) if q.line <= flaw.line), None)
        found.append(ItemWarning(item.source, flaw.line, question.title if question else "",
                                 flaw.message))
    return tuple(found)


# --- quizzes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionStats:
    """One answer of a question. For single and select-all questions `chosen` counts the
    attempts that selected it; for ordering questions, those that put it in its right
    position (`position`, from 1). `shown` counts the attempts that offered it."""

    id: str
    html: str
    correct: bool  # always False for an ordering item: its answer is its position
    position: int | None  # ordering: the item's right place, from 1; else None
    shown: int
    chosen: int
    share: float | None  # chosen / shown
    current: bool  # the question as listed has this option (False: only older versions did)


@dataclass(frozen=True, slots=True)
class QuestionStats:
    id: str
    kind: str  # "single", "multiple" or "ordering"
    title: str  # plain text
    title_html: str
    stem_html: str
    current: bool  # the newest version in scope holds it
    versions: tuple[int, ...]  # numbers of the versions in scope that hold it
    shown: int  # attempts analysed that showed it
    right: int
    share_right: float | None  # right / shown: the question's easiness
    options: tuple[OptionStats, ...]
    discrimination: float | None  # corrected point-biserial, -1 to 1
    discrimination_rating: str  # a key of DISCRIMINATION_LABELS
    discrimination_attempts: int  # the attempts it was computed from

    @property
    def discrimination_label(self) -> str:
        return DISCRIMINATION_LABELS[self.discrimination_rating]


@dataclass(frozen=True, slots=True)
class QuizAnalysis:
    course_id: int
    slug: str
    title: str  # of the newest version in scope
    pass_mark: float
    version_numbers: tuple[int, ...]  # the versions in scope that hold the quiz, oldest first
    basis: Basis
    submitted_attempts: int  # every submitted attempt in scope
    learners: int  # distinct learners with a submitted attempt in scope
    learners_passed: int  # of those, how many passed with some attempt
    analysed_attempts: int  # the attempts the figures below use (see `basis`)
    passed_attempts: int
    pass_rate: float | None  # passed_attempts / analysed_attempts
    mean_percent: float | None  # mean score of the analysed attempts, 0 to 100
    questions: tuple[QuestionStats, ...]
    # (version number, submitted attempts made on it), oldest first: the versions the
    # figures come from, which may be fewer than those that hold the quiz.
    attempts_by_version: tuple[tuple[int, int], ...] = ()

    @property
    def discrimination_help(self) -> str:
        return DISCRIMINATION_HELP

    def question(self, question_id: str) -> QuestionStats | None:
        return next((q for q in self.questions if q.id == question_id), None)


@dataclass(frozen=True, slots=True)
class _Version:
    id: int
    number: int
    item: Quiz | Scenario


def _versions(session: Session, course_id: int, slug: str, kind: str,
              version_id: int | None) -> list[_Version]:
    """The versions in scope that hold the item, newest first, with the item parsed."""
    query = (select(CourseVersion.id, CourseVersion.number, CourseItem.content)
             .join(CourseItem, CourseItem.version_id == CourseVersion.id)
             .where(CourseVersion.course_id == course_id, CourseItem.slug == slug,
                    CourseItem.kind == kind))
    if version_id is not None:
        query = query.where(CourseVersion.id == version_id)
    rows = session.execute(query.order_by(CourseVersion.number.desc()))
    return [_Version(row.id, row.number, item_from_data(kind, row.content)) for row in rows]


def quiz_analysis(session: Session, course_id: int, slug: str, *, version_id: int | None = None,
                  basis: Basis = "first") -> QuizAnalysis | None:
    """How the quiz `slug` of the course performs: in one version, or in every version of
    the course that has it. None when no version in scope has a quiz with this slug."""
    if basis not in ("first", "every"):
        raise ValueError(f"basis must be 'first' or 'every', not {basis!r}")
    versions = _versions(session, course_id, slug, "quiz", version_id)
    if not versions:
        return None
    rows = session.execute(
        select(QuizAttempt.user_id, QuizAttempt.version_id, QuizAttempt.question_ids,
               QuizAttempt.answers, QuizAttempt.percent, QuizAttempt.passed)
        .where(QuizAttempt.course_id == course_id, QuizAttempt.item_slug == slug,
               QuizAttempt.submitted_at.is_not(None),
               QuizAttempt.version_id.in_([version.id for version in versions]))
        .order_by(QuizAttempt.user_id, QuizAttempt.submitted_at, QuizAttempt.id)
    ).all()
    learners = {row.user_id for row in rows}
    analysed = _first_per_learner(rows) if basis == "first" else rows
    percents = [row.percent for row in analysed if row.percent is not None]
    passed = sum(1 for row in analysed if row.passed)
    newest: Quiz = versions[0].item  # type: ignore[assignment]
    return QuizAnalysis(
        course_id=course_id, slug=slug, title=newest.title, pass_mark=newest.pass_mark,
        version_numbers=tuple(sorted(version.number for version in versions)), basis=basis,
        submitted_attempts=len(rows), learners=len(learners),
        learners_passed=len({row.user_id for row in rows if row.passed}),
        analysed_attempts=len(analysed), passed_attempts=passed,
        pass_rate=share(passed, len(analysed)),
        mean_percent=sum(percents) / len(percents) if percents else None,
        questions=_question_stats(versions, analysed),
        attempts_by_version=_by_version(versions, rows),
    )


def _by_version(versions: Sequence[_Version], rows: Sequence) -> tuple[tuple[int, int], ...]:
    """(version number, rows made on it) for each version with any, oldest first."""
    counts = Counter(row.version_id for row in rows)
    return tuple((version.number, counts[version.id])
                 for version in sorted(versions, key=lambda v: v.number) if counts[version.id])


def _first_per_learner(rows: Sequence) -> list:
    """The first row of each learner (rows come ordered by learner, then time)."""
    first, seen = [], set()
    for row in rows:
        if row.user_id not in seen:
            seen.add(row.user_id)
            first.append(row)
    return first


class _QuestionTally:
    def __init__(self) -> None:
        self.shown = 0
        self.right = 0
        self.option_shown: Counter[str] = Counter()
        self.option_chosen: Counter[str] = Counter()
        self.pairs: list[tuple[int, float]] = []  # (right on it, share right on the rest)


def _question_stats(versions: Sequence[_Version], attempts: Iterable) -> tuple[QuestionStats, ...]:
    banks = {version.id: {q.id: q for q in version.item.questions} for version in versions}
    tallies: dict[str, _QuestionTally] = defaultdict(_QuestionTally)
    for attempt in attempts:
        bank = banks.get(attempt.version_id, {})
        answers = attempt.answers if isinstance(attempt.answers, dict) else {}
        marked = []
        for question_id in attempt.question_ids or []:
            question = bank.get(question_id)
            if question is not None:
                answer = _answer(answers.get(question_id))
                marked.append((question, answer, scoring.is_correct(question, answer)))
        right_in_attempt = sum(1 for _q, _a, right in marked if right)
        for question, answer, right in marked:
            tally = tallies[question.id]
            tally.shown += 1
            tally.right += right
            _tally_options(tally, question, answer)
            if len(marked) > 1:
                rest = (right_in_attempt - right) / (len(marked) - 1)
                tally.pairs.append((int(right), rest))
    return tuple(_stats_of(question_id, versions, tallies.get(question_id, _QuestionTally()))
                 for question_id in _question_order(versions))


def _answer(stored: object) -> list[str]:
    """A stored answer as it is marked: option ids; anything else is no answer."""
    if not isinstance(stored, list):
        return []
    return [value for value in stored if isinstance(value, str)]


def _tally_options(tally: _QuestionTally, question: Question, answer: list[str]) -> None:
    if question.kind == "ordering":
        for place, option_id in enumerate(question.correct_order):
            tally.option_shown[option_id] += 1
            if place < len(answer) and answer[place] == option_id:
                tally.option_chosen[option_id] += 1
        return
    selected = set(answer)
    for option in question.options:
        tally.option_shown[option.id] += 1
        if option.id in selected:
            tally.option_chosen[option.id] += 1


def _question_order(versions: Sequence[_Version]) -> list[str]:
    """The newest version's questions in order, then those only older versions held."""
    order: list[str] = []
    for version in versions:
        order += [q.id for q in version.item.questions if q.id not in order]
    return order


def _stats_of(question_id: str, versions: Sequence[_Version],
              tally: _QuestionTally) -> QuestionStats:
    holding = [(version, q) for version in versions for q in version.item.questions
               if q.id == question_id]
    question = holding[0][1]  # as the newest version holding it has it
    options: list[OptionStats] = []
    listed: set[str] = set()
    for _version, each in holding:
        for position, option in _options_in_order(each):
            if option.id in listed:
                continue
            listed.add(option.id)
            shown, chosen = tally.option_shown[option.id], tally.option_chosen[option.id]
            options.append(OptionStats(
                id=option.id, html=option.html, correct=option.correct,
                position=position, shown=shown, chosen=chosen, share=share(chosen, shown),
                current=each is question))
    value, rating = discrimination(tally.pairs)
    return QuestionStats(
        id=question.id, kind=question.kind, title=plain_text(question.title_html) or question.title,
        title_html=question.title_html, stem_html=question.stem_html,
        current=holding[0][0] is versions[0],
        versions=tuple(sorted(version.number for version, _q in holding)),
        shown=tally.shown, right=tally.right, share_right=share(tally.right, tally.shown),
        options=tuple(options), discrimination=value, discrimination_rating=rating,
        discrimination_attempts=len(tally.pairs))


def _options_in_order(question: Question) -> list[tuple[int | None, Option]]:
    """(right position or None, option): ordering items in their right order."""
    if question.kind != "ordering":
        return [(None, option) for option in question.options]
    by_id = {option.id: option for option in question.options}
    return [(place, by_id[option_id]) for place, option_id in
            enumerate(question.correct_order, start=1) if option_id in by_id]


def discrimination(pairs: Sequence[tuple[int, float]]) -> tuple[float | None, str]:
    """The corrected point-biserial correlation of (right on the question, share right on
    the rest of the attempt) pairs, and its rating (a key of DISCRIMINATION_LABELS)."""
    if len(pairs) < MIN_ATTEMPTS_FOR_DISCRIMINATION:
        return None, "too-few"
    count = len(pairs)
    mean_x = sum(x for x, _y in pairs) / count
    mean_y = sum(y for _x, y in pairs) / count
    sxx = sum((x - mean_x) ** 2 for x, _y in pairs)
    syy = sum((y - mean_y) ** 2 for _x, y in pairs)
    if sxx < NO_VARIATION or syy < NO_VARIATION:
        return None, "no-variation"
    value = sum((x - mean_x) * (y - mean_y) for x, y in pairs) / math.sqrt(sxx * syy)
    value = max(-1.0, min(1.0, value))
    return value, discrimination_rating(value)


def discrimination_rating(value: float) -> str:
    if value >= GOOD_DISCRIMINATION:
        return "good"
    if value >= FAIR_DISCRIMINATION:
        return "fair"
    if value >= 0:
        return "poor"
    return "negative"


# --- scenarios ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChoiceStats:
    step_id: str
    choice_id: str  # its place among the step's choices, in the version listed
    label: str  # plain text
    label_html: str
    target: str  # the step id it leads to
    target_title: str
    score: int
    current: bool  # the newest version in scope has this choice (False: only older ones)
    runs: int  # runs that took it at least once
    times: int  # every time it was taken
    share: float | None  # runs / the runs that reached its step


@dataclass(frozen=True, slots=True)
class StepStats:
    id: str
    title: str  # plain text
    kind: str  # "normal", "methane" or "end"
    result: str | None  # "pass" or "fail" on an ending
    current: bool  # the newest version in scope has this step
    reached: int  # runs that reached it at least once
    share: float | None  # reached / runs started
    unfinished_here: int  # runs not finished whose latest step is this: still open or left
    choices: tuple[ChoiceStats, ...]


@dataclass(frozen=True, slots=True)
class ScenarioAnalysis:
    course_id: int
    slug: str
    title: str
    version_numbers: tuple[int, ...]  # oldest first
    runs_started: int
    runs_finished: int
    runs_passed: int  # finished at a pass ending
    runs_failed: int
    runs_abandoned: int  # left unfinished when the learner started again
    runs_in_progress: int
    learners: int
    learners_passed: int
    pass_share: float | None  # runs_passed / runs_started
    mean_points: float | None  # over the finished runs
    best_points: int  # the most a path to a pass ending scores (newest version)
    steps: tuple[StepStats, ...]
    runs_by_version: tuple[tuple[int, int], ...] = ()  # (version number, runs), oldest first

    def step(self, step_id: str) -> StepStats | None:
        return next((step for step in self.steps if step.id == step_id), None)


def scenario_analysis(session: Session, course_id: int, slug: str, *,
                      version_id: int | None = None) -> ScenarioAnalysis | None:
    """How learners walk the scenario `slug`: in one version, or in every version of the
    course that has it. None when no version in scope has a scenario with this slug."""
    versions = _versions(session, course_id, slug, "scenario", version_id)
    if not versions:
        return None
    rows = session.execute(
        select(ScenarioRun.user_id, ScenarioRun.version_id, ScenarioRun.path,
               ScenarioRun.finished_at, ScenarioRun.abandoned_at, ScenarioRun.result,
               ScenarioRun.points)
        .where(ScenarioRun.course_id == course_id, ScenarioRun.item_slug == slug,
               ScenarioRun.version_id.in_([version.id for version in versions]))
    ).all()
    scenarios = {version.id: version.item for version in versions}
    reached: Counter[str] = Counter()
    unfinished: Counter[str] = Counter()
    choice_runs: Counter[tuple[str, str, str]] = Counter()
    choice_times: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        path = _path(row.path)
        scenario: Scenario = scenarios[row.version_id]  # type: ignore[assignment]
        reached.update({step_id for step_id, _choice in path})
        if row.finished_at is None and path:
            unfinished[path[-1][0]] += 1
        taken = [key for step_id, choice_id in path
                 if (key := _choice_key(scenario, step_id, choice_id)) is not None]
        choice_times.update(taken)
        choice_runs.update(set(taken))
    finished = [row for row in rows if row.finished_at is not None]
    points = [row.points for row in finished if row.points is not None]
    passed = [row for row in finished if row.result == "pass"]
    newest: Scenario = versions[0].item  # type: ignore[assignment]
    return ScenarioAnalysis(
        course_id=course_id, slug=slug, title=newest.title,
        version_numbers=tuple(sorted(version.number for version in versions)),
        runs_started=len(rows), runs_finished=len(finished), runs_passed=len(passed),
        runs_failed=sum(1 for row in finished if row.result == "fail"),
        runs_abandoned=sum(1 for row in rows
                           if row.finished_at is None and row.abandoned_at is not None),
        runs_in_progress=sum(1 for row in rows
                             if row.finished_at is None and row.abandoned_at is None),
        learners=len({row.user_id for row in rows}),
        learners_passed=len({row.user_id for row in passed}),
        pass_share=share(len(passed), len(rows)),
        mean_points=sum(points) / len(points) if points else None,
        best_points=scoring.best_points(newest),
        steps=_step_stats(versions, len(rows), reached, unfinished, choice_runs, choice_times),
        runs_by_version=_by_version(versions, rows),
    )


def _path(stored: object) -> list[tuple[str, str | None]]:
    """A run's path as (step id, choice id or None) pairs, ignoring anything malformed."""
    if not isinstance(stored, list):
        return []
    pairs = []
    for entry in stored:
        if isinstance(entry, list | tuple) and entry and isinstance(entry[0], str):
            choice = entry[1] if len(entry) > 1 and isinstance(entry[1], str) else None
            pairs.append((entry[0], choice))
    return pairs


def _choice_key(scenario: Scenario, step_id: str,
                choice_id: str | None) -> tuple[str, str, str] | None:
    """A choice as it is matched across versions: (step id, target, label HTML)."""
    if choice_id is None:
        return None
    step = scenario.step(step_id)
    choice = next((c for c in step.choices if c.id == choice_id), None) if step else None
    return (step_id, choice.target, choice.label_html) if choice else None


def _step_stats(versions: Sequence[_Version], started: int, reached: Counter[str],
                unfinished: Counter[str], choice_runs: Counter, choice_times: Counter
                ) -> tuple[StepStats, ...]:
    """The newest version's steps in order, then those only older versions held."""
    holding: dict[str, list[tuple[_Version, Step]]] = {}
    for version in versions:
        seen_here: set[str] = set()
        for step in version.item.steps:
            if step.id not in seen_here:  # the first step with an id is the one played
                seen_here.add(step.id)
                holding.setdefault(step.id, []).append((version, step))
    titles = {step_id: step_label(found[0][1]) for step_id, found in holding.items()}
    stats = []
    for step_id, found in holding.items():
        step = found[0][1]
        choices: list[ChoiceStats] = []
        listed: set[tuple[str, str, str]] = set()
        for version, each in found:
            for choice in each.choices:
                key = (step_id, choice.target, choice.label_html)
                if key in listed:
                    continue
                listed.add(key)
                choices.append(ChoiceStats(
                    step_id=step_id, choice_id=choice.id, label=plain_text(choice.label_html),
                    label_html=choice.label_html, target=choice.target,
                    target_title=titles.get(choice.target, choice.target), score=choice.score,
                    current=version is versions[0], runs=choice_runs[key],
                    times=choice_times[key], share=share(choice_runs[key], reached[step_id])))
        stats.append(StepStats(
            id=step_id, title=titles[step_id], kind=step.kind, result=step.result,
            current=found[0][0] is versions[0], reached=reached[step_id],
            share=share(reached[step_id], started), unfinished_here=unfinished[step_id],
            choices=tuple(choices)))
    return tuple(stats)
