"""Quiz and scenario scoring. Pure: plain values in, plain values out.

Question kinds live in a registry (the shape of CTFd's challenge types): each knows how to
read a learner's answer from submitted form values and whether it is right, so a new kind
is one class and one registry entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from jesip_learn.content import JDM_STAGES, METHANE_FIELDS, PRINCIPLES, Question, Scenario

FormValues = Mapping[str, Sequence[str]]  # field name → the values submitted for it


# --- quiz questions --------------------------------------------------------------------


class SingleAnswer:
    """Radio buttons: the answer is one option id."""

    @staticmethod
    def read(question: Question, values: FormValues) -> list[str]:
        known = {option.id for option in question.options}
        chosen = [v for v in values.get(question.id, ()) if v in known]
        return chosen[:1]

    @staticmethod
    def is_complete(question: Question, answer: list[str]) -> bool:
        return len(answer) == 1

    @staticmethod
    def is_correct(question: Question, answer: list[str]) -> bool:
        return set(answer) == question.correct_option_ids and len(answer) == 1


class SelectAll:
    """Check boxes: right only when the set chosen equals the set of correct options."""

    @staticmethod
    def read(question: Question, values: FormValues) -> list[str]:
        known = [option.id for option in question.options]
        chosen = set(values.get(question.id, ()))
        return [option_id for option_id in known if option_id in chosen]

    @staticmethod
    def is_complete(question: Question, answer: list[str]) -> bool:
        return bool(answer)

    @staticmethod
    def is_correct(question: Question, answer: list[str]) -> bool:
        return set(answer) == question.correct_option_ids


class Ordering:
    """A position chosen for each item (a select per item, which needs no JavaScript); the
    answer is the option ids in the order the learner put them."""

    @staticmethod
    def field(question: Question, option_id: str) -> str:
        return f"{question.id}.{option_id}"

    @classmethod
    def read_positions(cls, question: Question, values: FormValues) -> dict[str, int]:
        """Option id → the position chosen for it (1 to the number of items), for each
        item given one: some may have none, and two may share one."""
        positions = {}
        for option in question.options:
            raw = (values.get(cls.field(question, option.id)) or [""])[0]
            if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= len(question.options):
                positions[option.id] = int(raw)
        return positions

    @classmethod
    def read(cls, question: Question, values: FormValues) -> list[str]:
        positions = cls.read_positions(question, values)
        if sorted(positions.values()) != list(range(1, len(question.options) + 1)):
            return []  # each position used exactly once, or the answer is incomplete
        return sorted(positions, key=positions.get)

    @staticmethod
    def is_complete(question: Question, answer: list[str]) -> bool:
        """Every item once, in some order (anything else, such as a mapping of the
        positions chosen so far, is not an answer that can be marked)."""
        return isinstance(answer, list | tuple) and sorted(answer) == sorted(
            option.id for option in question.options)

    @classmethod
    def is_correct(cls, question: Question, answer: list[str]) -> bool:
        return cls.is_complete(question, answer) and tuple(answer) == question.correct_order


QUESTION_KINDS = {"single": SingleAnswer, "multiple": SelectAll, "ordering": Ordering}


def read_answer(question: Question, values: FormValues) -> list[str]:
    return QUESTION_KINDS[question.kind].read(question, values)


def answer_problem(question: Question, answer: list[str]) -> str | None:
    """Why an answer cannot be marked yet, in words for the learner, or None."""
    if QUESTION_KINDS[question.kind].is_complete(question, answer):
        return None
    if question.kind == "ordering":
        return "Give each item a different position, from 1 to " f"{len(question.options)}"
    if question.kind == "multiple":
        return "Select all the answers that apply"
    return "Select an answer"


def is_correct(question: Question, answer: list[str]) -> bool:
    return QUESTION_KINDS[question.kind].is_correct(question, answer)


@dataclass(frozen=True, slots=True)
class QuizScore:
    correct: int
    total: int
    pass_mark: float

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.total if self.total else 0.0

    @property
    def passed(self) -> bool:
        return self.percent >= self.pass_mark


def score_quiz(questions: Sequence[Question], answers: Mapping[str, list[str]],
               pass_mark: float) -> QuizScore:
    correct = sum(1 for q in questions if is_correct(q, answers.get(q.id, [])))
    return QuizScore(correct=correct, total=len(questions), pass_mark=pass_mark)


# --- scenarios -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PathStep:
    step_id: str
    choice_id: str | None  # None for the ending, or a step not yet answered


@dataclass(frozen=True, slots=True)
class ScenarioScore:
    points: int
    best: int
    result: str | None  # "pass", "fail", or None while the run is unfinished
    stages_touched: tuple[str, ...]
    stages_missed: tuple[str, ...]
    principles_touched: tuple[str, ...]
    principles_missed: tuple[str, ...]


def best_points(scenario: Scenario) -> int:
    """The most points any path from the start to a pass ending can score."""
    steps = {step.id: step for step in scenario.steps}

    @cache
    def best_from(step_id: str, visiting: frozenset[str]) -> int | None:
        step = steps.get(step_id)
        if step is None or step_id in visiting:
            return None
        if step.kind == "end":
            return 0 if step.result == "pass" else None
        results = [
            choice.score + rest
            for choice in step.choices
            if (rest := best_from(choice.target, visiting | {step_id})) is not None
        ]
        return max(results) if results else None

    return best_from(scenario.start, frozenset()) or 0


def score_scenario(scenario: Scenario, path: Sequence[PathStep]) -> ScenarioScore:
    steps = {step.id: step for step in scenario.steps}
    points, stages, principles = 0, set(), set()
    for taken in path:
        step = steps.get(taken.step_id)
        choice = next((c for c in step.choices if c.id == taken.choice_id), None) if step else None
        if choice is None:
            continue
        points += choice.score
        stages.update(filter(None, (choice.jdm, step.jdm)))
        principles.update(filter(None, (choice.principle, step.principle)))
    last = steps.get(path[-1].step_id) if path else None
    result = last.result if last is not None and last.kind == "end" else None
    offered_stages = {tag for step in scenario.steps
                      for tag in (step.jdm, *(c.jdm for c in step.choices)) if tag}
    offered_principles = {tag for step in scenario.steps
                          for tag in (step.principle, *(c.principle for c in step.choices))
                          if tag}
    return ScenarioScore(
        points=points, best=best_points(scenario), result=result,
        stages_touched=tuple(s for s in JDM_STAGES if s in stages),
        stages_missed=tuple(s for s in JDM_STAGES if s in offered_stages - stages),
        principles_touched=tuple(p for p in PRINCIPLES if p in principles),
        principles_missed=tuple(p for p in PRINCIPLES if p in offered_principles - principles),
    )


# --- METHANE messages -------------------------------------------------------------------

# Words that carry no meaning of their own in a METHANE line.
FILLER_WORDS = frozenset({
    "a", "an", "the", "of", "and", "or", "to", "on", "in", "at", "by", "for", "from", "with",
    "is", "are", "was", "were", "be", "been", "yet", "as", "it", "its", "this", "that",
    "there", "their", "any", "some",
})
NEGATIONS = frozenset({"no", "not", "none", "nil", "zero"})
NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                "seven": "7", "eight": "8", "nine": "9", "ten": "10", "single": "1"}
# A field is covered when it holds about a third of the model's key words: messages are
# meant to be short, so a brief but right answer must count.
COVERED_SHARE = 1 / 3
MOST_WORDS_NEEDED = 3


def key_words(text: str) -> set[str]:
    """Lower-case words without punctuation or filler, singular, negations made one word:
    case, punctuation and word order do not matter."""
    words = set()
    for word in re.findall(r"[a-z0-9]+", (text or "").lower()):
        if word in FILLER_WORDS:
            continue
        if word in NEGATIONS:
            word = "not"
        elif word in NUMBER_WORDS:
            word = NUMBER_WORDS[word]
        elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    return words


@dataclass(frozen=True, slots=True)
class MethaneFieldResult:
    letter: str
    label: str
    model: str
    written: str
    covered: bool


def compare_methane(model_lines: Sequence[str], written: Sequence[str]) -> list[MethaneFieldResult]:
    """Each field covered when the learner's text holds about a third of the model's key
    words (at least one, at most three needed), in any order and any case."""
    results = []
    for index, (letter, label) in enumerate(METHANE_FIELDS):
        model = model_lines[index] if index < len(model_lines) else ""
        text = written[index] if index < len(written) else ""
        wanted, given = key_words(model), key_words(text)
        needed = min(MOST_WORDS_NEEDED, max(1, round(len(wanted) * COVERED_SHARE)))
        covered = bool(given) and len(wanted & given) >= needed
        results.append(MethaneFieldResult(letter, label, model, text, covered))
    return results
