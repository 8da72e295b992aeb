"""How much work Python-Markdown would do on a text, estimated before it sees the text.

Python-Markdown is pure Python, and some inputs make it slow far out of proportion to their
size: one paragraph of 10,000 `![` takes over a minute. Each family below is quadratic, and
each is counted here in one linear pass, in units of about half a microsecond of Markdown:

- brackets: its link, image, reference and footnote parsers look for each `[`'s closing `]`
  character by character, to the end of the paragraph when there is none (and through
  every bracket nested inside), several parsers one after another;
- links: after `](` they look for the `)` that closes the address the same way;
- tags: its HTML parser looks for each `<tag`'s (and `<!`, `<?` at a line's start) closing
  `>` to the end of the text, again for every `<` when none comes;
- splits: a heading, rule or reference definition with no blank line around it is split
  off its block, and every block parser tests the rest of the block again;
- footnotes: each reference to a footnote counts the references before it, and the
  references to the same footnote one by one;
- formatting: each piece of inline formatting, code or link rebuilds the text of its
  paragraph;
- blocks: not quadratic, but each block passes every block parser's test (and the fenced
  code parser searches the text again after each code block), so a page of tens of
  thousands of one-letter paragraphs or code blocks takes seconds.

`reading_cost(lines)` adds them up. The course parser refuses a text whose cost passes
MAX_PIECE_COST (about a tenth of a second of Markdown) with a problem at the line where most
of the cost comes from, and a whole course whose texts pass MAX_COURSE_COST together; the
shipped courses stay under a hundredth of either (tests/content/test_reading_cost.py).
Anything missed here is still bounded by the time limit of the parsing worker (worker.py).

It never renders anything and imports nothing else of the package but blocks.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from jesip_learn.content.blocks import THEMATIC_BREAK, Line, fenced_regions

MAX_PIECE_COST = 250_000
MAX_COURSE_COST = 5_000_000

# Weights, as units per character read (or per line tested): html.parser's search is a
# regular expression, much cheaper per character than the link parsers' Python loop.
BRACKET_WEIGHT = 3
IMAGE_WEIGHT = 6  # `![` goes through the image parsers and then the link parsers
TAG_CHARACTERS_PER_UNIT = 2
SPLIT_CHARACTERS_PER_UNIT = 4
SPLIT_LINE_WEIGHT = 2
FOOTNOTE_WEIGHT = 2
FOOTNOTE_REPEAT_WEIGHT = 16
FORMATTING_CHARACTERS_PER_UNIT = 128
BLOCK_WEIGHT = 100  # each block passes every block parser's test

BRACKET_TOKEN = re.compile(r"\\.|!?\[|\]\(?|[()]", re.DOTALL)
FOOTNOTE_REFERENCE = re.compile(r"\[\^([^\[\]\n]{0,100})\]")
MAY_COST = re.compile(r"[\[\]()`*_<&]")
FORMATTING = re.compile(r"[`*_]+|[<&\[]")
TAG_OPEN = re.compile(r"</?[A-Za-z]|(?:^|(?<=\n)) {0,3}<[!?]")
ATX_HEADING = re.compile(r"#[^\\]*$")  # a backslash can stop it being a heading: not split
LIST_START = re.compile(r" {0,3}(?:[*+-]|\d{1,9}\.) +\S")
SPLIT_LINE = re.compile(r"#|!!!|=+ *$|-+ *$| {0,3}\[[^\]]*\]:")

MESSAGES = {
    "brackets": "{count} '[' here have no matching ']': close each link's brackets, or write "
                "\\[ for a bracket meant as text",
    "links": "{count} links here have a '(' that no ')' closes: end each link's address "
             "with ')'",
    "tags": "{count} '<' here start no complete HTML tag: write &lt; for a '<' meant as "
            "text, or close the tag with '>'",
    "splits": "{count} headings, rules or link definitions here follow one another without "
              "blank lines: put a blank line before and after each",
    "footnotes": "this text refers to footnotes {count} times: use fewer footnotes",
    "blocks": "this text has {count} paragraphs, headings or other blocks: split it into "
              "more pages",
    # When everything is closed, but nested many deep:
    "nested brackets": "'[' and ']' here are nested many deep: write \\[ and \\] for "
                       "brackets meant as text",
    "nested links": "links' addresses here hold '(' and ')' nested many deep: write \\( and "
                    "\\) for brackets meant as text",
    "formatting": "this paragraph holds {count} pieces of formatting, code or links: split "
                  "it into shorter paragraphs",
}


@dataclass(frozen=True, slots=True)
class ReadingCost:
    """The estimated cost of a text, and where most of it comes from."""

    total: int
    family: str = ""  # a key of MESSAGES; "" when the text costs nothing
    line: int = 1  # the line where that family's costliest part starts
    count: int = 0  # how many openers, headings or references make that part

    def message(self) -> str:
        """Why the text is refused, for the trainer to act on."""
        if not self.family:
            return "this text would take too long to read"
        family = self.family
        if family in ("brackets", "links") and not self.count:
            family = f"nested {family}"
        detail = MESSAGES[family].format(count=f"{self.count:,}")
        return f"this text would take too long to read: {detail}"


class _Tally:
    """Cost by family and starting line, with the count of what caused it."""

    def __init__(self) -> None:
        self.total = 0
        self.parts: dict[tuple[str, int], list[int]] = {}

    def add(self, family: str, line: int, cost: int, count: int = 1) -> None:
        if cost <= 0 and count <= 0:
            return
        self.total += max(cost, 0)
        part = self.parts.setdefault((family, line), [0, 0])
        part[0] += max(cost, 0)
        part[1] += count

    def result(self) -> ReadingCost:
        if not self.parts:
            return ReadingCost(self.total)
        (family, line), (_cost, count) = max(self.parts.items(), key=lambda item: item[1][0])
        return ReadingCost(self.total, family, line, count)


class _Next:
    """Where `needle` next occurs at or after a position, for positions asked in increasing
    order: amortised linear however many positions are asked."""

    def __init__(self, text: str, needle: str) -> None:
        self.text, self.needle, self.found = text, needle, -2

    def at_or_after(self, position: int) -> int:
        if self.found == -1 or self.found >= position:
            return self.found
        self.found = self.text.find(self.needle, position)
        return self.found


def reading_cost(lines: Sequence[Line], *, limit: int | None = None) -> ReadingCost:
    """The cost of rendering `lines` as one Markdown text (see the module docstring).

    With `limit`, counting stops as soon as the cost passes it, so that a hostile text is
    refused in about the time it takes to read it once.
    """
    regions = fenced_regions(lines)
    fenced = {index for first, last in regions for index in range(first, last + 1)}
    texts = ["" if index in fenced else line.text for index, line in enumerate(lines)]
    numbers = [line.number for line in lines]
    tally = _Tally()
    blocks = _blocks(texts)
    count = len(blocks) + len(regions)  # fenced code blocks too: each is searched for
    if count > 1:
        first = min([start for start, _end in blocks] + [start for start, _end in regions])
        tally.add("blocks", numbers[first], BLOCK_WEIGHT * count, count)
    for start, end in blocks:
        if limit is not None and tally.total > limit:
            return tally.result()
        _count_splits(texts, numbers, start, end, tally)
        for node_start, node_end in _nodes(texts, start, end):
            _count_brackets(texts, numbers, node_start, node_end, tally)
    document = "\n".join(texts)
    _count_tags(document, numbers, tally)
    _count_footnotes(document, numbers, tally)
    return tally.result()


def _blocks(texts: list[str]) -> list[tuple[int, int]]:
    """Runs of lines that are not blank (fenced code counts as blank: Markdown hides it)."""
    found, start = [], None
    for index, text in enumerate(texts):
        if text.strip():
            if start is None:
                start = index
        elif start is not None:
            found.append((start, index))
            start = None
    if start is not None:
        found.append((start, len(texts)))
    return found


def _nodes(texts: list[str], start: int, end: int) -> list[tuple[int, int]]:
    """The texts Markdown parses inline one at a time within a block: a heading is one, and
    a list's items are one each; anything else stays together (over-counting is safe)."""
    found: list[tuple[int, int]] = []
    current = start
    in_list = bool(LIST_START.match(texts[start]))
    for index in range(start, end):
        text = texts[index]
        if ATX_HEADING.match(text):
            if current < index:
                found.append((current, index))
            found.append((index, index + 1))
            current = index + 1
            in_list = current < end and bool(LIST_START.match(texts[current]))
        elif in_list and index > current and LIST_START.match(text):
            found.append((current, index))
            current = index
    if current < end:
        found.append((current, end))
    return found


def _count_splits(texts: list[str], numbers: list[int], start: int, end: int,
                  tally: _Tally) -> None:
    """Lines split off a block, each making the block parsers test the rest again."""
    remaining_chars = 0
    splits = 0
    cost = 0
    for index in range(end - 1, start - 1, -1):
        text = texts[index]
        if SPLIT_LINE.match(text) or THEMATIC_BREAK.match(text):
            splits += 1
            cost += (remaining_chars // SPLIT_CHARACTERS_PER_UNIT
                     + SPLIT_LINE_WEIGHT * (end - index - 1))
        remaining_chars += len(text) + 1
    if cost:
        tally.add("splits", numbers[start], cost, splits)


def _count_brackets(texts: list[str], numbers: list[int], start: int, end: int,
                    tally: _Tally) -> None:
    """What the link parsers read in one inline text. A `[` (or a link's `(`) closed with
    nothing of its kind inside costs little whatever its length (the search stops at the
    closer, once); one left open, or wrapped round others, is read again and again."""
    node = "\n".join(texts[start:end])
    if not MAY_COST.search(node):
        return
    brackets: list[list[int]] = []  # [offset, weight, wraps another] of each open `[`
    parens: list[list[int]] = []  # [offset, opens a link's address, wraps another] of `(`
    bracket_cost = link_cost = 0
    for token in BRACKET_TOKEN.finditer(node):
        kind, offset = token.group(), token.start()
        if kind[0] == "\\":
            continue
        if kind[-1] == "[":
            if brackets:
                brackets[-1][2] = 1
            brackets.append([offset, IMAGE_WEIGHT if kind == "![" else BRACKET_WEIGHT, 0])
        elif kind[0] == "]":
            if brackets:
                opened, weight, wraps = brackets.pop()
                bracket_cost += (offset - opened) * weight * wraps
            if kind == "](":
                if parens:
                    parens[-1][2] = 1
                parens.append([offset + 1, 1, 0])
        elif kind == "(":
            if parens:
                parens[-1][2] = 1
            parens.append([offset, 0, 0])
        elif parens:
            opened, is_link, wraps = parens.pop()
            link_cost += (offset - opened) * BRACKET_WEIGHT * is_link * wraps
    length = len(node)
    bracket_cost += sum((length - opened) * weight for opened, weight, _wraps in brackets)
    unclosed_links = [opened for opened, is_link, _wraps in parens if is_link]
    link_cost += sum(length - opened for opened in unclosed_links) * BRACKET_WEIGHT
    line = numbers[start]
    if bracket_cost:
        tally.add("brackets", line, bracket_cost, len(brackets))
    if link_cost:
        tally.add("links", line, link_cost, len(unclosed_links))
    runs = sum(1 for _ in FORMATTING.finditer(node))
    if runs > 1:
        tally.add("formatting", line, runs * length // FORMATTING_CHARACTERS_PER_UNIT, runs)


def _count_tags(document: str, numbers: list[int], tally: _Tally) -> None:
    closers = {needle: _Next(document, needle) for needle in (">", "?>", "-->", "]]>")}
    consumed = cost = unclosed = 0
    first = None  # the first `<` that nothing closes, else the first `<`
    for opener in TAG_OPEN.finditer(document):
        offset = document.index("<", opener.start())
        if offset < consumed:
            continue
        closer = _closer_of(document, offset)
        found = closers[closer].at_or_after(offset + 1)
        if found == -1:
            cost += (len(document) - offset) // TAG_CHARACTERS_PER_UNIT
            if not unclosed:
                first = offset
            unclosed += 1
        else:
            consumed = found + len(closer)
            cost += (consumed - offset) // TAG_CHARACTERS_PER_UNIT
            first = offset if first is None else first
    if first is not None:
        tally.add("tags", _line_at(document, numbers, first), cost, unclosed)


def _closer_of(document: str, offset: int) -> str:
    if document.startswith("<?", offset):
        return "?>"
    if document.startswith("<!--", offset):
        return "-->"
    if document.startswith("<![", offset):
        return "]]>"
    return ">"


def _line_at(document: str, numbers: list[int], offset: int) -> int:
    return numbers[document.count("\n", 0, offset)] if numbers else 1


def _count_footnotes(document: str, numbers: list[int], tally: _Tally) -> None:
    seen: dict[str, int] = {}
    references = 0
    cost = 0
    first = None
    for match in FOOTNOTE_REFERENCE.finditer(document):
        label = match.group(1)
        cost += FOOTNOTE_WEIGHT * references + FOOTNOTE_REPEAT_WEIGHT * seen.get(label, 0)
        seen[label] = seen.get(label, 0) + 1
        references += 1
        if first is None:
            first = match.start()
    if first is not None:
        tally.add("footnotes", _line_at(document, numbers, first), cost, references)
