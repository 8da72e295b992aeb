"""Line-aware scanning of Markdown source.

Python-Markdown renders HTML but forgets where things came from. Quizzes and
scenarios need their `##` sections, list items and block quotes split out *with line
numbers*, so that each problem points at the right line and each piece can be rendered
on its own. This module does that splitting, following Python-Markdown's rules where
they matter (fenced code hides headings; `{...}` at the end of a heading is an
attribute list; nested content is indented).

It never renders anything and imports nothing else of the package.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class FileProblems(Protocol):
    """Where problems in one file are reported (problem_log.FileProblems is one)."""

    def add(self, line: int, message: str) -> None: ...


# Deeper nesting than this is refused before Python-Markdown sees it: its list
# parser takes cubic time and then overflows the stack on a few hundred levels.
MAX_NESTING = 20
# Python-Markdown searches to the end of the text once per unclosed code fence
# (quadratic time); a few are a typo to report, many are refused.
MAX_UNCLOSED_FENCES = 5

HEADING_2 = re.compile(r"^##(?!#)(.*)$")
# Python-Markdown's fenced_code opening line: the fence, then an optional {attrs} or
# language, and nothing else.
FENCE_OPEN = re.compile(
    r"^(`{3,}|~{3,})[ ]*(?:\{[^\n]*\}|\.?[\w#.+-]*[ ]*)?(?:hl_lines=([\"']).*?\2[ ]*)?$"
)
FENCE_CLOSE = re.compile(r"^(`{3,}|~{3,})[ ]*$")
LIST_ITEM = re.compile(r"^( {0,3})([-*+]|\d{1,9}\.)(?:[ \t]+(.*))?$")
THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
QUOTE_START = re.compile(r"^ {0,3}>")
QUOTE_MARKER = re.compile(r"^ {0,3}> ?")
NESTING_MARKER = re.compile(r">|(?:[-*+]|\d{1,9}\.)(?=[ \t]|$)")
# attr_list's rule for headings: at least one space, then {...} closing the line.
HEADING_ATTRIBUTES = re.compile(r"^(.*?)[ ]+\{:?[ ]*([^}\n ][^\n]*)\}[ ]*$")
ATTRIBUTE_TOKEN = re.compile(
    r"""\s*(?:
        \#(?P<id>[^\s}]+)
      | \.(?P<class_>[^\s}]+)
      | (?P<key>[^\s=}]+)=(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)'|(?P<bare>[^\s}]*))
      | (?P<word>\S+)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # 1-based line number in the file
    text: str


def split_lines(text: str, first_number: int = 1) -> list[Line]:
    """Text -> numbered lines. Only \\n, \\r\\n and \\r end a line, as in editors and
    Python-Markdown (str.splitlines would also split on form feeds and U+2028)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [Line(first_number + index, part) for index, part in enumerate(text.split("\n"))]


def join_lines(lines: Sequence[Line]) -> str:
    return "\n".join(line.text for line in lines)


def is_blank(line: Line) -> bool:
    return not line.text.strip()


def fenced_regions(lines: Sequence[Line]) -> list[tuple[int, int]]:
    """(first, last) line indexes of each fenced code block, fences included.

    A fence only counts when a closing fence of exactly the same characters follows
    (as in Python-Markdown); closers are looked up with bisect so that a page of
    thousands of unclosed fences still scans in linear time.
    """
    closers: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        match = FENCE_CLOSE.match(line.text)
        if match:
            closers.setdefault(match.group(1), []).append(index)
    regions: list[tuple[int, int]] = []
    index = 0
    while index < len(lines):
        match = FENCE_OPEN.match(lines[index].text)
        if match:
            candidates = closers.get(match.group(1), [])
            position = bisect_right(candidates, index)
            if position < len(candidates):
                end = candidates[position]
                regions.append((index, end))
                index = end + 1
                continue
        index += 1
    return regions


def fenced_line_indexes(lines: Sequence[Line]) -> set[int]:
    """Indexes of lines inside fenced code blocks, fences included (`fenced_regions`)."""
    inside: set[int] = set()
    for first, last in fenced_regions(lines):
        inside.update(range(first, last + 1))
    return inside


def unclosed_fences(lines: Sequence[Line]) -> list[Line]:
    """Fence lines (```) that no matching fence closes. Python-Markdown shows them as
    text, and searches to the end of the page for a closer once per such line."""
    fenced = fenced_line_indexes(lines)
    return [
        line
        for index, line in enumerate(lines)
        if index not in fenced and FENCE_OPEN.match(line.text)
    ]


def _prefix_depth(text: str, limit: int) -> int:
    """How deeply one line nests: quote and list markers at its start, plus every
    four columns of indentation (the space after a marker does not count)."""
    markers = 0
    columns = 0
    position = 0
    length = len(text)
    while position < length and markers + columns // 4 <= limit:
        char = text[position]
        if char == " " or char == "\t":
            columns += 1 if char == " " else 4
            position += 1
            continue
        match = NESTING_MARKER.match(text, position)
        if not match:
            break
        markers += 1
        position = match.end()
        if position < length and text[position] in " \t":
            position += 1
    return markers + columns // 4


def too_deep_line(lines: Sequence[Line], limit: int = MAX_NESTING) -> Line | None:
    """The first line (outside fenced code) nested deeper than `limit`, or None.
    Counting stops at the limit, so a 1 MB line of `>` costs no more than a short one."""
    fenced = fenced_line_indexes(lines)
    for index, line in enumerate(lines):
        if index not in fenced and line.text and _prefix_depth(line.text, limit) > limit:
            return line
    return None


@dataclass(slots=True)
class Section:
    """A `##` heading and the lines under it, up to the next `##` heading."""

    heading: Line
    title: str
    attributes: str | None  # the inside of a closing `{...}`, as attr_list reads it
    body: list[Line] = field(default_factory=list)


def parse_heading_text(text: str) -> tuple[str, str | None]:
    """Heading text after `##` -> (title, attribute text or None)."""
    title = text.strip().rstrip("#").strip()
    match = HEADING_ATTRIBUTES.match(title)
    if match:
        return match.group(1).strip(), match.group(2).strip()
    return title, None


def split_sections(lines: Sequence[Line]) -> tuple[list[Line], list[Section]]:
    """Lines -> (lines before the first `##` heading, one Section per heading).
    Headings inside fenced code are text, not sections."""
    fenced = fenced_line_indexes(lines)
    intro: list[Line] = []
    sections: list[Section] = []
    for index, line in enumerate(lines):
        match = None if index in fenced else HEADING_2.match(line.text)
        if match:
            title, attributes = parse_heading_text(match.group(1))
            sections.append(Section(line, title, attributes))
        elif sections:
            sections[-1].body.append(line)
        else:
            intro.append(line)
    return intro, sections


@dataclass(frozen=True, slots=True)
class Attributes:
    """A parsed `{#id .class key=value}` list."""

    id: str | None
    classes: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]  # key=value, in order written
    words: tuple[str, ...]  # anything that is not #id, .class or key=value


def parse_attributes(text: str | None) -> Attributes:
    if not text:
        return Attributes(None, (), (), ())
    ids: list[str] = []
    classes: list[str] = []
    pairs: list[tuple[str, str]] = []
    words: list[str] = []
    for match in ATTRIBUTE_TOKEN.finditer(text):
        if match.group("id") is not None:
            ids.append(match.group("id"))
        elif match.group("class_") is not None:
            classes.append(match.group("class_"))
        elif match.group("key") is not None:
            value = next(v for v in match.group("double", "single", "bare") if v is not None)
            pairs.append((match.group("key"), value))
        elif match.group("word") is not None:
            words.append(match.group("word"))
    return Attributes(ids[-1] if ids else None, tuple(classes), tuple(pairs), tuple(words))


@dataclass(slots=True)
class ListItem:
    ordered: bool
    line: Line  # the line with the marker
    text: str  # what follows the marker on that line
    more: list[Line] = field(default_factory=list)  # later lines, de-indented
    lines: list[Line] = field(default_factory=list)  # every line of the item as written


@dataclass(slots=True)
class Block:
    """A top-level chunk of a section: "list", "quote", "code", "other" or "blank"."""

    kind: str
    lines: list[Line] = field(default_factory=list)
    items: list[ListItem] = field(default_factory=list)


def list_marker(text: str) -> tuple[bool, str] | None:
    """(ordered, text after the marker) when `text` starts a list item."""
    if THEMATIC_BREAK.match(text):
        return None
    match = LIST_ITEM.match(text)
    if not match:
        return None
    return match.group(2)[0].isdigit(), match.group(3) or ""


def dedent_once(text: str) -> str:
    """Remove one level of indentation: up to four spaces, or one tab."""
    if text.startswith("\t"):
        return text[1:]
    stripped = text.lstrip(" ")
    return text[min(len(text) - len(stripped), 4) :]


def strip_quote_marker(text: str) -> str:
    return QUOTE_MARKER.sub("", text, count=1)


def quoted_lines(blocks: Iterable[Block], problems: FileProblems, misplaced: str) -> list[Line]:
    """The text of the block quote that may follow something (a quiz question's
    explanation, a choice's feedback), without its `>` markers. Anything else there is
    reported once, at its first line, as `misplaced`."""
    quoted: list[Line] = []
    for block in blocks:
        if block.kind == "blank":
            quoted.append(Line(block.lines[0].number, ""))
        elif block.kind == "quote":
            quoted.extend(Line(each.number, strip_quote_marker(each.text)) for each in block.lines)
        else:
            problems.add(block.lines[0].number, misplaced)
            break
    return quoted


def _ends_paragraph(text: str) -> bool:
    """Lines that cannot be a lazy continuation of the paragraph before them."""
    return bool(
        HEADING_2.match(text)
        or text.startswith("#")
        or QUOTE_START.match(text)
        or THEMATIC_BREAK.match(text)
        or FENCE_OPEN.match(text)
        or list_marker(text)
    )


def _next_filled(lines: Sequence[Line], index: int) -> int | None:
    while index < len(lines):
        if not is_blank(lines[index]):
            return index
        index += 1
    return None


def _scan_list(lines: Sequence[Line], start: int, fenced: set[int]) -> tuple[Block, int]:
    ordered, text = list_marker(lines[start].text) or (False, "")
    block = Block("list")
    item = ListItem(ordered, lines[start], text, [], [lines[start]])
    block.items.append(item)
    index = start + 1
    while index < len(lines) and index not in fenced:
        line = lines[index]
        marker = list_marker(line.text)
        if is_blank(line):
            following = _next_filled(lines, index)
            if following is None or following in fenced:
                break
            next_text = lines[following].text
            next_marker = list_marker(next_text)
            if next_marker and next_marker[0] == ordered:
                pass  # a loose list: blank lines, then the next item
            elif next_text[0] not in " \t" or next_marker:
                break
            item.more.append(Line(line.number, ""))
            item.lines.append(line)
        elif marker and marker[0] == ordered:
            item = ListItem(ordered, line, marker[1], [], [line])
            block.items.append(item)
        elif line.text[0] in " \t":
            item.more.append(Line(line.number, dedent_once(line.text)))
            item.lines.append(line)
        elif _ends_paragraph(line.text) or is_blank(lines[index - 1]):
            break
        else:
            item.more.append(line)  # lazy continuation of the item's paragraph
            item.lines.append(line)
        index += 1
    block.lines = [line for each in block.items for line in each.lines]
    return block, index


def _scan_quote(lines: Sequence[Line], start: int, fenced: set[int]) -> tuple[Block, int]:
    index = start + 1
    while index < len(lines) and index not in fenced:
        text = lines[index].text
        if not text.strip() or (not QUOTE_START.match(text) and _ends_paragraph(text)):
            break
        index += 1
    return Block("quote", list(lines[start:index])), index


def _scan_other(lines: Sequence[Line], start: int, fenced: set[int]) -> tuple[Block, int]:
    index = start + 1
    while index < len(lines) and index not in fenced:
        text = lines[index].text
        if (
            not text.strip()
            or QUOTE_START.match(text)
            or list_marker(text)
            or HEADING_2.match(text)
        ):
            break
        index += 1
    return Block("other", list(lines[start:index])), index


def scan_blocks(lines: Sequence[Line]) -> list[Block]:
    """Split lines into top-level blocks. Lists are split into items, with each
    item's later lines de-indented one level so they can be scanned again."""
    fenced = fenced_line_indexes(lines)
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if index in fenced:
            end = index
            while end < len(lines) and end in fenced:
                end += 1
            block, index = Block("code", list(lines[index:end])), end
        elif is_blank(line):
            block, index = Block("blank", [line]), index + 1
        elif list_marker(line.text):
            block, index = _scan_list(lines, index, fenced)
        elif QUOTE_START.match(line.text):
            block, index = _scan_quote(lines, index, fenced)
        else:
            block, index = _scan_other(lines, index, fenced)
        blocks.append(block)
    return blocks
