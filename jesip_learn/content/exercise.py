"""A `.exercise.md` page -> ExerciseScript (content-format.md, "A live exercise").

The front matter names the roles and talk groups. Each `##` heading is an event,
`{#id .methane|.decision|.end at=MM:SS|manual to=... from=... within=... roles=...
jdm=... principle=...}` at its end. In an event, list items ending in `{.fact #id
needs=... within=... principle=...}` are its key facts, and in a `.decision` event
those ending in `{.option score=N}` (each with an indented block quote, the feedback)
are its options; in a `.methane` event the `M:` ... `E:` list is the model answer.
Facts, options and the model answer are taken out of the event's text: participants
get facts one by one, and never see scores, feedback or the model answer.

The reading of tags, feedback quotes and the model answer is the scenarios' own
(scenario.py); the rules that need the whole script (ids that must exist or differ,
times against the end) are in exercise_checks.py.

Decisions where content-format.md is silent:
- Times are minutes and seconds, `MM:SS`, minutes from 0 to 9999 (`90:00` is an hour
  and a half); `within=` must be longer than `00:00`.
- Ids of roles, talk groups, events and facts may hold ASCII letters, digits, "-" and
  "_", because they are written in lists such as `to=police-control,inter-control`.
  An event or fact without `#id` gets the anchor id of its text, as steps do.
- `to=`, `needs=` and `roles=` take comma-separated ids; `needs=`, `roles=` and
  `from=` name roles only, `to=` roles or talk groups. Role and talk group ids share
  one namespace, so a `to=` entry is never ambiguous.
- An event other than `.end` needs `to=`, except a `.decision`, which reaches the
  roles it asks. A `.methane` event needs `from=`, `to=` and `within=` (one role in
  `from=`). An `.end` event needs a clock time and reaches everyone: no `to=`, facts
  or options. A talk group holds at least two roles.
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
from jesip_learn.content.exercise_checks import check_exercise, clock, shown_list
from jesip_learn.content.front_matter_values import (
    control_character_problem,
    read_text,
    read_whole_number,
)
from jesip_learn.content.frontmatter import FrontMatter
from jesip_learn.content.model import (
    EXERCISE_LEVELS,
    SERVICES,
    DecisionOption,
    ExerciseEvent,
    ExerciseRole,
    ExerciseScript,
    Fact,
    TalkGroup,
)
from jesip_learn.content.page import Page, PieceRenderer, heading_id
from jesip_learn.content.problem_log import FileProblems
from jesip_learn.content.scenario import build_model_answer, read_score, read_tags

EVENT_CLASSES = ("methane", "decision", "end")
EVENT_KEYS = ("at", "to", "from", "within", "roles", "jdm", "principle")
FACT_KEYS = ("needs", "within", "principle")
OPTION_KEYS = ("score",)
ROLE_KEYS = ("id", "title", "service", "level")
TALK_GROUP_KEYS = ("id", "title", "roles")
MANUAL = "manual"
CLOCK = re.compile(r"(\d{1,4}):([0-5]\d)")
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

__all__ = [
    "build_exercise", "clock", "read_clock", "read_duration", "read_ids", "split_attribute_list"
]


def build_exercise(page: Page, slug: str, position: int, renderer: PieceRenderer) -> ExerciseScript:
    fm, problems = page.front_matter, page.problems
    title = read_text(fm, "title", problems, required=True)
    minutes = read_whole_number(
        fm, "minutes", problems, minimum=1, meaning="a whole number of minutes, at least 1"
    )
    roles = _read_roles(fm, problems)
    talk_groups = _read_talk_groups(fm, roles, problems)
    briefing, sections = split_sections(page.body)
    script = ExerciseScript(
        slug=slug,
        position=position,
        title=title or "",
        minutes=minutes,
        roles=roles,
        talk_groups=talk_groups,
        briefing_html=renderer.render(briefing, problems),
        events=tuple(_build_event(section, renderer, problems) for section in sections),
        source=page.path,
    )
    if fm is not None:  # with no readable front matter, roles can't be judged
        check_exercise(script, fm.line_of("roles"), page.header_line, problems)
    return script


# Roles and talk groups (front matter) ----------------------------------------------


def _entries(fm: FrontMatter, key: str, what: str, problems: FileProblems) -> list:
    """The list under `key`, or [] (reported when it is not a list)."""
    if fm.get(key) is None:
        return []
    value = fm.get(key)
    if not isinstance(value, list):
        problems.add(fm.line_of(key), f"{key} must be a list: {what}")
        return []
    return value


def _entry_text(
    fm: FrontMatter, path: tuple, entry: dict, key: str, noun: str, problems: FileProblems
) -> str | None:
    """A required one-line text of a role or talk group (`path` is the entry's)."""
    value = entry.get(key)
    line = fm.line_of(*path, key)
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.add(line, f"this {noun} has no {key}: add '{key}: ...'")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or "\n" in str(value):
        problems.add(line, f"the {noun}'s {key} must be one line of text")
        return None
    refused = control_character_problem(f"the {noun}'s {key}", str(value))
    if refused:
        problems.add(line, refused)
        return None
    return str(value).strip()


def _entry_id(fm: FrontMatter, path: tuple, entry: dict, noun: str, problems: FileProblems):
    identifier = _entry_text(fm, path, entry, "id", noun, problems)
    if identifier is not None and not ID.fullmatch(identifier):
        problems.add(fm.line_of(*path, "id"), _bad_id(identifier, noun))
        return None
    return identifier


def _bad_id(identifier: str, noun: str) -> str:
    article = "an" if noun[0] in "aeiou" else "a"
    return (
        f"'{identifier[:60]}' can't be the id of {article} {noun}: use letters, digits, '-' "
        "and '_', starting with a letter or digit, e.g. police-control"
    )


def _mapping(fm: FrontMatter, path: tuple, entry: object, keys: Sequence[str], noun: str,
             problems: FileProblems) -> dict | None:
    """A role or talk group as a mapping of known keys; None (reported) otherwise."""
    if not isinstance(entry, dict):
        problems.add(
            fm.line_of(*path),
            f"each {noun} needs {', '.join(keys[:-1])} and {keys[-1]}: start it with "
            f"'- {keys[0]}: ...' and indent the other keys under it",
        )
        return None
    for key in entry:
        if key not in keys:
            problems.add(
                fm.line_of(*path, key),
                f"unknown key '{key}' in a {noun}: use {', '.join(keys[:-1])} and {keys[-1]}",
            )
    return entry


def _read_roles(fm: FrontMatter | None, problems: FileProblems) -> tuple[ExerciseRole, ...]:
    if fm is None:
        return ()
    roles: list[ExerciseRole] = []
    for index, raw in enumerate(_entries(fm, "roles", "one '- id: ...' entry per role", problems)):
        path = ("roles", index)
        entry = _mapping(fm, path, raw, ROLE_KEYS, "role", problems)
        if entry is None:
            continue
        identifier = _entry_id(fm, path, entry, "role", problems)
        title = _entry_text(fm, path, entry, "title", "role", problems)
        service = _entry_word(fm, path, entry, "service", SERVICES, problems)
        level = _entry_word(fm, path, entry, "level", EXERCISE_LEVELS, problems)
        if identifier is not None:
            roles.append(ExerciseRole(identifier, title or "", service or "", level or "",
                                      fm.line_of(*path)))
    return tuple(roles)


def _entry_word(fm: FrontMatter, path: tuple, entry: dict, key: str, allowed: Sequence[str],
                problems: FileProblems) -> str | None:
    value = _entry_text(fm, path, entry, key, "role", problems)
    if value is None:
        return None
    if value not in allowed:
        problems.add(
            fm.line_of(*path, key), f"unknown {key} '{value[:60]}': use {shown_list(allowed, 'or')}"
        )
        return None
    return value


def _read_talk_groups(
    fm: FrontMatter | None, roles: Sequence[ExerciseRole], problems: FileProblems
) -> tuple[TalkGroup, ...]:
    if fm is None:
        return ()
    role_ids = [role.id for role in roles]
    groups: list[TalkGroup] = []
    entries = _entries(fm, "talk_groups", "one '- id: ...' entry per talk group", problems)
    for index, raw in enumerate(entries):
        path = ("talk_groups", index)
        entry = _mapping(fm, path, raw, TALK_GROUP_KEYS, "talk group", problems)
        if entry is None:
            continue
        identifier = _entry_id(fm, path, entry, "talk group", problems)
        title = _entry_text(fm, path, entry, "title", "talk group", problems)
        members = _group_members(fm, path, entry, identifier, role_ids, problems)
        if identifier is not None:
            groups.append(TalkGroup(identifier, title or "", members, fm.line_of(*path)))
    return tuple(groups)


def _group_members(fm: FrontMatter, path: tuple, entry: dict, identifier: str | None,
                   role_ids: Sequence[str], problems: FileProblems) -> tuple[str, ...]:
    value = entry.get("roles")
    line = fm.line_of(*path, "roles")
    if value is None:
        problems.add(line, "this talk group has no roles: add 'roles: [police-control, ...]'")
        return ()
    if not isinstance(value, list):
        problems.add(line, "a talk group's roles must be a list, e.g. [police-control, "
                     "fire-control]")
        return ()
    members: list[str] = []
    name = f"talk group '{identifier}'" if identifier else "this talk group"
    for index, member in enumerate(value):
        member_line = fm.line_of(*path, "roles", index)
        text = str(member) if isinstance(member, str | int) and not isinstance(member, bool) else ""
        if text not in role_ids:
            shown = text[:60] if text else repr(member)[:60]
            problems.add(member_line, f"unknown role '{shown}' in {name}: {_the_roles(role_ids)}")
        elif text in members:
            problems.add(member_line, f"{name} names '{text}' twice")
        else:
            members.append(text)
    if len(value) < 2:
        problems.add(line, "a talk group needs at least two roles: those who hear what is "
                     "sent to it")
    return tuple(members)


def _the_roles(role_ids: Sequence[str]) -> str:
    unique = list(dict.fromkeys(role_ids))
    return f"the roles are {', '.join(unique)}" if unique else "the exercise has no roles"


# Events --------------------------------------------------------------------------


def _build_event(
    section: Section, renderer: PieceRenderer, problems: FileProblems
) -> ExerciseEvent:
    line = section.heading.number
    tags = read_tags(section.attributes, line, EVENT_KEYS, EVENT_CLASSES, problems)
    kind = _event_kind(tags.classes, line, problems)
    values = tags.values
    _check_keys_fit(kind, values, line, problems)
    if not section.title:
        problems.add(line, "this event has no title: write it after the ##")
    identifier = tags.id or heading_id(section.title)
    if tags.id is not None and not ID.fullmatch(tags.id):
        problems.add(line, _bad_id(tags.id, "event"))
    elif section.title and not identifier:
        problems.add(line, "this event needs an #id: its title gives none, e.g. {#first-call ...}")
    blocks = scan_blocks(section.body)
    facts, options, used = _tagged_items(blocks, kind, renderer, problems)
    model_answer, answer_lines = None, set()
    if kind == "methane":
        model_answer, answer_lines = build_model_answer(
            blocks, used, line, renderer, problems, noun="event"
        )
    body = [each for each in section.body if each.number not in used | answer_lines]
    return ExerciseEvent(
        id=identifier,
        title=section.title,
        title_html=renderer.render_heading(section.heading, section.title, problems),
        html=renderer.render(body, problems),
        kind=kind,  # type: ignore[arg-type]
        at=_read_at(values.get("at"), kind, line, problems),
        to=read_ids(values.get("to"), "to", line, problems),
        facts=tuple(facts),
        from_role=_read_from(values.get("from"), line, problems),
        within=read_duration(values.get("within"), line, problems),
        model_answer=model_answer,
        roles=read_ids(values.get("roles"), "roles", line, problems),
        jdm=values.get("jdm"),
        principle=values.get("principle"),
        options=tuple(options),
        line=line,
    )


def _event_kind(classes: Sequence[str], line: int, problems: FileProblems) -> str:
    if len(classes) > 1:
        both = " and ".join(f".{name}" for name in classes)
        problems.add(line, f"an event is one of .methane, .decision or .end, not {both}")
    return classes[0] if classes else "normal"


def _check_keys_fit(kind: str, values: dict[str, str], line: int, problems: FileProblems) -> None:
    """Each kind of event takes its own attributes; the ones it needs must be there."""
    if "at" not in values:
        problems.add(line, "this event has no at=: write when it happens after the clock "
                     "starts (at=05:00), or at=manual for the facilitator to release it")
    if kind == "end":
        extra = [key for key in values if key != "at"]
        if extra:
            problems.add(line, f"an .end event takes only at= (it reaches everyone), not "
                         f"{', '.join(f'{key}=' for key in extra)}")
        return
    if kind != "methane":
        if "from" in values:
            problems.add(line, "from= only goes on a .methane event: the role that should send "
                         "the M/ETHANE message")
        if "within" in values:
            problems.add(line, "within= on a heading only goes on a .methane event; to say how "
                         "soon a fact should arrive, put within= on the fact")
    if kind != "decision" and "roles" in values:
        problems.add(line, "roles= only goes on a .decision event: the roles that decide together")
    if kind == "decision":
        if "roles" not in values:
            problems.add(line, "a .decision event needs roles=: the roles that decide "
                         "together, e.g. roles=police-control,fire-control")
        return
    if "to" not in values:
        problems.add(line, "this event has no to=: list the roles or talk groups it "
                     "reaches, e.g. to=police-control")
    if kind == "methane":
        for key, meaning in (("from", "the role that should send the M/ETHANE message"),
                             ("within", "how soon after at= it should be sent, e.g. within=05:00")):
            if key not in values:
                problems.add(line, f"a .methane event needs {key}=: {meaning}")


def _read_at(value: str | None, kind: str, line: int, problems: FileProblems) -> int | None:
    if value is None:
        return None  # reported with the other missing attributes
    if value == MANUAL:
        if kind == "end":
            problems.add(line, "an .end event needs a clock time, e.g. at=40:00 (the "
                         "facilitator can also end the exercise at any time)")
        return None
    return read_clock(value, "at", line, problems, manual=True)


def read_clock(value: str, key: str, line: int, problems: FileProblems, *, manual: bool = False
               ) -> int | None:
    """`MM:SS` as seconds; None (reported) when it does not parse."""
    match = CLOCK.fullmatch(value.strip())
    if match is None:
        also = ", or at=manual for the facilitator to release it" if manual else ""
        problems.add(line, f"{key}={value[:20]} is not a time: write minutes and seconds "
                     f"after the clock starts, e.g. {key}=05:30{also}")
        return None
    return int(match.group(1)) * 60 + int(match.group(2))


def read_duration(value: str | None, line: int, problems: FileProblems) -> int | None:
    """A `within=MM:SS` as seconds, longer than nothing."""
    if value is None:
        return None
    seconds = read_clock(value, "within", line, problems)
    if seconds == 0:
        problems.add(line, "within=00:00 leaves no time at all: give minutes and seconds, "
                     "e.g. within=03:00")
        return None
    return seconds


def read_ids(value: str | None, key: str, line: int, problems: FileProblems) -> tuple[str, ...]:
    """A comma-separated list of ids, each written once."""
    if value is None:
        return ()
    ids: list[str] = []
    for part in value.split(","):
        identifier = part.strip()
        if not identifier:
            problems.add(line, f"{key}= has an empty entry: separate ids with single commas, "
                         f"e.g. {key}=police-control,fire-control")
        elif identifier in ids:
            problems.add(line, f"{key}= names '{identifier}' twice")
        else:
            ids.append(identifier)
    return tuple(ids)


def _read_from(value: str | None, line: int, problems: FileProblems) -> str | None:
    ids = read_ids(value, "from", line, problems)
    if len(ids) > 1:
        problems.add(line, "from= names one role: the one that should send the M/ETHANE message")
    return ids[0] if ids else None


# Facts and options ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tagged:
    """A list item whose text ends in `{...}`: the text's lines, the attribute text,
    and the lines under it (for an option, its feedback)."""

    item: ListItem
    text: list[Line]
    attributes: str
    rest: list[Line]


def _tagged(item: ListItem) -> _Tagged | None:
    """The item's first paragraph, up to the first of its lines that ends in an attribute
    list with a class, an #id or a key=value; None for ordinary list items."""
    lines = [Line(item.line.number, item.text), *item.more]
    for index, line in enumerate(lines):
        if not line.text.strip() or line.text.lstrip().startswith(">"):
            return None  # the first paragraph ended untagged
        split = split_attribute_list(line.text)
        if split is None:
            continue
        attributes = parse_attributes(split[1])
        if attributes.classes or attributes.id or attributes.pairs:
            text = [*lines[:index], Line(line.number, split[0])]
            return _Tagged(item, text, split[1], lines[index + 1 :])
    return None


def split_attribute_list(text: str) -> tuple[str, str] | None:
    """`text {attributes}` -> (text, attributes) when the line ends in a `{...}` holding no
    other braces; None otherwise. Found from the end of the line, in linear time (a regular
    expression here backtracks quadratically on a long line of spaces)."""
    stripped = text.rstrip(" \t")
    start = stripped.rfind("{")
    if not stripped.endswith("}") or start < 0 or "}" in stripped[start + 1 : -1]:
        return None
    return stripped[:start].rstrip(" \t"), stripped[start + 1 : -1].removeprefix(":")


def _tagged_items(
    blocks: Sequence[Block], kind: str, renderer: PieceRenderer, problems: FileProblems
) -> tuple[list[Fact], list[DecisionOption], set[int]]:
    """The event's facts and options, and the lines they take up."""
    facts: list[Fact] = []
    options: list[DecisionOption] = []
    used: set[int] = set()
    for block in blocks:
        for item in block.items:
            tagged = _tagged(item)
            if tagged is None:
                continue
            used.update(line.number for line in item.lines)
            classes = parse_attributes(tagged.attributes).classes
            line = item.line.number
            if "option" in classes and "fact" not in classes:
                if kind != "decision":
                    problems.add(line, "options go in a .decision event: add .decision to the "
                                 "event's heading, or make this item a .fact")
                options.append(_build_option(tagged, str(len(options) + 1), renderer, problems))
            elif "fact" in classes:
                if kind == "end":
                    problems.add(line, "an .end event carries no facts: put this fact in an "
                                 "earlier event")
                facts.append(_build_fact(tagged, renderer, problems))
            else:
                problems.add(line, "a list item ending in {...} must be a key fact "
                             "{.fact #id needs=...} or, in a .decision event, an option "
                             "{.option score=N}")
    return facts, options, used


def _build_fact(tagged: _Tagged, renderer: PieceRenderer, problems: FileProblems) -> Fact:
    line = tagged.item.line.number
    tags = read_tags(tagged.attributes, line, FACT_KEYS, ("fact",), problems)
    text = "\n".join(each.text for each in tagged.text).strip()
    if not text:
        problems.add(line, "this fact has no text: write the fact before its {.fact ...}")
    if tags.id is not None and not ID.fullmatch(tags.id):
        problems.add(line, _bad_id(tags.id, "fact"))
    elif text and not tags.id and not heading_id(text):
        problems.add(line, "this fact needs an #id: its text gives none, e.g. {.fact #gunfire ...}")
    if any(each.text.strip() for each in tagged.rest):
        problems.add(tagged.rest[0].number, "nothing goes under a fact: write more about it in "
                     "the event's text")
    needs = read_ids(tags.values.get("needs"), "needs", line, problems)
    within = read_duration(tags.values.get("within"), line, problems)
    if within is not None and not needs:
        problems.add(line, "within= says how soon the roles in needs= should know the fact: "
                     "add needs=")
    return Fact(
        id=tags.id or heading_id(text),
        text=text,
        html=renderer.render(tagged.text, problems, inline=True),
        needs=needs,
        within=within,
        principle=tags.values.get("principle"),
        line=line,
    )


def _build_option(
    tagged: _Tagged, option_id: str, renderer: PieceRenderer, problems: FileProblems
) -> DecisionOption:
    line = tagged.item.line.number
    tags = read_tags(tagged.attributes, line, OPTION_KEYS, ("option",), problems)
    if tags.id:
        problems.add(line, "an option can't have an #id: write {.option score=2}")
    if "score" not in tags.values:
        problems.add(line, "this option has no score=: write {.option score=2} (points "
                     "shown in the debrief)")
    if not any(each.text.strip() for each in tagged.text):
        problems.add(line, "this option has no text: write it before its {.option ...}")
    feedback = quoted_lines(
        scan_blocks(tagged.rest), problems,
        "under an option only an indented block quote (the feedback) may follow",
    )
    return DecisionOption(
        id=option_id,
        html=renderer.render(tagged.text, problems, inline=True),
        score=read_score(tags.values.get("score"), line, problems),
        feedback_html=renderer.render(feedback, problems),
        line=line,
    )
