"""The rules a course must follow, and the collecting of problems.

The parser builds the course and calls these rules as it goes, so every problem is
found in one pass and reported at once, each at the line of the offending heading,
key, link or list item. Rules that need the whole of something (a scenario's paths,
the set of slugs) run on the built model objects, which carry their line numbers.

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

import difflib
import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jesip_learn.content.blocks import Line
from jesip_learn.content.files import COURSE_PAGE, INLINE_IMAGE_TYPES, suffix_of
from jesip_learn.content.frontmatter import FrontMatter
from jesip_learn.content.model import (
    JDM_STAGES,
    PRINCIPLES,
    ROLES,
    SERVICES,
    Item,
    Problem,
    Question,
    Requirement,
    Scenario,
    Step,
)
from jesip_learn.content.render import LINK_SCHEMES, Reference, split_course_url, url_scheme

PERCENT_TEXT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%?\s*")

# Characters no title, code or summary may hold: C0 controls and DEL (a line break in a
# title would end an email's Subject header and start another header), C1 controls, the
# Unicode line and paragraph separators, and the bidirectional overrides, embeddings and
# isolates that can make text read differently from what it holds ("Trojan Source").
# Marks that only set a direction (U+200E, U+200F, U+061C) are ordinary in right-to-left
# text and allowed.
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


MAX_PROBLEMS_PER_FILE = 50
MAX_NAMES_LISTED = 10  # in a message listing what does exist


def _listed(names: Sequence[str]) -> str:
    """["a", "b", "c"] -> "a, b and c"; past MAX_NAMES_LISTED, "and N more"."""
    shown = list(names[:MAX_NAMES_LISTED])
    rest = len(names) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _close_match(wanted: str, names: Iterable[str]) -> str | None:
    """The name most like `wanted`, if one is like it. Paths are compared by their file
    names without folder or ending: images/cordn.png is like images/cordon.png, but
    files/notes.pdf is not like files/guide.pdf."""
    by_stem: dict[str, str] = {}
    for name in names:
        by_stem.setdefault(_stem(name), name)
    matches = difflib.get_close_matches(_stem(wanted), list(by_stem), n=1, cutoff=0.6)
    return by_stem[matches[0]] if matches else None


def _stem(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base[1:] else base


def what_exists(wanted: str, names: Sequence[str], label: str, none: str, *,
                prefix: str = "") -> str:
    """The end of a "not found" message: the nearest name that does exist, and the names
    there are: " (did you mean #late? The steps: #first-call, #late and #rescue)"."""
    if not names:
        return f" ({none})"
    ordered = sorted(names)
    near = _close_match(wanted, ordered)
    listed = f"{label}: {_listed([prefix + name for name in ordered])}"
    if near is None:
        return f" ({listed})"
    if ordered == [near]:
        return f" (did you mean {prefix}{near}?)"
    return f" (did you mean {prefix}{near}? {listed[0].upper()}{listed[1:]})"


class ProblemLog:
    """Every problem found in one course, in the order found. After
    MAX_PROBLEMS_PER_FILE in one file the rest are counted, not listed: a page with
    a thousand broken links needs one fix, not a thousand lines."""

    def __init__(self, root: str = "") -> None:
        self.root = root
        self._found: list[Problem] = []
        self._per_file: dict[str, int] = {}

    def add(self, file: str, line: int, message: str) -> None:
        count = self._per_file.get(file, 0) + 1
        self._per_file[file] = count
        if count < MAX_PROBLEMS_PER_FILE:
            self._found.append(Problem(file, max(int(line), 1), message, self.root))
        elif count == MAX_PROBLEMS_PER_FILE:
            self._found.append(
                Problem(
                    file,
                    max(int(line), 1),
                    "too many problems in this file; fix these first",
                    self.root,
                )
            )

    def for_file(self, file: str) -> FileProblems:
        return FileProblems(self, file)

    def __len__(self) -> int:
        return len(self._found)

    def problems(self) -> tuple[Problem, ...]:
        """Sorted by file (course.md first) and line; ties keep the order found."""
        return tuple(sorted(self._found, key=lambda p: (p.file != COURSE_PAGE, p.file, p.line)))


@dataclass(frozen=True, slots=True)
class FileProblems:
    """The problem log, narrowed to one file."""

    log: ProblemLog
    file: str

    def add(self, line: int, message: str) -> None:
        self.log.add(self.file, line, message)


# Front matter values -------------------------------------------------------------


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


# Tags on scenario steps and choices ----------------------------------------------

TAG_VOCABULARIES = {"jdm": JDM_STAGES, "principle": PRINCIPLES}


def read_tag(key: str, value: str, line: int, problems: FileProblems) -> str | None:
    """A `jdm=` or `principle=` value, or None (reported) when it is not one of them."""
    allowed = TAG_VOCABULARIES[key]
    if value in allowed:
        return value
    problems.add(line, f"unknown {key}={value}: use one of {', '.join(allowed)}")
    return None


# Images and links ----------------------------------------------------------------


class _LineFinder:
    """Finds the source line an image or link came from, by searching for its URL
    from where the previous search for the same URL stopped."""

    def __init__(self, lines: Sequence[Line]) -> None:
        self.lines = lines
        self.next_index: dict[str, int] = {}
        filled = [line for line in lines if line.text.strip()]
        self.fallback = (filled[0] if filled else lines[0]).number if lines else 1

    def line_of(self, url: str) -> int:
        start = self.next_index.get(url, 0)
        for index in range(start, len(self.lines)):
            if url and url in self.lines[index].text:
                self.next_index[url] = index + 1
                return self.lines[index].number
        return self.fallback


def check_references(
    references: Iterable[Reference],
    lines: Sequence[Line],
    files: frozenset[str],
    problems: FileProblems,
) -> None:
    """Images must be course files of an inline type with alternative text; links
    must stay inside the course or use an allowed scheme."""
    finder = _LineFinder(lines)
    for reference in references:
        url = (reference.url or "").strip()
        line = finder.line_of(url)
        if reference.tag == "img":
            _check_image(url, reference.alt, line, files, problems)
        else:
            _check_link(url, line, files, problems)


def _check_image(
    url: str, alt: str | None, line: int, files: frozenset[str], problems: FileProblems
) -> None:
    location_problem = _image_location_problem(url, files)
    if location_problem:
        problems.add(line, location_problem)
    if not (alt or "").strip():
        problems.add(
            line,
            "image has no alternative text: describe it between the "
            "brackets, ![like this](images/photo.png)",
        )


def _image_location_problem(url: str, files: frozenset[str]) -> str | None:
    if not url:
        return "image has no file: write its path in the brackets, ![description](images/photo.png)"
    if url_scheme(url) is not None or url.startswith("//"):
        return (
            "images must be files in the course folder, not web "
            f"addresses or data: URLs ({url[:60]})"
        )
    course_url = split_course_url(url)
    if course_url is None:
        return f"image path must be relative and inside the course folder: {url[:60]}"
    path = course_url[0]
    if suffix_of(path) == ".svg":
        return (
            "SVG images can't be shown in a page; link to it as a "
            f"download instead: [description]({path})"
        )
    if suffix_of(path) not in INLINE_IMAGE_TYPES:
        return f"images must be png, jpg, gif or webp files: {path}"
    if path not in files:
        images = [name for name in files if suffix_of(name) in INLINE_IMAGE_TYPES]
        exist = what_exists(path, images, "the course’s images", "the course has no images yet")
        return f"image not found: {path}{exist}"
    return None


def _check_link(url: str, line: int, files: frozenset[str], problems: FileProblems) -> None:
    if not url or url.startswith("#") or url.startswith("//") or url.startswith("?"):
        return
    scheme = url_scheme(url)
    if scheme is not None:
        if scheme not in LINK_SCHEMES:
            problems.add(
                line,
                "links may go to http(s), mailto or tel addresses, course "
                f"files or #anchors, not {scheme}:",
            )
        return
    course_url = split_course_url(url)
    if course_url is None:
        problems.add(line, f"link must be a relative path inside the course folder: {url[:60]}")
    elif course_url[0] not in files:
        others = [name for name in files if suffix_of(name) != ".md"]
        exist = what_exists(course_url[0], others, "the course’s files",
                            "the course has no files yet")
        problems.add(line, f"linked file not found: {course_url[0]}{exist}")


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


# Scenarios -----------------------------------------------------------------------


def check_scenario(
    scenario: Scenario, start_line: int, header_line: int, problems: FileProblems
) -> None:
    """Every step reachable from `start`, every path able to end, a pass ending,
    no dead ends, no links to steps that do not exist."""
    if not scenario.steps:
        problems.add(header_line, "the scenario has no steps: each '## Heading {#id}' is one")
        return
    steps = _first_step_per_id(scenario, problems)
    _check_start(scenario.start, steps, start_line, header_line, problems)
    for step in scenario.steps:
        _check_step_exits(step, steps, problems)
    if not any(step.kind == "end" and step.result == "pass" for step in scenario.steps):
        problems.add(
            header_line,
            "the scenario has no ending with result=pass, so no learner could complete it",
        )
    if scenario.start in steps:
        _check_paths(scenario.start, steps, problems)


def _first_step_per_id(scenario: Scenario, problems: FileProblems) -> dict[str, Step]:
    steps: dict[str, Step] = {}
    for step in scenario.steps:
        if step.id in steps:
            problems.add(
                step.line,
                f"two steps have the id '{step.id}' (the other is on line {steps[step.id].line})",
            )
        else:
            steps[step.id] = step
    return steps


def _check_start(
    start: str, steps: dict, start_line: int, header_line: int, problems: FileProblems
) -> None:
    if not start:
        problems.add(header_line, "missing start: name the first step, e.g. 'start: first-call'")
    elif start not in steps:
        exist = what_exists(start, list(steps), "the steps", "no steps", prefix="#")
        problems.add(start_line,
                     f"start names no step: there is no step with the id '{start}'{exist}")


def _check_step_exits(step: Step, steps: dict[str, Step], problems: FileProblems) -> None:
    if step.kind == "end" and step.choices:
        problems.add(step.choices[0].line, "an ending (.end) can't have choices")
    if step.kind != "end" and not step.choices:
        problems.add(
            step.line,
            f"step '{step.id}' is a dead end: add choices (- "
            "[text](#step-id)) or make it an ending "
            "with {.end result=pass} or {.end result=fail}",
        )
    for choice in step.choices:
        if choice.target not in steps:
            exist = what_exists(choice.target, list(steps), "the steps", "no steps",
                                prefix="#")
            problems.add(choice.line,
                         f"link to a step that does not exist: #{choice.target}{exist}")


def _reachable(start: str, edges: dict[str, list[str]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for target in edges.get(queue.popleft(), ()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _check_paths(start: str, steps: dict[str, Step], problems: FileProblems) -> None:
    forward = {
        step_id: [c.target for c in step.choices if c.target in steps]
        for step_id, step in steps.items()
    }
    reachable = _reachable(start, forward)
    broken = [choice for step_id in reachable for choice in steps[step_id].choices
              if choice.target not in steps]
    for step_id, step in steps.items():
        if step_id not in reachable:
            what = "ending" if step.kind == "end" else "step"
            problems.add(
                step.line, f"{what} '{step_id}' can't be reached from the start step '{start}'"
                f"{_why_unreachable(step_id, steps, reachable, broken)}"
            )
    backward: dict[str, list[str]] = {}
    for source, targets in forward.items():
        for target in targets:
            backward.setdefault(target, []).append(source)
    can_finish: set[str] = set()
    for step_id, step in steps.items():
        if step.kind == "end":
            can_finish |= _reachable(step_id, backward)
    for step_id, step in steps.items():
        if (
            step_id in reachable
            and step_id not in can_finish
            and step.kind != "end"
            and step.choices
        ):
            cause = [choice for later in _reachable(step_id, forward)
                     for choice in steps[later].choices if choice.target not in steps]
            problems.add(
                step.line,
                f"from step '{step_id}' no path leads to an ending: the "
                "learner would go round forever"
                + (f", because {_the_broken_links(cause)} broken" if cause else ""),
            )


def _why_unreachable(step_id: str, steps: dict[str, Step], reachable: set[str],
                     broken: Sequence) -> str:
    """What keeps a step out of reach, when the problems list shows its cause: a broken
    link (on a step that can be reached) that was likely meant for it, or the unreachable
    steps that are the only ones linking to it."""
    meant = [choice for choice in broken if _close_match(choice.target, [step_id])]
    if meant:
        return (f" because {_the_broken_links(meant)} broken (it goes to #{meant[0].target}"
                f", not #{step_id})" if len(meant) == 1 else
                f" because {_the_broken_links(meant)} broken")
    sources = sorted({source for source, step in steps.items() if source != step_id
                      and any(choice.target == step_id for choice in step.choices)})
    if sources:
        names = _listed([f"'{source}'" for source in sources])
        return (f" because only {'step' if len(sources) == 1 else 'steps'} {names} "
                f"{'links' if len(sources) == 1 else 'link'} to it, and "
                f"{'it' if len(sources) == 1 else 'they'} can't be reached either")
    if broken:
        lines = sorted({choice.line for choice in broken})
        which = (f"the broken link on line {lines[0]} was" if len(lines) == 1 else
                 f"one of the broken links on lines {_listed([str(n) for n in lines])} was")
        return f": no choice links to it (perhaps {which} meant for it)"
    return ": no choice links to it"


def _the_broken_links(choices: Sequence) -> str:
    lines = sorted({choice.line for choice in choices})
    if len(lines) == 1:
        return f"the link on line {lines[0]} is"
    return f"the links on lines {_listed([str(line) for line in lines])} are"


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


# Front matter: one of a few named values -------------------------------------------


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
