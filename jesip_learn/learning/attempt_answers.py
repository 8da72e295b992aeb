"""An attempt's questions and answers, read against the version it started on, and the
page of an open attempt (which never shows the answers or explanations).

An attempt is always read against the version it started on (`attempt.version`), so
publishing a new version never changes an attempt in progress.

`QuizAttempt.answers` maps each question id to the learner's answer as marked: option ids
(in their order, for an ordering question). While the attempt is open, an ordering
question whose positions are not yet all different holds the positions chosen so far
instead, `{option id: position}`, so that saving and coming back shows them as they were
left; such a mapping is never an answer that can be marked (`saved_answer` reads it as
none), and submitting replaces every answer with what was sent.

The page of an open attempt is built from `ShownQuestion`, which holds neither the answers
nor the explanations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from jesip_learn import scoring
from jesip_learn.content import Question, Quiz
from jesip_learn.courses import catalogue as courses
from jesip_learn.learning.models import QuizAttempt
from jesip_learn.scoring import FormValues


def attempt_quiz(attempt: QuizAttempt) -> Quiz:
    """The quiz as it was in the version the attempt started on."""
    return courses.version_item(attempt.version, attempt.item_slug)


def attempt_questions(attempt: QuizAttempt, quiz: Quiz | None = None) -> list[Question]:
    """The attempt's questions, in the order they were drawn."""
    quiz = quiz or attempt_quiz(attempt)
    by_id = {question.id: question for question in quiz.questions}
    return [by_id[question_id] for question_id in attempt.question_ids if question_id in by_id]


def read_answers(questions: Sequence[Question], values: FormValues) -> dict[str, list[str]]:
    return {question.id: scoring.read_answer(question, values) for question in questions}


SavedAnswer = list[str] | dict[str, int]  # see the module docstring


def draft_answers(questions: Sequence[Question], values: FormValues) -> dict[str, SavedAnswer]:
    """The answers to keep for an open attempt: each as it would be marked, except an
    unfinished ordering, kept as the positions chosen so far."""
    answers: dict[str, SavedAnswer] = {}
    for question in questions:
        answer = scoring.read_answer(question, values)
        if question.kind == "ordering" and not answer:
            positions = scoring.Ordering.read_positions(question, values)
            answers[question.id] = positions or []
        else:
            answers[question.id] = answer
    return answers


def saved_answer(attempt: QuizAttempt, question: Question) -> list[str]:
    """The stored answer to a question, as it would be marked; [] for none, and for the
    unfinished positions of an ordering question."""
    answer = attempt.answers.get(question.id)
    if not isinstance(answer, list):
        return []
    return [value for value in answer if isinstance(value, str)]


def saved_positions(attempt: QuizAttempt, question: Question) -> dict[str, str]:
    """An ordering question's stored positions, option id → "2", as its selects show
    them: from a full answer or from the positions chosen so far."""
    stored = attempt.answers.get(question.id)
    count = len(question.options)
    known = {option.id for option in question.options}
    if isinstance(stored, dict):
        return {oid: str(position) for oid, position in stored.items()
                if oid in known and isinstance(position, int)
                and not isinstance(position, bool) and 1 <= position <= count}
    return {oid: str(index) for index, oid in enumerate(saved_answer(attempt, question),
                                                            start=1) if oid in known}


def answer_problems(questions: Sequence[Question],
                    answers: Mapping[str, list[str]]) -> dict[str, str]:
    """Question id → why its answer cannot be marked yet, for every such question."""
    problems = {}
    for question in questions:
        problem = scoring.answer_problem(question, answers.get(question.id, []))
        if problem is not None:
            problems[question.id] = problem
    return problems


# --- what the page of an open attempt shows (never the answers) ------------------------


@dataclass(frozen=True, slots=True)
class ShownOption:
    id: str
    html: str


@dataclass(frozen=True, slots=True)
class ShownQuestion:
    """A question as the learner sees it before submitting: no answer, no explanation."""

    number: int
    id: str
    kind: str
    title_html: str
    stem_html: str
    options: tuple[ShownOption, ...]  # in the order this attempt shows them
    selected: frozenset[str]  # option ids chosen (single and select-all questions)
    positions: Mapping[str, str] = field(default_factory=dict)  # ordering: option id → "2"
    problem: str | None = None

    @property
    def field_id(self) -> str:
        """The id of the question's first control, which the error summary links to."""
        return f"question-{self.number}"

    def field_name(self, option_id: str) -> str:
        """The name of an ordering question's position select for one item (the name
        scoring.Ordering reads)."""
        return f"{self.id}.{option_id}"


def shown_questions(attempt: QuizAttempt, values: FormValues | None = None,
                    problems: Mapping[str, str] | None = None) -> list[ShownQuestion]:
    """The attempt's questions for its page, filled in with the saved answers, or with the
    values just sent (`values`) when the page is shown again with `problems`."""
    problems = problems or {}
    shown = []
    for number, question in enumerate(attempt_questions(attempt), start=1):
        by_id = {option.id: option for option in question.options}
        order = [oid for oid in attempt.option_order.get(question.id, []) if oid in by_id]
        options = tuple(ShownOption(oid, by_id[oid].html) for oid in order)
        if question.kind == "ordering":
            if values is not None:
                positions = {oid: (values.get(scoring.Ordering.field(question, oid)) or [""])[0]
                             for oid in order}
            else:
                positions = saved_positions(attempt, question)
            selected = frozenset()
        else:
            answer = (scoring.read_answer(question, values) if values is not None
                      else saved_answer(attempt, question))
            positions, selected = {}, frozenset(answer)
        shown.append(ShownQuestion(
            number=number, id=question.id, kind=question.kind, title_html=question.title_html,
            stem_html=question.stem_html, options=options, selected=selected,
            positions=positions, problem=problems.get(question.id)))
    return shown
