"""A `.scenario.md` page -> Scenario.

Each `##` heading is a step, `{#id .end .methane result=... jdm=... principle=...}`
at its end. A step's choices are the list items that hold nothing but a link to
`#step-id` (with optional `{score=N jdm=... principle=...}`), each with an optional
indented block quote under it: the feedback. In a `.methane` step, the list of
`M:`, `E:`, `T:`, `H:`, `A:`, `N:`, `E:` lines is the model answer; it is taken out
of the step's text, because the learner must not see it before writing their own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

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
from jesip_learn.content.front_matter_values import read_one_line, read_text
from jesip_learn.content.model import (
    METHANE_FIELDS,
    Choice,
    MethaneLine,
    MethaneModelAnswer,
    Scenario,
    Step,
)
from jesip_learn.content.page import Page, PieceRenderer, heading_id, trim_blank_lines
from jesip_learn.content.problem_log import FileProblems
from jesip_learn.content.scenario_checks import check_scenario, read_tag

CHOICE_LINK = re.compile(
    r"^\[(?P<label>.*)\]\(\s*#(?P<target>[^\s)]*)\s*\)(?:[ ]*\{:?(?P<attributes>[^}]*)\})?[ \t]*$"
)
METHANE_ITEM = re.compile(r"^([A-Za-z])[ \t]*:[ \t]*(.*)$")
INTEGER = re.compile(r"[+-]?\d{1,9}")
STEP_CLASSES = ("end", "methane")
STEP_KEYS = ("result", "jdm", "principle")
CHOICE_KEYS = ("score", "jdm", "principle")
RESULTS = ("pass", "fail")
METHANE_LETTERS = "".join(letter for letter, _ in METHANE_FIELDS)


def build_scenario(page: Page, slug: str, position: int, renderer: PieceRenderer) -> Scenario:
    fm, problems = page.front_matter, page.problems
    title = read_text(fm, "title", problems, required=True)
    start = read_one_line(fm, "start", problems) or ""
    intro, sections = split_sections(page.body)
    scenario = Scenario(
        slug=slug,
        position=position,
        title=title or "",
        start=start,
        intro_html=renderer.render(intro, problems),
        steps=tuple(_build_step(section, renderer, problems) for section in sections),
        source=page.path,
    )
    if fm is not None:  # with no readable front matter, `start` can't be judged
        check_scenario(scenario, fm.line_of("start"), page.header_line, problems)
    return scenario


@dataclass(frozen=True, slots=True)
class Tags:
    """What the `{...}` of a heading or choice said, once checked."""

    id: str | None
    classes: tuple[str, ...]
    values: dict[str, str]


def read_tags(
    text: str | None, line: int, keys: Sequence[str], classes: Sequence[str], problems: FileProblems
) -> Tags:
    attributes = parse_attributes(text)
    for name in attributes.classes:
        if name not in classes:
            known = " or ".join(f".{each}" for each in classes) or "no classes"
            problems.add(line, f"unknown class .{name}: use {known}")
    values: dict[str, str] = {}
    for key, value in attributes.pairs:
        if key not in keys:
            problems.add(
                line, f"unknown attribute {key}=: use {', '.join(f'{each}=' for each in keys)}"
            )
        elif key in values:
            problems.add(line, f"{key}= is given twice")
        else:
            values[key] = value
    for word in attributes.words:
        problems.add(line, f"'{word}' is not an attribute: write key=value, #id or .class")
    tags = {key: value for key, value in values.items() if key not in ("jdm", "principle")}
    for key in ("jdm", "principle"):
        if key in values:
            checked = read_tag(key, values[key], line, problems)
            if checked is not None:
                tags[key] = checked
    return Tags(attributes.id, tuple(name for name in attributes.classes if name in classes), tags)


def _build_step(section: Section, renderer: PieceRenderer, problems: FileProblems) -> Step:
    line = section.heading.number
    tags = read_tags(section.attributes, line, STEP_KEYS, STEP_CLASSES, problems)
    kind = _step_kind(tags, line, problems)
    result = _step_result(kind, tags, line, problems)
    blocks = scan_blocks(section.body)
    choices, choice_lines = _build_choices(blocks, renderer, problems)
    model_answer, answer_lines = (None, set())
    if kind == "methane":
        model_answer, answer_lines = build_model_answer(
            blocks, choice_lines, line, renderer, problems
        )
    body = [each for each in section.body if each.number not in choice_lines | answer_lines]
    return Step(
        id=tags.id or heading_id(section.title),
        title=section.title,
        title_html=renderer.render_heading(section.heading, section.title, problems),
        html=renderer.render(body, problems),
        kind=kind,  # type: ignore[arg-type]
        result=result,  # type: ignore[arg-type]
        jdm=tags.values.get("jdm"),
        principle=tags.values.get("principle"),
        choices=tuple(choices),
        model_answer=model_answer,
        line=line,
    )


def _step_kind(tags: Tags, line: int, problems: FileProblems) -> str:
    if "end" in tags.classes and "methane" in tags.classes:
        problems.add(line, "a step can't be both .end and .methane")
    if "end" in tags.classes:
        return "end"
    return "methane" if "methane" in tags.classes else "normal"


def _step_result(kind: str, tags: Tags, line: int, problems: FileProblems) -> str | None:
    result = tags.values.get("result")
    if kind != "end":
        if result is not None:
            problems.add(
                line, "result= only goes on an ending: add .end, as in {#id .end result=pass}"
            )
        return None
    if result not in RESULTS:
        found = f", not result={result}" if result is not None else ""
        problems.add(line, f"an ending needs result=pass or result=fail{found}")
        return None
    return result


def _build_choices(
    blocks: Sequence[Block], renderer: PieceRenderer, problems: FileProblems
) -> tuple[list[Choice], set[int]]:
    """The step's choices, and the line numbers they take up (left out of its text)."""
    choices: list[Choice] = []
    used: set[int] = set()
    for block in blocks:
        for item in block.items:
            choice = _build_choice(item, str(len(choices) + 1), renderer, problems)
            if choice is not None:
                choices.append(choice)
                used.update(line.number for line in item.lines)
    return choices, used


def _is_choice(item: ListItem) -> re.Match[str] | None:
    """A list item holding nothing but a link to #step-id (and its attributes); the
    lines under it may only be a block quote, the feedback."""
    match = CHOICE_LINK.match(item.text.strip())
    if not match:
        return None
    following = item.more[0].text.strip() if item.more else ""
    if following and not following.startswith(">"):
        return None  # more text right under the link: an item that contains a link
    return match


def _build_choice(
    item: ListItem, choice_id: str, renderer: PieceRenderer, problems: FileProblems
) -> Choice | None:
    match = _is_choice(item)
    if match is None:
        return None
    line = item.line.number
    tags = read_tags(match.group("attributes"), line, CHOICE_KEYS, (), problems)
    if tags.id:
        problems.add(line, "a choice can't have an #id: write {score=2 jdm=... principle=...}")
    score = read_score(tags.values.get("score"), line, problems)
    return Choice(
        id=choice_id,
        target=match.group("target"),
        label_html=renderer.render([Line(line, match.group("label"))], problems, inline=True),
        score=score,
        jdm=tags.values.get("jdm"),
        principle=tags.values.get("principle"),
        feedback_html=renderer.render(_feedback_lines(item, problems), problems),
        line=line,
    )


def read_score(value: str | None, line: int, problems: FileProblems) -> int:
    if value is None:
        return 0
    if not INTEGER.fullmatch(value):
        problems.add(line, f"score must be a whole number, not '{value}'")
        return 0
    return int(value)


def _feedback_lines(item: ListItem, problems: FileProblems) -> list[Line]:
    """The indented block quote under a choice: its feedback."""
    return quoted_lines(scan_blocks(item.more), problems,
                        "under a choice only an indented block quote (the feedback) may follow")


def build_model_answer(
    blocks: Sequence[Block],
    choice_lines: set[int],
    heading_line: int,
    renderer: PieceRenderer,
    problems: FileProblems,
    noun: str = "step",
) -> tuple[MethaneModelAnswer | None, set[int]]:
    """The first list with `X: text` items: those items are the model answer. `noun`
    names what holds it in the message when there is none ("step", "event")."""
    for block in blocks:
        items = [
            (item, match)
            for item in block.items
            if item.line.number not in choice_lines
            and (match := METHANE_ITEM.match(item.text.strip()))
        ]
        if items:
            return _model_answer(items, renderer, problems), {
                line.number for item, _ in items for line in item.lines
            }
    problems.add(
        heading_line,
        f"a .methane {noun} needs its model answer: a list of the seven lines "
        "M: ..., E: ..., T: ..., H: ..., A: ..., N: ..., E: ...",
    )
    return None, set()


def _model_answer(
    items: Sequence[tuple[ListItem, re.Match[str]]], renderer: PieceRenderer, problems: FileProblems
) -> MethaneModelAnswer | None:
    first = items[0][0].line.number
    letters = "".join(match.group(1).upper() for _, match in items)
    if letters != METHANE_LETTERS:
        found = ", ".join(letters)
        problems.add(
            first,
            "the model answer must have the seven lines M, E, T, H, A, "
            f"N, E in that order (found {found})",
        )
        return None
    lines: list[MethaneLine] = []
    for (item, match), (letter, label) in zip(items, METHANE_FIELDS, strict=True):
        source = [Line(item.line.number, match.group(2)), *item.more]
        text = "\n".join(each.text for each in trim_blank_lines(source))
        if not text:
            problems.add(item.line.number, f"the model answer's {letter}: line is empty")
        lines.append(
            MethaneLine(letter, label, text, renderer.render(source, problems, inline=True))
        )
    return MethaneModelAnswer(tuple(lines), first)
