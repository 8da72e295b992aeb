"""One page of a course read from bytes, and the renderer its pieces go through."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markdown.extensions.toc import slugify

from jesip_learn.content.blocks import (
    MAX_UNCLOSED_FENCES,
    Line,
    join_lines,
    split_lines,
    too_deep_line,
    unclosed_fences,
)
from jesip_learn.content.frontmatter import FrontMatter, split_front_matter
from jesip_learn.content.problem_log import FileProblems
from jesip_learn.content.reading_cost import MAX_COURSE_COST, MAX_PIECE_COST, reading_cost
from jesip_learn.content.reference_checks import check_references
from jesip_learn.content.render import (
    ResolveFile,
    collect_references,
    html_cleaner,
    new_markdown,
    unwrap_paragraph,
)

# A heading's text is rendered as inline Markdown; these starts would otherwise turn
# it into a list, quote, heading or rule, so their first character is escaped.
BLOCK_START = re.compile(r"(?:[-+*](?:\s|$)|[>#]|(\d{1,9})\.(?:\s|$)|([-*_])(?:\s*\2){2,}\s*$)")

# Text Python-Markdown would give back unchanged inside one <p>: no Markdown or
# HTML syntax, no list marker at the start, no edge whitespace. Rendering such
# pieces (most answer options and choice labels) directly keeps a course of many
# small pieces about as cheap to parse as its Markdown is to convert; a test checks
# the shortcut gives exactly what Markdown would.
PLAIN_LINE = re.compile(
    r"(?![-+]\s|\d+[.)]\s)[^\W_](?:[^\W_]|[ ,.;:?!'\"()/%+=@$\u00a3\u20ac-])*(?<=[^ ])"
)


@dataclass(frozen=True)
class Page:
    """A decoded page: its front matter (None when missing or broken, which is
    already reported) and the lines after it."""

    path: str
    front_matter: FrontMatter | None
    body: list[Line]
    problems: FileProblems

    @property
    def header_line(self) -> int:
        return self.front_matter.first_line if self.front_matter else 1


def decode_text(data: bytes, problems: FileProblems) -> str | None:
    """UTF-8 (with or without a byte-order mark), else a problem at the line of the
    first bad byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        problems.add(
            line, f"the file is not UTF-8 text (byte 0x{data[error.start]:02x}): save it as UTF-8"
        )
        return None
    return text.removeprefix("\ufeff")


def read_page(path: str, data: bytes, problems: FileProblems) -> Page | None:
    text = decode_text(data, problems)
    if text is None:
        return None
    split = split_front_matter(split_lines(text))
    for line, message in split.problems:
        problems.add(line, message)
    return Page(path, split.front_matter, split.body, problems)


def trim_blank_lines(lines: Sequence[Line]) -> list[Line]:
    filled = [index for index, line in enumerate(lines) if line.text.strip()]
    return list(lines[filled[0] : filled[-1] + 1]) if filled else []


def heading_id(title: str) -> str:
    """The anchor Python-Markdown's toc would give a heading with this text."""
    return slugify(title, "-")


class PieceRenderer:
    """Renders the pieces of one course's pages (module bodies, question stems,
    options, step texts, ...), checking their images and links on the way.

    One Markdown instance and one nh3 cleaner serve the whole course: building them
    costs more than converting a short piece. `on_render(path, line)`, when given, is told
    where each piece starts before Markdown converts it (the parsing worker reports it, so
    that a page that runs out of time is named with its line).
    """

    def __init__(self, files: frozenset[str], resolve_file: ResolveFile | None = None,
                 on_render: Callable[[str, int], None] | None = None) -> None:
        self.files = files
        self.markdown = new_markdown()
        self.cleaner = html_cleaner(resolve_file)
        self.on_render = on_render
        self.cost = 0  # the reading cost of every piece rendered so far (reading_cost.py)

    def render(self, lines: Sequence[Line], problems: FileProblems, *, inline: bool = False) -> str:
        """Sanitised HTML for `lines`; `inline` drops the <p> around a single paragraph."""
        lines = trim_blank_lines(lines)
        if not lines:
            return ""
        if all(PLAIN_LINE.fullmatch(line.text) for line in lines):
            text = join_lines(lines)
            return text if inline else f"<p>{text}</p>"
        if not self._renderable(lines, problems):
            return ""
        if self.on_render is not None:
            self.on_render(problems.file, lines[0].number)
        self.markdown.reset()
        try:
            raw = self.markdown.convert(join_lines(lines))
        except RecursionError:
            problems.add(lines[0].number, "this text is nested too deeply to render")
            return ""
        check_references(collect_references(raw), lines, self.files, problems)
        html = self.cleaner.clean(raw)
        return unwrap_paragraph(html) if inline else html

    def _renderable(self, lines: Sequence[Line], problems: FileProblems) -> bool:
        """Refuse what Python-Markdown can't take: deep nesting overflows its stack,
        each unclosed fence costs it a scan to the end of the text, and the inputs
        reading_cost.py counts make it quadratic."""
        deep = too_deep_line(lines)
        if deep is not None:
            problems.add(
                deep.number, "lists or quotes are nested too deeply here (more than 20 levels)"
            )
            return False
        unclosed = unclosed_fences(lines)
        for line in unclosed:
            fence = line.text.strip()[:3]
            problems.add(
                line.number, f"this code block is never closed: end it with a line of {fence}"
            )
        if len(unclosed) > MAX_UNCLOSED_FENCES:
            return False
        cost = reading_cost(lines, limit=MAX_PIECE_COST)
        if cost.total > MAX_PIECE_COST:
            problems.add(cost.line, cost.message())
            return False
        self.cost += cost.total
        if self.cost > MAX_COURSE_COST:
            problems.add(lines[0].number, "the course's pages hold more text that is slow to "
                         "read than a course may: make long paragraphs, tables and lists "
                         "shorter, or split the course")
            return False
        return True

    def render_heading(self, line: Line, title: str, problems: FileProblems) -> str:
        """A heading's text as inline HTML (for question and step titles)."""
        match = BLOCK_START.match(title)
        if match and match.group(1):  # "1. Title" -> "1\. Title"
            escaped = f"{match.group(1)}\\{title[len(match.group(1)) :]}"
        else:
            escaped = f"\\{title}" if match else title
        return self.render([Line(line.number, escaped)], problems, inline=True)
