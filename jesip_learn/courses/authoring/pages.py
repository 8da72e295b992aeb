"""What the editor writes into a course folder: file names from titles, starter pages that
validate for each kind, and a page's title changed in its front matter. Pure: no database.

Item order comes from the number that starts a page's file name (content-format.md), so
moving an item renumbers pages, and the slug after the number is what learners' progress
is recorded against.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from jesip_learn.content.blocks import split_lines
from jesip_learn.content.files import COURSE_PAGE, PAGE_SUFFIX
from jesip_learn.content.front_matter_values import control_character_problem
from jesip_learn.content.frontmatter import FENCE, split_front_matter
from jesip_learn.content.parse import ITEM_NAME, SLUG

KINDS = ("module", "quiz", "scenario", "exercise")
KIND_LABELS = {"module": "Reading module", "quiz": "Quiz", "scenario": "Scenario",
               "exercise": "Live exercise script"}
KIND_ENDINGS = {"module": ".md", "quiz": ".quiz.md", "scenario": ".scenario.md",
                "exercise": ".exercise.md"}
MAX_SLUG_LENGTH = 60
MAX_TITLE_LENGTH = 200
# A course code appears in addresses, reports and certificate checks: keep it plain.
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,59}")


@dataclass(frozen=True, slots=True)
class ItemName:
    """What an item page's file name says: `03-methane.quiz.md` is number 3, slug
    `methane`, kind quiz."""

    number: int
    slug: str
    kind: str


def item_name(path: str) -> ItemName | None:
    """The parts of an item page's name, or None for course.md, files and stray pages."""
    if "/" in path or path == COURSE_PAGE:
        return None
    match = ITEM_NAME.match(path)
    if not match or not SLUG.fullmatch(match.group("slug")):
        return None
    kind = (match.group("kind") or ".").lstrip(".").lower() or "module"
    return ItemName(int(match.group("number")), match.group("slug"), kind)


def item_path(number: int, slug: str, kind: str, *, width: int = 2) -> str:
    return f"{number:0{width}d}-{slug}{KIND_ENDINGS[kind]}"


def number_width(count: int) -> int:
    """Digits for numbering `count` items: 01 to 99, then 001 ..."""
    return max(2, len(str(count)))


def slugify(title: str) -> str:
    """A slug for a title: ASCII letters and digits joined by '-', lower case."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-")


def checked_slug(slug: str) -> str:
    """`slug` as written, if a page may be named with it; otherwise ValueError."""
    slug = slug.strip()
    if not slug:
        raise ValueError("Enter a name for the page address, such as why-interoperability")
    if len(slug) > MAX_SLUG_LENGTH or not SLUG.fullmatch(slug):
        raise ValueError("The page address may hold only letters, digits, '-' and '_', "
                         f"start with a letter or digit, and be at most {MAX_SLUG_LENGTH} long")
    return slug


def checked_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise ValueError("Enter a title")
    if len(title) > MAX_TITLE_LENGTH:
        raise ValueError(f"The title must be {MAX_TITLE_LENGTH} characters or fewer")
    refused = control_character_problem("The title", title)
    if refused:
        raise ValueError(refused[0].upper() + refused[1:])
    return title


def checked_code(code: str) -> str:
    code = code.strip()
    if not CODE.fullmatch(code):
        raise ValueError("The course code may hold only letters, digits, '-' and '_', "
                         "such as JESIP-AWARE, and be at most 60 long")
    return code


def yaml_value(text: str) -> str:
    """`text` written as a YAML scalar that reads back as exactly `text`: plain when
    that is safe, otherwise double-quoted."""
    if text and text == text.strip() and "\n" not in text:
        try:
            if yaml.safe_load(f"key: {text}") == {"key": text}:
                return text
        except yaml.YAMLError:
            pass
    return json.dumps(text, ensure_ascii=False)


def new_course_pages(*, title: str, code: str, summary: str) -> dict[str, str]:
    """A new course that validates: course.md and a first reading module to rename,
    rewrite or delete (a course needs at least one page)."""
    summary_line = f"summary: {yaml_value(summary)}\n" if summary.strip() else ""
    course = (
        f"{FENCE}\ntitle: {yaml_value(title)}\ncode: {yaml_value(code)}\n{summary_line}"
        f"{FENCE}\n\nSay here who the course is for and what they will be able to do after "
        "it.\n"
    )
    return {COURSE_PAGE: course, item_path(1, "introduction", "module"):
            starter_page("module", "Introduction")}


def starter_page(kind: str, title: str) -> str:
    """A page of `kind` titled `title` that validates as it stands."""
    return STARTERS[kind].replace("{title}", yaml_value(title))


STARTERS = {
    "module": """---
title: {title}
minutes: 5
---

Write the module here in Markdown. Start a section with a heading:

## A heading

A paragraph of text. Add a picture with a description of it for screen readers:
`![What the picture shows](images/photo.png)`.
""",
    "quiz": """---
title: {title}
pass_mark: 80
---

## Write the first question here

- [x] The correct answer
- [ ] A wrong answer
- [ ] Another wrong answer

> Explain the right answer. Learners see this after they submit the quiz.
""",
    "scenario": """---
title: {title}
start: first-step
---

## The first step {#first-step}

Describe the situation the learner faces.

- [A sound decision](#good-outcome){score=2}
    > Feedback the learner sees after choosing this.
- [A poor decision](#poor-outcome){score=0}
    > Feedback the learner sees after choosing this.

## A good outcome {#good-outcome .end result=pass}

Describe what happened as a result.

## A poor outcome {#poor-outcome .end result=fail}

Describe what happened as a result.
""",
    "exercise": """---
title: {title}
minutes: 30
roles:
  - id: police-control
    title: Police control room supervisor
    service: police
    level: control-room
  - id: fire-control
    title: Fire control room supervisor
    service: fire
    level: control-room
  - id: ambulance-control
    title: Ambulance control room supervisor
    service: ambulance
    level: control-room
talk_groups:
  - id: inter-control
    title: Inter-control talk group
    roles: [police-control, fire-control, ambulance-control]
---

The briefing every participant reads before the clock starts: the setting, not the secrets.

## The first call {#first-call at=00:00 to=police-control}

What reaches this role, and only this role, when the clock starts.

- A fact others need {.fact #first-fact needs=fire-control,ambulance-control within=03:00}

## Agree an RVP {#rvp .decision at=05:00 roles=police-control,fire-control,ambulance-control}

The decision the roles make together.

- A sound option {.option score=2}
    > Feedback shown in the debrief.
- A poor option {.option score=0}
    > Feedback shown in the debrief.

## End of exercise {#end .end at=30:00}
""",
}


def page_title(text: str) -> str:
    """The `title` of a page's front matter, or "" when it has none that can be read."""
    split = split_front_matter(split_lines(text.removeprefix("\ufeff")))
    value = split.front_matter.get("title") if split.front_matter else None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return " ".join(str(value).split())


def front_matter_value(text: str, key: str) -> tuple[object, int | None]:
    """A front matter value and the line of its key (None, None when unreadable)."""
    split = split_front_matter(split_lines(text.removeprefix("\ufeff")))
    fm = split.front_matter
    if fm is None or key not in fm:
        return None, None
    return fm.get(key), fm.line_of(key)


TOP_LEVEL_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:")


def with_title(text: str, title: str) -> str:
    """`text` with its front matter title set to `title`, every other line as it was.

    The `title:` line (and any indented lines that continue its value) is replaced; a
    page without one gets it first in its front matter, and a page without front matter
    gets front matter.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")
    new_line = f"title: {yaml_value(title)}"
    closing = _closing_fence(lines)
    if closing is None:
        lines = [FENCE, new_line, FENCE, *([""] if lines and lines[0].strip() else []), *lines]
    else:
        start = next((i for i in range(1, closing)
                      if (m := TOP_LEVEL_KEY.match(lines[i])) and m.group("key") == "title"),
                     None)
        if start is None:
            lines.insert(1, new_line)
        else:
            end = start + 1
            while end < closing and (lines[end].startswith((" ", "\t")) or not lines[end]):
                end += 1
            lines[start:end] = [new_line]
    return bom + newline.join(lines)


def _closing_fence(lines: list[str]) -> int | None:
    if not lines or lines[0].rstrip() != FENCE:
        return None
    return next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)


def conform_text(new: str, old: str | None) -> str:
    """Submitted text in the line endings (and byte-order mark) of the file it replaces.

    Browsers send a text area's lines ending in CR LF whatever the file used; keeping the
    file's own convention means an edit changes only the lines the trainer changed.
    """
    text = new.replace("\r\n", "\n").replace("\r", "\n")
    if old is not None and "\r\n" in old:
        text = text.replace("\n", "\r\n")
    if old is not None and old.startswith("\ufeff") and not text.startswith("\ufeff"):
        text = "\ufeff" + text
    return text


@dataclass(frozen=True, slots=True)
class OutlineItem:
    path: str
    number: int
    slug: str
    kind: str
    title: str
    position: int  # 1-based place in the course


def outline(pages: Mapping[str, str]) -> tuple[OutlineItem, ...]:
    """The items of a course from its pages' names and titles, in the parser's order
    (file-name number, then file name)."""
    found = [(name, path) for path in pages if (name := item_name(path)) is not None]
    found.sort(key=lambda pair: (pair[0].number, pair[1]))
    return tuple(
        OutlineItem(path, name.number, name.slug, name.kind, page_title(pages[path]), index)
        for index, (name, path) in enumerate(found, start=1)
    )


def is_page(path: str) -> bool:
    return path.lower().endswith(PAGE_SUFFIX)
