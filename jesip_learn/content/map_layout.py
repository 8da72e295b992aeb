"""Where everything stands on a scenario map: the geometry (SVG user units), the columns and
rows of the layered layout, and the boxes (MapNode) with their words placed in them.

A step's column is its shortest distance, in choices, from the start; within a column, steps
are ordered by the average row of the steps in the previous column that link to them (the
barycentre rule, one sweep), ties broken by the order a breadth-first walk from the start
finds them. Steps no path reaches go in a column of their own at the right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from jesip_learn.content.map_labels import LABEL_TYPE, TextLine, wrap
from jesip_learn.content.model import Step
from jesip_learn.content.scenario_graph import ScenarioGraph, step_label

# --- geometry (SVG user units, each shown SHOWN_SCALE pixels wide) ---------------------------

MARGIN = 32  # wide enough for the channels of backward links left of the first column
HEADER_HEIGHT = 30  # the column headings above the nodes
NODE_WIDTH = 176
LABEL_LINE_CHARACTERS = 22  # of a node's title, per line
LABEL_LINES = 3  # at most; a longer title ends with "…"
CAPTION_HEIGHT = 16  # the node's kind ("Start", "Pass ending") above its title
LINE_HEIGHT = 17
NODE_PADDING = 9
NODE_HEIGHT = NODE_PADDING * 2 + CAPTION_HEIGHT + LABEL_LINES * LINE_HEIGHT
COLUMN_GAP = 136  # room for the choices' labels between columns
UNREACHABLE_GAP = 48  # extra space before the column of unreachable steps
ROW_GAP = 28
LABEL_WIDTH = COLUMN_GAP - 12  # a forward arrow's label, from just past its box
BACK_LANE_GAP = 16  # between the lanes under the drawing that backward links run along
ARROW_LENGTH = 9.0
ARROW_HALF_WIDTH = 4.5
# The map is shown this many screen pixels to a unit, so that its smallest type (the labels')
# is 12 px on screen. A map wider than the page scrolls inside its own box: shrunk to the
# page, a shipped scenario's words would be 3 or 4 px high.
SHOWN_SCALE = 12 / LABEL_TYPE

KIND_LABELS = {
    "start": "Start",
    "step": "Step",
    "pass-ending": "Pass ending",
    "fail-ending": "Fail ending",
    "ending": "Ending with no result",
    "unreachable": "Unreachable step",
    "dead-end": "Dead end",
    "missing": "Missing step",
}


# --- the boxes and columns: what a template draws -----------------------------------------


@dataclass(frozen=True, slots=True)
class MapNode:
    """A box on the map: a step, or a step a link names that does not exist.

    `kind` is the one word that styles the box (see KIND_LABELS); `flags` say everything else
    that is true of it ("start", "unreachable", "dead-end", "no-way-out", "duplicate",
    "methane", "missing"), so a start that is also a dead end shows as both.
    """

    key: str  # unique in the map and safe in an SVG id: "s0", "s1", ... and "m0", ...
    step_id: str
    title: str  # the whole label, for a tooltip (<title>): "Missing step 'x'" for a missing one
    kind: str
    kind_label: str
    flags: tuple[str, ...]
    column: int
    row: int
    depth: int | None  # choices from the start on the shortest path; None when unreachable
    x: float
    y: float
    width: float
    height: float
    caption: TextLine  # the kind label, small, at the top of the box
    lines: tuple[TextLine, ...]  # the title wrapped and cut short ("#x" for a missing step)
    line: int | None  # the line of the step's heading in its file; None for a missing step
    problems: tuple[str, ...]  # what is wrong with this step, in words

    @property
    def classes(self) -> str:
        """CSS classes: `map-node map-node--<kind>` and one `map-node--<flag>` per flag."""
        names = ["map-node", f"map-node--{self.kind}"]
        names += [f"map-node--{flag}" for flag in self.flags if flag != self.kind]
        return " ".join(names)

    @property
    def center_x(self) -> float:
        return self.x + self.width / 2

    @property
    def center_y(self) -> float:
        return self.y + self.height / 2


@dataclass(frozen=True, slots=True)
class MapColumn:
    index: int
    x: float
    width: float
    heading: TextLine  # "Start", "1 choice from the start", ... "Not reachable from the start"
    unreachable: bool


# --- placing the nodes ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Places:
    """Node key → (column, row), the columns' keys top to bottom, and the geometry."""

    column_of: Mapping[str, int]
    columns: tuple[tuple[str, ...], ...]
    unreachable_column: int | None
    bottom: float  # the lowest edge of any box

    @property
    def width(self) -> float:
        """The drawing's: room for links leaving the last column, and a margin."""
        right = max((self.x_of(index) + NODE_WIDTH for index in range(len(self.columns))),
                    default=MARGIN)
        return right + COLUMN_GAP / 2 + MARGIN

    def x_of(self, column: int) -> float:
        x = MARGIN + column * (NODE_WIDTH + COLUMN_GAP)
        if self.unreachable_column and column >= self.unreachable_column:
            x += UNREACHABLE_GAP
        return x

    def y_of(self, column: int, row: int) -> float:
        tallest = max((len(keys) for keys in self.columns), default=0)
        offset = (tallest - len(self.columns[column])) * (NODE_HEIGHT + ROW_GAP) / 2
        return MARGIN + HEADER_HEIGHT + offset + row * (NODE_HEIGHT + ROW_GAP)


def step_key(index: int) -> str:
    """The node key of the step at `index` of `Scenario.steps`."""
    return f"s{index}"


def _missing_key(graph: ScenarioGraph, step_id: str) -> str:
    return f"m{graph.missing.index(step_id)}"


def key_of(graph: ScenarioGraph, step_id: str) -> str:
    """The node of the step a link to `step_id` reaches."""
    index = graph.first.get(step_id)
    return step_key(index) if index is not None else _missing_key(graph, step_id)


def place_nodes(graph: ScenarioGraph) -> Places:
    """Every node's column and row, by the layered layout (see the module's docstring)."""
    order = {step_id: place for place, step_id in enumerate(graph.discovered)}
    layers: dict[int, list[str]] = {}
    for step_id in graph.discovered:
        layers.setdefault(graph.depth[step_id], []).append(step_id)
    # Predecessors one column back, for the barycentre rule.
    parents: dict[str, list[str]] = {}
    for edge in graph.edges:
        if (edge.offered and edge.source in graph.depth and edge.target in graph.depth
                and graph.depth[edge.target] == graph.depth[edge.source] + 1):
            parents.setdefault(edge.target, []).append(edge.source)
    columns: list[list[str]] = []
    row_of: dict[str, int] = {}
    for depth in range(len(layers)):
        layer = layers.get(depth, [])

        def barycentre(step_id: str) -> tuple[float, int]:
            rows = [row_of[parent] for parent in parents.get(step_id, ()) if parent in row_of]
            return (sum(rows) / len(rows) if rows else 0.0, order[step_id])

        ordered = sorted(layer, key=barycentre) if depth else layer
        for row, step_id in enumerate(ordered):
            row_of[step_id] = row
        columns.append([key_of(graph, step_id) for step_id in ordered])

    # Not reached: unreachable steps and duplicates in file order, then missing steps that
    # only they (or choices never offered) link to.
    left_over = [
        step_key(index)
        for index, step in enumerate(graph.steps)
        if index in graph.duplicates or step.id not in graph.depth
    ]
    left_over += [_missing_key(graph, step_id) for step_id in graph.missing
                  if step_id not in graph.depth]
    unreachable_column = None
    if left_over:
        unreachable_column = len(columns)
        columns.append(left_over)
    column_of = {key: index for index, keys in enumerate(columns) for key in keys}
    places = Places(MappingProxyType(column_of), tuple(tuple(keys) for keys in columns),
                     unreachable_column, 0.0)
    bottom = max((places.y_of(index, len(keys) - 1) + NODE_HEIGHT
                  for index, keys in enumerate(places.columns) if keys),
                 default=MARGIN + HEADER_HEIGHT)
    return Places(places.column_of, places.columns, unreachable_column, bottom)


def map_columns(places: Places) -> tuple[MapColumn, ...]:
    """The columns with their headings."""
    columns = []
    for index in range(len(places.columns)):
        unreachable = index == places.unreachable_column
        if unreachable:
            heading = "Not reachable from the start"
        elif index == 0:
            heading = "Start"
        else:
            heading = f"{index} {'choice' if index == 1 else 'choices'} from the start"
        x = places.x_of(index)
        columns.append(MapColumn(
            index=index, x=x, width=NODE_WIDTH,
            heading=TextLine(heading, x + NODE_WIDTH / 2, MARGIN + HEADER_HEIGHT / 2, "middle"),
            unreachable=unreachable,
        ))
    return tuple(columns)


def map_nodes(graph: ScenarioGraph, places: Places) -> tuple[MapNode, ...]:
    """The boxes in reading order: columns left to right, each top to bottom."""
    nodes = []
    for column, keys in enumerate(places.columns):
        for row, key in enumerate(keys):
            nodes.append(_node(graph, key, column, row, places))
    return tuple(nodes)


def _node(graph: ScenarioGraph, key: str, column: int, row: int, places: Places) -> MapNode:
    if key.startswith("m"):
        step_id = graph.missing[int(key[1:])]
        step, title, shown, line = None, f"Missing step '{step_id}'", f"#{step_id}", None
    else:
        step = graph.steps[int(key[1:])]
        step_id, title, line = step.id, step_label(step), step.line
        shown = title
    flags = _flags(graph, key, step, step_id)
    kind = _kind(step, flags)
    x, y = places.x_of(column), places.y_of(column, row)
    wrapped = wrap(shown, LABEL_LINE_CHARACTERS, LABEL_LINES)
    first_line = y + NODE_PADDING + CAPTION_HEIGHT + LINE_HEIGHT - 4
    lines = tuple(
        TextLine(text, x + NODE_PADDING, first_line + index * LINE_HEIGHT)
        for index, text in enumerate(wrapped)
    )
    caption = TextLine(KIND_LABELS[kind], x + NODE_PADDING, y + NODE_PADDING + CAPTION_HEIGHT - 4)
    depth = graph.depth.get(step_id) if "duplicate" not in flags else None
    return MapNode(
        key=key, step_id=step_id, title=title, kind=kind, kind_label=KIND_LABELS[kind],
        flags=flags, column=column, row=row, depth=depth,
        x=x, y=y, width=NODE_WIDTH, height=NODE_HEIGHT, caption=caption, lines=lines, line=line,
        problems=tuple(words for flag, words in NODE_PROBLEMS.items() if flag in flags),
    )


def _flags(graph: ScenarioGraph, key: str, step: Step | None, step_id: str) -> tuple[str, ...]:
    duplicate = step is not None and graph.first.get(step_id) != int(key[1:])
    flags = []
    if step_id == graph.scenario.start and not duplicate:
        flags.append("start")
    if step is None:
        flags.append("missing")
    elif duplicate:
        flags += ["duplicate", "unreachable"]
    else:
        if step_id not in graph.reachable:
            flags.append("unreachable")
        if step_id in graph.dead_ends:
            flags.append("dead-end")
        if step_id in graph.no_way_out:
            flags.append("no-way-out")
        if step.kind == "methane":
            flags.append("methane")
    return tuple(flags)


def _kind(step: Step | None, flags: tuple[str, ...]) -> str:
    if step is None:
        return "missing"
    if "start" in flags:
        return "start"
    if "unreachable" in flags:
        return "unreachable"
    if "dead-end" in flags:
        return "dead-end"
    if step.kind == "end":
        return {"pass": "pass-ending", "fail": "fail-ending"}.get(step.result or "", "ending")
    return "step"


NODE_PROBLEMS = {
    "missing": "no step has this id",
    "duplicate": "another step already has this id",
    "unreachable": "can't be reached from the start",
    "dead-end": "dead end: no choice leads on",
    "no-way-out": "no ending can be reached from here",
}


# --- coordinates as text ---------------------------------------------------------------------


def svg_number(value: float) -> str:
    """A coordinate as short text: 12, 12.5, never 12.000000001."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)
