"""A `.quiz.md` page -> Quiz.

Each `##` heading is a question. Under it: the stem (any Markdown), then the answers
(a task list for choice questions, a numbered list written in the right order for
ordering questions), then optionally a block quote, the explanation. The heading may
carry `{#id}` and `{tags=...}`: labels such as `application` that reports count by.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from jesip_learn.content.blocks import (
    Block,
    Line,
    ListItem,
    Section,
    parse_attributes,
    quoted_lines,
    scan_blocks,
    split_sections,
)
from jesip_learn.content.front_matter_values import (
    read_choice,
    read_percent,
    read_text,
    read_whole_number,
)
from jesip_learn.content.model import SHOW_ANSWERS, Option, Question, Quiz
from jesip_learn.content.page import Page, PieceRenderer, heading_id, trim_blank_lines
from jesip_learn.content.problem_log import FileProblems
from jesip_learn.content.validate import check_question, check_quiz_has_questions

TASK_BOX = re.compile(r"^\[([ xX])\](?:[ \t]+(.*))?$")
# A tag is a short lower-case word, so that reports can count questions by tag however
# the trainer spaced or cased the list: `{tags=application}`, `{tags="application, methane"}`.
TAG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TAG_SEPARATOR = re.compile(r"[\s,]+")
# `show_answers: after-fail` says "after a failed attempt too", which is every attempt.
SHOW_ANSWERS_ALIASES = {"after-fail": "always"}


def build_quiz(page: Page, slug: str, position: int, renderer: PieceRenderer) -> Quiz:
    fm, problems = page.front_matter, page.problems
    title = read_text(fm, "title", problems, required=True)
    pass_mark = read_percent(fm, "pass_mark", problems)
    per_attempt = read_whole_number(
        fm,
        "questions_per_attempt",
        problems,
        minimum=1,
        meaning="a whole number, at least 1 (leave it out to use every question)",
    )
    max_attempts = read_whole_number(
        fm,
        "max_attempts",
        problems,
        minimum=1,
        meaning="a whole number, at least 1 (leave it out for no limit)",
    )
    show_answers = read_choice(
        fm, "show_answers", SHOW_ANSWERS, problems, default="after-pass",
        aliases=SHOW_ANSWERS_ALIASES,
    )
    intro, sections = split_sections(page.body)
    questions = _build_questions(sections, renderer, problems)
    check_quiz_has_questions(questions, page.header_line, problems)
    return Quiz(
        slug=slug,
        position=position,
        title=title or "",
        pass_mark=pass_mark if pass_mark is not None else 100,
        questions_per_attempt=per_attempt,
        max_attempts=max_attempts,
        intro_html=renderer.render(intro, problems),
        questions=tuple(questions),
        source=page.path,
        show_answers=show_answers,  # type: ignore[arg-type]
    )


def _build_questions(
    sections: Sequence[Section], renderer: PieceRenderer, problems: FileProblems
) -> list[Question]:
    questions: list[Question] = []
    ids: dict[str, int] = {}
    for number, section in enumerate(sections, start=1):
        question_id = _question_id(section, number, ids, problems)
        tags = _question_tags(section, problems)
        question = _build_question(section, question_id, tags, renderer, problems)
        check_question(question, problems)
        questions.append(question)
    return questions


def _question_id(
    section: Section, number: int, taken: dict[str, int], problems: FileProblems
) -> str:
    """The heading's `{#id}`, else its anchor; derived ids are made unique with -2, -3."""
    attributes = parse_attributes(section.attributes)
    others = [key for key, _ in attributes.pairs if key != "tags"]
    if attributes.classes or others or attributes.words:
        problems.add(
            section.heading.number,
            "a question heading only takes an id and tags, like "
            "{#first-question tags=application}",
        )
    if attributes.id:
        if attributes.id in taken:
            problems.add(
                section.heading.number,
                f"two questions have the id '{attributes.id}' (the other is "
                f"on line {taken[attributes.id]})",
            )
        taken.setdefault(attributes.id, section.heading.number)
        return attributes.id
    base = heading_id(section.title) or f"question-{number}"
    candidate, suffix = base, 1
    while candidate in taken:
        suffix += 1
        candidate = f"{base}-{suffix}"
    taken[candidate] = section.heading.number
    return candidate


def _question_tags(section: Section, problems: FileProblems) -> tuple[str, ...]:
    """The heading's `tags=` words, each once, in the order written."""
    tags: list[str] = []
    for key, value in parse_attributes(section.attributes).pairs:
        if key != "tags":
            continue
        for word in TAG_SEPARATOR.split(value.strip()):
            if not word:
                continue
            if not TAG.match(word):
                problems.add(
                    section.heading.number,
                    f"the tag '{word}' is not a tag: use lower-case letters, digits and "
                    "hyphens, like tags=application",
                )
            elif word not in tags:
                tags.append(word)
    return tuple(tags)


def _find_answers(blocks: Sequence[Block]) -> int | None:
    """The first task list, else the last numbered list, else None."""
    lists = [index for index, block in enumerate(blocks) if block.kind == "list"]
    for index in lists:
        if TASK_BOX.match(blocks[index].items[0].text):
            return index
    ordered = [index for index in lists if blocks[index].items[0].ordered]
    return ordered[-1] if ordered else None


def _build_question(
    section: Section,
    question_id: str,
    tags: tuple[str, ...],
    renderer: PieceRenderer,
    problems: FileProblems,
) -> Question:
    blocks = scan_blocks(section.body)
    answers_at = _find_answers(blocks)
    stem = blocks if answers_at is None else blocks[:answers_at]
    after = [] if answers_at is None else blocks[answers_at + 1 :]
    options: list[Option] = []
    kind = "single"
    if answers_at is not None:
        answers = blocks[answers_at]
        is_ordering = not TASK_BOX.match(answers.items[0].text)
        kind = "ordering" if is_ordering else "single"
        options = _build_options(answers.items, question_id, is_ordering, renderer, problems)
        if not is_ordering and sum(option.correct for option in options) > 1:
            kind = "multiple"
    return Question(
        id=question_id,
        kind=kind,  # type: ignore[arg-type]
        title=section.title,
        title_html=renderer.render_heading(section.heading, section.title, problems),
        stem_html=renderer.render(_lines_of(stem), problems),
        options=tuple(options),
        correct_order=tuple(option.id for option in options) if kind == "ordering" else (),
        explanation_html=renderer.render(_explanation_lines(after, problems), problems),
        line=section.heading.number,
        tags=tags,
    )


def _build_options(
    items: Sequence[ListItem],
    question_id: str,
    is_ordering: bool,
    renderer: PieceRenderer,
    problems: FileProblems,
) -> list[Option]:
    options: list[Option] = []
    seen: dict[str, int] = {}
    for item in items:
        if is_ordering:
            text, correct = item.text, False
        else:
            box = TASK_BOX.match(item.text)
            if not box:
                problems.add(
                    item.line.number,
                    "this answer has no box: write - [x] for a right answer or - "
                    "[ ] for a wrong one",
                )
                continue
            text, correct = box.group(2) or "", box.group(1) in "xX"
        lines = [Line(item.line.number, text), *item.more]
        source = "\n".join(line.text for line in trim_blank_lines(lines))
        # Empty and repeated answers are reported but kept, so that one mistake
        # does not also trip "needs at least two answers".
        if not source:
            problems.add(item.line.number, "this answer is empty")
        elif source in seen:
            problems.add(item.line.number, f"this answer repeats the one on line {seen[source]}")
        seen.setdefault(source, item.line.number)
        html = renderer.render(lines, problems, inline=True)
        option_id = _option_id(question_id, source, taken=[option.id for option in options])
        options.append(Option(option_id, html, correct, item.line.number))
    return options


def _option_id(question_id: str, source: str, taken: Sequence[str]) -> str:
    # A hash rather than a position: an id sent to the browser must not give away
    # which answer is right or the right order.
    option_id = "o" + hashlib.sha256(f"{question_id}\n{source}".encode()).hexdigest()[:12]
    suffix = 1
    while option_id in taken:
        suffix += 1
        option_id = (
            "o" + hashlib.sha256(f"{question_id}\n{source}\n{suffix}".encode()).hexdigest()[:12]
        )
    return option_id


def _lines_of(blocks: Sequence[Block]) -> list[Line]:
    return [line for block in blocks for line in block.lines]


def _explanation_lines(after: Sequence[Block], problems: FileProblems) -> list[Line]:
    """The block quote after the answers: the explanation."""
    return quoted_lines(after, problems,
                        "only a block quote (> ...) may follow the answers: it is the explanation")
