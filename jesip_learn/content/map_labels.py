"""The text on a scenario map: lines of text placed for the SVG, and the choices' labels
wrapped over as many lines as the map has room for, so a label shows whole where it fits
and is cut short ("…") only where it does not (the whole label is always the arrow's
<title>, and in the map in words).

A forward arrow's label stands above the point where the arrow leaves its box, its lines
stacked upwards as far as the arrow above it (or a little over the box's top). An arrow
back along a lane under the map has one line, as wide as the lane's run."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

LABEL_TYPE = 11  # the labels' type size in SVG units (static/css/app.css), the map's smallest
CHARACTER_WIDTH = 6.2  # an average character of that type, in SVG units
LINE_HEIGHT = 13  # between the baselines of a label's lines
TEXT_HEIGHT = 8  # from a line's baseline to the top of its capitals
RISE = 5  # a label's baseline stands this far above the arrow it labels
SHORTEST_LINE = 8  # characters: a label is never squeezed narrower than this
MOST_LINES = 6


@dataclass(frozen=True, slots=True)
class TextLine:
    """A line of text and where its baseline starts (or is centred: see `anchor`)."""

    text: str
    x: float
    y: float
    anchor: str = "start"  # the SVG text-anchor: "start" or "middle"


def wrap(text: str, width: int, lines: int) -> tuple[str, ...]:
    """`text` over at most `lines` lines of `width` characters, the last cut short."""
    wrapped = textwrap.wrap(text, width, break_long_words=True) or [""]
    if len(wrapped) > lines:
        last = " ".join(wrapped[lines - 1 :])
        wrapped = [*wrapped[: lines - 1], shorten(last, width)]
    return tuple(wrapped)


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def characters_in(width: float) -> int:
    return max(SHORTEST_LINE, int(width // CHARACTER_WIDTH))


def stacked_label(text: str, last: TextLine, width: float, room: float) -> tuple[TextLine, ...]:
    """`text` in lines `width` units wide, the last line at `last` (its baseline) and the
    others stacked above it, as many as fit in `room` units above that baseline."""
    fitting = 1 + int((room - TEXT_HEIGHT) // LINE_HEIGHT)
    wrapped = wrap(text, characters_in(width), min(max(1, fitting), MOST_LINES))
    return tuple(
        TextLine(
            line, last.x, round(last.y - (len(wrapped) - 1 - index) * LINE_HEIGHT, 1), last.anchor
        )
        for index, line in enumerate(wrapped)
    )
