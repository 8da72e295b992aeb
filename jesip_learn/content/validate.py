"""The rules a course must follow: those on quizzes and on the course as a whole, and the
decisions where content-format.md is silent.

The parser builds the course and calls the rules as it goes, so every problem is
found in one pass and reported at once (problem_log.py), each at the line of the offending
heading, key, link or list item. Rules that need the whole of something (a scenario's paths,
the set of slugs) run on the built model objects, which carry their line numbers. The rules
live by what they check: front_matter_values.py (each front matter key), reference_checks.py
(images and links), scenario_checks.py (tags and paths), exercise_checks.py (a live
exercise's script), and this module (a quiz's questions; the course's pages and slugs).

Decisions where content-format.md is silent:
- `questions_per_attempt` larger than the bank is allowed (the page's own example asks
  for 5 from 3): an attempt draws every question (Quiz.questions_drawn).
- `pass_mark` is required in a quiz (the format gives defaults for the other two keys
  but none for it); "80%" is read as 80.
- Unknown front matter keys are allowed (the format says so), but unknown `{...}`
  attributes on steps, choices and questions are reported: a typo such as `scroe=2`
  would otherwise silently score 0.
- A step without `{#id}` gets the id its heading would have as an anchor
  ("Everyone safe" -> "everyone-safe").
- Two pages may share a number (they are ordered by number, then file name, as a file
  manager shows them), but never a slug: progress is recorded against it.
"""

from __future__ import annotations

from collections.abc import Sequence

from jesip_learn.content.files import COURSE_PAGE
from jesip_learn.content.model import Item, Question
from jesip_learn.content.problem_log import FileProblems, ProblemLog

# Quizzes -------------------------------------------------------------------------


def check_question(question: Question, problems: FileProblems) -> None:
    """A question needs answers; choice questions need two or more and at least one
    right; ordering questions need two or more items."""
    line = question.line
    if not question.options:
        problems.add(
            line,
            "question has no answers: add a task list (- [x] right, - [ "
            "] wrong) or a numbered list to put in order",
        )
    elif question.kind == "ordering":
        if len(question.options) < 2:
            problems.add(line, "an ordering question needs at least two items")
    elif len(question.options) < 2:
        problems.add(line, "a choice question needs at least two answers")
    elif not question.correct_option_ids:
        problems.add(line, "question has no correct answer: mark the right answer(s) with [x]")


def check_quiz_has_questions(
    questions: Sequence[Question], line: int, problems: FileProblems
) -> None:
    if not questions:
        problems.add(line, "the quiz has no questions: each '## heading' starts one")


# Courses -------------------------------------------------------------------------


def check_unique_slugs(items: Sequence[Item], log: ProblemLog) -> None:
    seen: dict[str, Item] = {}
    for item in items:
        key = item.slug.lower()
        if key in seen:
            other = seen[key].source
            log.add(
                item.source,
                1,
                f"another page has the slug '{item.slug}' ({other}): each page needs its own name",
            )
        else:
            seen[key] = item


def check_course_has_items(items: Sequence[Item], log: ProblemLog) -> None:
    if not items:
        log.add(
            COURSE_PAGE,
            1,
            "the course has no pages: add modules, quizzes or scenarios such as 01-introduction.md",
        )
