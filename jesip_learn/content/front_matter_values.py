"""Reading front matter values: each key's value checked and turned into what the model holds.

Owns the readers of text (`read_text`, refusing control characters through
`control_character_problem`), whole numbers, percentages, lists of texts, `required_for`
and one-of-a-few named values (`read_choice`). Each reports what is wrong at the key's line
and returns None (or a default) instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from jesip_learn.content.frontmatter import FrontMatter
from jesip_learn.content.model import ROLES, SERVICES, Requirement
from jesip_learn.content.problem_log import FileProblems

PERCENT_TEXT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%?\s*")

# Characters no title, code or summary may hold: C0 controls and DEL (a line break in a
# title would end an email's Subject header and start another header), C1 controls, the
# Unicode line and paragraph separators, and the bidirectional overrides, embeddings and
# isolates that can make text read differently from what it holds ("Trojan Source").
# Marks that only set a direction (U+200E, U+200F, U+061C) are ordinary in right-to-left
# text and allowed.
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def read_text(
    fm: FrontMatter | None,
    key: str,
    problems: FileProblems,
    *,
    required: bool = False,
    lines: bool = False,
) -> str | None:
    """A text value, on one line unless `lines` (which allows line breaks and tabs, as a
    summary may hold). A required key that is missing is reported at the opening `---`;
    numbers are accepted as text ("title: 2024"); control characters are refused
    (`control_character_problem`)."""
    if fm is None:
        return None  # the front matter itself is broken and already reported
    value = fm.get(key)
    if value is None:
        if required:
            where = fm.line_of(key)
            what = f"{key} is empty" if key in fm else f"missing {key}"
            problems.add(where, f"{what}: add '{key}: ...' to the front matter")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.add(fm.line_of(key), f"{key} must be text")
        return None
    text = str(value).strip()
    if not text and required:
        problems.add(fm.line_of(key), f"{key} is empty: add '{key}: ...' to the front matter")
        return None
    refused = control_character_problem(key, text, allowed="\n\t" if lines else "")
    if refused:
        problems.add(fm.line_of(key), refused)
        return None
    return text


def control_character_problem(name: str, text: str, *, allowed: str = "") -> str | None:
    """Why `text` (the value of `name`) can't be used, if it holds a control character
    (CONTROL_CHARACTER) other than those `allowed`; None when it holds none."""
    for match in CONTROL_CHARACTER.finditer(text):
        character = match.group()
        if character in allowed:
            continue
        if character in LINE_BREAKS:
            return f"{name} must be on one line: it holds a line break (U+{ord(character):04X})"
        kind = ("a text-direction control" if "\u202a" <= character <= "\u2069"
                else "a control character")
        return (f"{name} holds {kind} (U+{ord(character):04X}), which can't be shown as text: "
                "remove it")
    return None


def read_one_line(
    fm: FrontMatter | None, key: str, problems: FileProblems, *, required: bool = False
) -> str | None:
    return read_text(fm, key, problems, required=required)


def read_whole_number(
    fm: FrontMatter | None, key: str, problems: FileProblems, *, minimum: int, meaning: str
) -> int | None:
    """An optional whole number of at least `minimum`; `meaning` ends the message."""
    if fm is None or fm.get(key) is None:
        return None
    value = fm.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        problems.add(fm.line_of(key), f"{key} must be {meaning}, not {_shown(value)}")
        return None
    return value


def read_percent(fm: FrontMatter | None, key: str, problems: FileProblems) -> float | None:
    """A required number from 0 to 100; "80%" counts as 80."""
    if fm is None:
        return None
    value = fm.get(key)
    if value is None:
        problems.add(
            fm.line_of(key), f"missing {key}: add '{key}: 80' (the percent needed to pass)"
        )
        return None
    written_as_percent = PERCENT_TEXT.fullmatch(value) if isinstance(value, str) else None
    if written_as_percent:
        value = float(written_as_percent.group(1))
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        problems.add(fm.line_of(key), f"{key} must be a number from 0 to 100, not {_shown(value)}")
        return None
    return int(value) if float(value).is_integer() else float(value)


def read_text_list(fm: FrontMatter | None, key: str, problems: FileProblems) -> tuple[str, ...]:
    """A list of short texts, each on one line; a single text is a list of one."""
    if fm is None or fm.get(key) is None:
        return ()
    value = fm.get(key)
    if isinstance(value, str):
        value = [value]
    elif not isinstance(value, list):
        problems.add(fm.line_of(key), f"{key} must be a list of '- ...' lines")
        return ()
    texts: list[str] = []
    for index, entry in enumerate(value):
        if isinstance(entry, bool) or not isinstance(entry, str | int | float):
            problems.add(fm.line_of(key, index), f"each of the {key} must be a line of text")
            continue
        refused = control_character_problem(f"each of the {key}", str(entry).strip())
        if refused:
            problems.add(fm.line_of(key, index), refused)
            continue
        texts.append(str(entry).strip())
    return tuple(texts)


def read_requirement(fm: FrontMatter | None, problems: FileProblems) -> Requirement:
    """`required_for`, with `all` expanded to every service or role."""
    if fm is None or fm.get("required_for") is None:
        return Requirement()
    value = fm.get("required_for")
    if not isinstance(value, dict):
        problems.add(
            fm.line_of("required_for"), "required_for must hold 'services:' and 'roles:' lists"
        )
        return Requirement()
    for key in value:
        if key not in ("services", "roles"):
            problems.add(
                fm.line_of("required_for", key),
                f"unknown key '{key}' in required_for: use services and roles",
            )
    services = _read_vocabulary(fm, "services", SERVICES, "service", problems)
    roles = _read_vocabulary(fm, "roles", ROLES, "role", problems)
    if services is None or roles is None:
        return Requirement()
    if bool(services) != bool(roles):
        missing = "roles" if services else "services"
        problems.add(
            fm.line_of("required_for"),
            f"required_for has no {missing}: a learner is required to hold the course only when "
            "both their service and their role are listed",
        )
    return Requirement(services, roles)


def _read_vocabulary(
    fm: FrontMatter, key: str, allowed: tuple[str, ...], noun: str, problems: FileProblems
) -> tuple[str, ...] | None:
    value = fm.get("required_for").get(key)  # type: ignore[union-attr]
    if value is None:
        return ()
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, list):
        problems.add(fm.line_of("required_for", key), f"required_for {key} must be a list")
        return None
    chosen: set[str] = set()
    valid = True
    for index, entry in enumerate(entries):
        name = entry.strip().lower() if isinstance(entry, str) else entry
        if name == "all":
            chosen.update(allowed)
        elif name in allowed:
            chosen.add(name)
        else:
            choices = ", ".join(allowed)
            problems.add(
                fm.line_of("required_for", key, index),
                f"unknown {noun} {_shown(entry)}: use {choices} or all",
            )
            valid = False
    return tuple(name for name in allowed if name in chosen) if valid else None


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = CONTROL_CHARACTER.sub(lambda match: f"\\u{ord(match.group()):04x}", text[:60])
    return f"'{text}'"


def read_choice(
    fm: FrontMatter | None,
    key: str,
    allowed: Sequence[str],
    problems: FileProblems,
    *,
    default: str,
    aliases: dict[str, str] | None = None,
) -> str:
    """One of `allowed` (case and surrounding spaces ignored), or `default` when the key
    is absent; `aliases` are other spellings accepted for an allowed value. Anything else
    is reported with the values allowed, and `default` is used."""
    aliases = aliases or {}
    if fm is None or fm.get(key) is None:
        return default
    value = fm.get(key)
    name = value.strip().lower() if isinstance(value, str) else None
    if name in allowed:
        return name
    if name in aliases:
        return aliases[name]
    spelled = [*allowed, *(f"{alias} (the same as {meant})" for alias, meant in aliases.items())]
    listed = ", ".join(spelled[:-1]) + f" or {spelled[-1]}" if len(spelled) > 1 else spelled[0]
    problems.add(fm.line_of(key), f"{key} must be {listed}, not {_shown(value)}")
    return default
