"""A scenario as a map: its steps and choices as a graph, what is wrong with the graph, a
layered layout for a server-rendered SVG, and a text alternative for the same picture.

Pure: the parsed Scenario in, frozen dataclasses out. It works on drafts that do not
validate yet: the parser always builds a Scenario (`ParseResult.draft`), whatever problems
it reports, and a choice's `target` is kept as written even when it names no step. Such a
target becomes a "missing step" node, so the trainer sees where the broken link points.

    graph = scenario_graph(scenario)       # reachability, dead ends, no way out, missing
    picture = scenario_map(scenario)       # the graph laid out, plus the outline in words

What the map calls each problem (the same rules as scenario_checks.check_scenario):
- unreachable: no path of choices leads to the step from the start step;
- dead end: a step that is not an ending and has no choice leading to a step that exists
  (no choices at all, or only links to missing steps);
- no way out: a step that is not an ending and not a dead end, from which no ending can be
  reached (choices that only go round in a cycle);
- missing step: an id that a choice (or `start`) names but no step has;
- duplicate: a step whose id an earlier step already has; like the player, every link
  goes to the first, so a duplicate can never be reached.
A run stops at an ending, so choices written on an ending are never offered: they are drawn
(flagged "never-offered") but lead nowhere in the reachability rules.

The layout is a simple layered one: a step's column is its shortest distance, in choices,
from the start; within a column, steps are ordered by the average row of the steps in the
previous column that link to them (the barycentre rule, one sweep), ties broken by the order
a breadth-first walk from the start finds them, so the same scenario always gives the same
picture. Steps no path reaches go in a column of their own at the right. Every coordinate
the SVG needs is computed here: a template only copies numbers and text into elements.
"""

from __future__ import annotations

import textwrap
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from types import MappingProxyType

from jesip_learn.content.model import Choice, Scenario, Step

# --- geometry (SVG user units, about a pixel each) ------------------------------------------

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
EDGE_LABEL_CHARACTERS = 20
BACK_LANE_GAP = 16  # between the lanes under the drawing that backward links run along
ARROW_LENGTH = 9.0
ARROW_HALF_WIDTH = 4.5

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


def plain_text(html: str) -> str:
    """The text of a piece of HTML, entities decoded and white space collapsed."""
    reader = _TextReader()
    reader.feed(html or "")
    reader.close()
    return " ".join("".join(reader.parts).split())


class _TextReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def step_label(step: Step) -> str:
    """What a step is called on the map: its title as plain text, else its id."""
    return plain_text(step.title_html) or step.title.strip() or step.id or "(untitled step)"


# --- the graph ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """One choice: from the step at `source_index` of `Scenario.steps` to `choice.target`."""

    source_index: int
    source: str  # the step id
    choice: Choice
    missing: bool  # the target names no step
    offered: bool  # False for a choice on an ending (a run stops there) or on a duplicate

    @property
    def target(self) -> str:
        return self.choice.target


@dataclass(frozen=True, slots=True)
class ScenarioGraph:
    """The steps and choices of a scenario, and what is wrong with their links.

    Step ids in `reachable`, `unreachable`, `dead_ends` and `no_way_out` name the first step
    with that id (`first`); `duplicates` are the indexes of the others. `depth` gives, for
    every step and missing id a path reaches, its shortest distance in choices from the
    start; `discovered` is the order a breadth-first walk from the start found them.
    """

    scenario: Scenario
    first: Mapping[str, int]  # step id → index in scenario.steps of the first with it
    duplicates: tuple[int, ...]
    edges: tuple[GraphEdge, ...]  # every choice of every step, in file order
    start_found: bool  # `start` names a step
    reachable: frozenset[str]
    depth: Mapping[str, int]
    discovered: tuple[str, ...]
    unreachable: tuple[str, ...]
    dead_ends: tuple[str, ...]
    no_way_out: tuple[str, ...]
    missing: tuple[str, ...]  # ids linked to (or named by `start`) that no step has

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.scenario.steps

    def step(self, step_id: str) -> Step | None:
        index = self.first.get(step_id)
        return None if index is None else self.scenario.steps[index]

    @property
    def has_pass_ending(self) -> bool:
        return any(step.kind == "end" and step.result == "pass" for step in self.steps)

    @property
    def problems(self) -> tuple[str, ...]:
        """Everything wrong with the links, one sentence each, for the trainer."""
        found: list[str] = []
        scenario = self.scenario
        if not scenario.steps:
            return ("The scenario has no steps: each '## Heading {#id}' is one.",)
        if not scenario.start:
            found.append("The scenario has no start: name the first step, as in 'start: arrival'.")
        elif not self.start_found:
            found.append(f"The start names a step that does not exist: '{scenario.start}'.")
        if not self.has_pass_ending:
            found.append("No ending has result=pass, so no learner could complete the scenario.")
        for index in self.duplicates:
            step = scenario.steps[index]
            found.append(
                f"Step '{step_label(step)}' has the id '{step.id}' of an earlier step, "
                "so no choice can lead to it."
            )
        for edge in self.edges:
            if edge.missing:
                source = scenario.steps[edge.source_index]
                found.append(
                    f"Choice '{plain_text(edge.choice.label_html)}' on step "
                    f"'{step_label(source)}' links to a step that does not exist: "
                    f"#{edge.target}."
                )
        for step_id in self.unreachable:
            found.append(f"Step '{self._label(step_id)}' can't be reached from the start.")
        for step_id in self.dead_ends:
            found.append(
                f"Step '{self._label(step_id)}' is a dead end: it is not an ending and no "
                "choice on it leads to a step."
            )
        for step_id in self.no_way_out:
            found.append(
                f"From step '{self._label(step_id)}' no ending can be reached: the choices "
                "only go round in a circle."
            )
        return tuple(found)

    def _label(self, step_id: str) -> str:
        step = self.step(step_id)
        return step_label(step) if step is not None else step_id


def scenario_graph(scenario: Scenario) -> ScenarioGraph:
    """The graph of a scenario, valid or not."""
    steps = scenario.steps
    first: dict[str, int] = {}
    duplicates: list[int] = []
    for index, step in enumerate(steps):
        if step.id in first:
            duplicates.append(index)
        else:
            first[step.id] = index
    duplicate_set = set(duplicates)
    edges = tuple(
        GraphEdge(
            source_index=index,
            source=step.id,
            choice=choice,
            missing=choice.target not in first,
            offered=step.kind != "end" and index not in duplicate_set,
        )
        for index, step in enumerate(steps)
        for choice in step.choices
    )
    forward: dict[str, list[str]] = {}
    for edge in edges:
        if edge.offered:
            forward.setdefault(edge.source, []).append(edge.target)

    missing: list[str] = []
    if scenario.start and scenario.start not in first:
        missing.append(scenario.start)
    for edge in edges:
        if edge.missing and edge.target not in missing:
            missing.append(edge.target)

    depth: dict[str, int] = {}
    discovered: list[str] = []
    if scenario.start:
        depth[scenario.start] = 0
        discovered.append(scenario.start)
        queue = deque([scenario.start])
        while queue:
            current = queue.popleft()
            if current not in first:
                continue  # a missing step: nothing leads on from it
            for target in forward.get(current, ()):
                if target not in depth:
                    depth[target] = depth[current] + 1
                    discovered.append(target)
                    queue.append(target)
    reachable = frozenset(step_id for step_id in depth if step_id in first)

    backward: dict[str, list[str]] = {}
    for source, targets in forward.items():
        for target in targets:
            backward.setdefault(target, []).append(source)
    can_finish = _walk([step.id for step in steps if step.kind == "end"], backward)

    primary = [steps[index] for index in first.values()]
    dead_ends = tuple(
        step.id
        for step in primary
        if step.kind != "end" and not any(target in first for target in forward.get(step.id, ()))
    )
    no_way_out = tuple(
        step.id
        for step in primary
        if step.kind != "end" and step.id not in can_finish and step.id not in dead_ends
    )
    return ScenarioGraph(
        scenario=scenario,
        first=MappingProxyType(first),
        duplicates=tuple(duplicates),
        edges=edges,
        start_found=scenario.start in first,
        reachable=reachable,
        depth=MappingProxyType(depth),
        discovered=tuple(discovered),
        unreachable=tuple(step.id for step in primary if step.id not in reachable),
        dead_ends=dead_ends,
        no_way_out=no_way_out,
        missing=tuple(missing),
    )


def _walk(starts: list[str], links: Mapping[str, list[str]]) -> set[str]:
    seen = set(starts)
    queue = deque(starts)
    while queue:
        for target in links.get(queue.popleft(), ()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


# --- the map: what a template draws -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextLine:
    """A line of text and where its baseline starts (or is centred: see `anchor`)."""

    text: str
    x: float
    y: float
    anchor: str = "start"  # the SVG text-anchor: "start" or "middle"


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
class MapEdge:
    """A choice drawn as an arrow: `path` is an SVG path (the `d` attribute) from the source
    box to the target box, `arrow` the points of a small triangle at its end (a `polygon`),
    and `label` sits at `label_x`, `label_y` with the text-anchor `label_anchor`.

    `flags`: "back" (goes to the same or an earlier column, drawn along a lane under the
    map), "self" (back to its own step), "to-missing" (the target does not exist),
    "never-offered" (a choice on an ending or a duplicate step), "unreachable" (from a step
    no path reaches)."""

    key: str
    source: str  # node key
    target: str  # node key
    step_id: str
    choice_id: str
    label: str  # cut short to fit between columns
    label_full: str
    score: int
    flags: tuple[str, ...]
    path: str
    arrow: str
    label_x: float
    label_y: float
    label_anchor: str
    line: int

    @property
    def classes(self) -> str:
        return " ".join(["map-edge", *(f"map-edge--{flag}" for flag in self.flags)])


@dataclass(frozen=True, slots=True)
class MapColumn:
    index: int
    x: float
    width: float
    heading: TextLine  # "Start", "1 choice from the start", ... "Not reachable from the start"
    unreachable: bool


@dataclass(frozen=True, slots=True)
class OutlineChoice:
    label: str
    target_id: str
    target_title: str
    score: int
    missing: bool  # the target does not exist

    @property
    def text(self) -> str:
        points = f" ({self.score} {'point' if abs(self.score) == 1 else 'points'})"
        target = f"missing step '{self.target_id}'" if self.missing else f"'{self.target_title}'"
        return f"choice '{self.label}'{points if self.score else ''} → {target}"


@dataclass(frozen=True, slots=True)
class OutlineEntry:
    """One step in words: `text` reads like "Step 'Arrival' (start): choice 'Declare a major
    incident' → 'METHANE'; choice 'Wait' → 'A slow start'."."""

    node_key: str
    step_id: str
    noun: str  # "Step", "Ending" or "Missing step"
    title: str
    notes: tuple[str, ...]  # "start", "pass", "can't be reached from the start", ...
    choices: tuple[OutlineChoice, ...]
    linked_from: tuple[str, ...]  # missing steps only: the titles of the steps linking here

    @property
    def text(self) -> str:
        head = f"{self.noun} '{self.title}'"
        if self.notes:
            head += f" ({', '.join(self.notes)})"
        if self.linked_from:
            sources = ", ".join(f"'{title}'" for title in self.linked_from)
            return f"{head}: linked from {sources}."
        if not self.choices:
            return f"{head}."
        return f"{head}: {'; '.join(choice.text for choice in self.choices)}."


@dataclass(frozen=True, slots=True)
class ScenarioMap:
    """Everything a template needs to draw a scenario as an SVG and describe it in words.

    `outline` lists the steps in the map's reading order (columns left to right, each top to
    bottom, the unreachable column last); `unreachable`, `dead_ends`, `no_way_out`, `missing`
    and `duplicates` name the steps with each problem (by id), and `problems` says each in a
    sentence.
    """

    title: str
    start: str
    graph: ScenarioGraph
    nodes: tuple[MapNode, ...]
    edges: tuple[MapEdge, ...]
    columns: tuple[MapColumn, ...]
    width: float
    height: float
    outline: tuple[OutlineEntry, ...]
    summary: str
    problems: tuple[str, ...]

    @property
    def view_box(self) -> str:
        return f"0 0 {_number(self.width)} {_number(self.height)}"

    @property
    def unreachable(self) -> tuple[str, ...]:
        return self.graph.unreachable

    @property
    def dead_ends(self) -> tuple[str, ...]:
        return self.graph.dead_ends

    @property
    def no_way_out(self) -> tuple[str, ...]:
        return self.graph.no_way_out

    @property
    def missing(self) -> tuple[str, ...]:
        return self.graph.missing

    @property
    def duplicates(self) -> tuple[str, ...]:
        return tuple(self.graph.steps[index].id for index in self.graph.duplicates)

    @property
    def ok(self) -> bool:
        return not self.problems

    def node(self, key: str) -> MapNode | None:
        return next((node for node in self.nodes if node.key == key), None)

    def node_for_step(self, step_id: str) -> MapNode | None:
        """The box of the step (the first with this id) or of the missing step."""
        return next((node for node in self.nodes if node.step_id == step_id
                     and "duplicate" not in node.flags), None)


def scenario_map(scenario: Scenario) -> ScenarioMap:
    """The scenario laid out for an SVG, with its outline in words. Never raises on a draft."""
    graph = scenario_graph(scenario)
    places = _place(graph)
    nodes = _nodes(graph, places)
    by_key = {node.key: node for node in nodes}
    edges, lanes = _edges(graph, by_key, places)
    columns = _columns(places)
    right = max((column.x + column.width for column in columns), default=MARGIN)
    width = right + COLUMN_GAP / 2 + MARGIN  # room for links leaving the last column
    height = places.bottom + MARGIN
    if lanes:  # the lowest lane the backward links run along, and the margin under it
        height += ROW_GAP + (lanes - 1) * BACK_LANE_GAP
    return ScenarioMap(
        title=scenario.title,
        start=scenario.start,
        graph=graph,
        nodes=nodes,
        edges=edges,
        columns=columns,
        width=round(width, 1),
        height=round(height, 1),
        outline=_outline(graph, nodes),
        summary=_summary(graph),
        problems=graph.problems,
    )


# --- placing the nodes ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Places:
    """Node key → (column, row), the columns' keys top to bottom, and the geometry."""

    column_of: Mapping[str, int]
    columns: tuple[tuple[str, ...], ...]
    unreachable_column: int | None
    bottom: float  # the lowest edge of any box

    def x_of(self, column: int) -> float:
        x = MARGIN + column * (NODE_WIDTH + COLUMN_GAP)
        if self.unreachable_column and column >= self.unreachable_column:
            x += UNREACHABLE_GAP
        return x

    def y_of(self, column: int, row: int) -> float:
        tallest = max((len(keys) for keys in self.columns), default=0)
        offset = (tallest - len(self.columns[column])) * (NODE_HEIGHT + ROW_GAP) / 2
        return MARGIN + HEADER_HEIGHT + offset + row * (NODE_HEIGHT + ROW_GAP)


def _step_key(index: int) -> str:
    return f"s{index}"


def _missing_key(graph: ScenarioGraph, step_id: str) -> str:
    return f"m{graph.missing.index(step_id)}"


def _key_of(graph: ScenarioGraph, step_id: str) -> str:
    """The node of the step a link to `step_id` reaches."""
    index = graph.first.get(step_id)
    return _step_key(index) if index is not None else _missing_key(graph, step_id)


def _place(graph: ScenarioGraph) -> _Places:
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
        columns.append([_key_of(graph, step_id) for step_id in ordered])

    # Not reached: unreachable steps and duplicates in file order, then missing steps that
    # only they (or choices never offered) link to.
    left_over = [
        _step_key(index)
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
    places = _Places(MappingProxyType(column_of), tuple(tuple(keys) for keys in columns),
                     unreachable_column, 0.0)
    bottom = max((places.y_of(index, len(keys) - 1) + NODE_HEIGHT
                  for index, keys in enumerate(places.columns) if keys),
                 default=MARGIN + HEADER_HEIGHT)
    return _Places(places.column_of, places.columns, unreachable_column, bottom)


def _columns(places: _Places) -> tuple[MapColumn, ...]:
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


def _nodes(graph: ScenarioGraph, places: _Places) -> tuple[MapNode, ...]:
    nodes = []
    for column, keys in enumerate(places.columns):
        for row, key in enumerate(keys):
            nodes.append(_node(graph, key, column, row, places))
    return tuple(nodes)


def _node(graph: ScenarioGraph, key: str, column: int, row: int, places: _Places) -> MapNode:
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
    wrapped = _wrap(shown, LABEL_LINE_CHARACTERS, LABEL_LINES)
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


def _wrap(text: str, width: int, lines: int) -> tuple[str, ...]:
    wrapped = textwrap.wrap(text, width, break_long_words=True) or [""]
    if len(wrapped) > lines:
        last = " ".join(wrapped[lines - 1:])
        wrapped = [*wrapped[:lines - 1], _shorten(last, width)]
    return tuple(wrapped)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


# --- drawing the links ----------------------------------------------------------------------


@dataclass(slots=True)
class _Link:
    edge: GraphEdge
    key: str
    source: MapNode
    target: MapNode
    flags: list[str]
    start_y: float = 0.0
    end_y: float = 0.0


def _edges(graph: ScenarioGraph, nodes: Mapping[str, MapNode],
           places: _Places) -> tuple[tuple[MapEdge, ...], int]:
    """The arrows, and how many lanes under the map the backward ones use."""
    links = []
    for edge in graph.edges:
        source = nodes[_step_key(edge.source_index)]
        target = nodes[_key_of(graph, edge.target)]
        flags = []
        if source.key == target.key:
            flags.append("self")
        elif target.column <= source.column:
            flags.append("back")
        if edge.missing:
            flags.append("to-missing")
        if not edge.offered:
            flags.append("never-offered")
        if "unreachable" in source.flags:
            flags.append("unreachable")
        links.append(_Link(edge, f"e{edge.source_index}-{edge.choice.id}", source, target, flags))
    _assign_ports(links)
    lane = 0
    drawn = []
    for link in links:
        if "self" in link.flags:
            path, arrow, label = _self_loop(link.source)
        elif "back" in link.flags:
            lane_y = places.bottom + ROW_GAP + lane * BACK_LANE_GAP
            path, arrow, label = _back_link(link, lane_y, lane)
            lane += 1
        else:
            path, arrow, label = _forward_link(link)
        text = plain_text(link.edge.choice.label_html) or f"Choice {link.edge.choice.id}"
        drawn.append(MapEdge(
            key=link.key, source=link.source.key, target=link.target.key,
            step_id=link.edge.source, choice_id=link.edge.choice.id,
            label=_shorten(text, EDGE_LABEL_CHARACTERS), label_full=text,
            score=link.edge.choice.score, flags=tuple(link.flags), path=path, arrow=arrow,
            label_x=label.x, label_y=label.y, label_anchor=label.anchor,
            line=link.edge.choice.line,
        ))
    return tuple(drawn), lane


def _assign_ports(links: list[_Link]) -> None:
    """Spread the links leaving a box down its right side, and those arriving down its left
    side, in the order of the box at the other end (backward links last: they go under)."""
    leaving: dict[str, list[_Link]] = {}
    arriving: dict[str, list[_Link]] = {}
    for link in links:
        if "self" in link.flags:
            continue
        leaving.setdefault(link.source.key, []).append(link)
        arriving.setdefault(link.target.key, []).append(link)
    for group in leaving.values():
        group.sort(key=lambda link: ("back" in link.flags, link.target.center_y,
                                     link.target.column, link.key))
        for index, link in enumerate(group):
            link.start_y = _port(link.source, index, len(group))
    for group in arriving.values():
        group.sort(key=lambda link: ("back" in link.flags, link.source.center_y,
                                     link.source.column, link.key))
        for index, link in enumerate(group):
            link.end_y = _port(link.target, index, len(group))


def _port(node: MapNode, index: int, count: int) -> float:
    return round(node.y + node.height * (index + 1) / (count + 1), 1)


def _forward_link(link: _Link) -> tuple[str, str, TextLine]:
    x0, y0 = link.source.x + link.source.width, link.start_y
    x3, y3 = link.target.x, link.end_y
    bend = max(40.0, (x3 - x0) / 2)
    p1, p2 = (x0 + bend, y0), (x3 - bend, y3)
    path = (f"M {_number(x0)} {_number(y0)} C {_number(p1[0])} {_number(p1[1])}, "
            f"{_number(p2[0])} {_number(p2[1])}, {_number(x3)} {_number(y3)}")
    label = TextLine("", x0 + 6, y0 - 5, "start")
    return path, _arrow(p2, (x3, y3)), label


def _back_link(link: _Link, lane_y: float, lane: int) -> tuple[str, str, TextLine]:
    """Out of the source's right side, down a channel between columns to a lane under the
    map, along it, up the channel left of the target and into its left side."""
    nudge = 8 + 6 * (lane % 4)
    x0, y0 = link.source.x + link.source.width, link.start_y
    x3, y3 = link.target.x, link.end_y
    out_x, in_x = x0 + nudge, x3 - nudge
    points = [(x0, y0), (out_x, y0), (out_x, lane_y), (in_x, lane_y), (in_x, y3), (x3, y3)]
    path = "M " + " L ".join(f"{_number(x)} {_number(y)}" for x, y in points)
    label = TextLine("", (out_x + in_x) / 2, lane_y - 4, "middle")
    return path, _arrow((in_x, y3), (x3, y3)), label


def _self_loop(node: MapNode) -> tuple[str, str, TextLine]:
    """From the right side, up over the box and down into its top."""
    right, top = node.x + node.width, node.y
    above = top - ROW_GAP / 2
    points = [(right, node.center_y), (right + 14, node.center_y), (right + 14, above),
              (node.center_x, above), (node.center_x, top)]
    path = "M " + " L ".join(f"{_number(x)} {_number(y)}" for x, y in points)
    label = TextLine("", (right + 14 + node.center_x) / 2, above - 4, "middle")
    return path, _arrow((node.center_x, above), (node.center_x, top)), label


def _arrow(before: tuple[float, float], tip: tuple[float, float]) -> str:
    """A triangle pointing from `before` to `tip`, its point at `tip`."""
    dx, dy = tip[0] - before[0], tip[1] - before[1]
    length = (dx * dx + dy * dy) ** 0.5 or 1.0
    ux, uy = dx / length, dy / length
    base_x, base_y = tip[0] - ux * ARROW_LENGTH, tip[1] - uy * ARROW_LENGTH
    corners = [tip, (base_x - uy * ARROW_HALF_WIDTH, base_y + ux * ARROW_HALF_WIDTH),
               (base_x + uy * ARROW_HALF_WIDTH, base_y - ux * ARROW_HALF_WIDTH)]
    return " ".join(f"{_number(x)},{_number(y)}" for x, y in corners)


def _number(value: float) -> str:
    """A coordinate as short text: 12, 12.5, never 12.000000001."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)


# --- the words ------------------------------------------------------------------------------


OUTLINE_NOTES = {
    "start": "start",
    "methane": "METHANE message",
    "duplicate": "another step already has this id",
    "unreachable": "can't be reached from the start",
    "dead-end": "dead end",
    "no-way-out": "no ending can be reached from here",
}


def _outline(graph: ScenarioGraph, nodes: tuple[MapNode, ...]) -> tuple[OutlineEntry, ...]:
    entries = []
    titles = {step_id: step_label(graph.steps[index]) for step_id, index in graph.first.items()}
    for node in nodes:
        if node.kind == "missing":
            sources = []
            for edge in graph.edges:
                title = step_label(graph.steps[edge.source_index])
                if edge.target == node.step_id and title not in sources:
                    sources.append(title)
            notes = ("named as the start",) if "start" in node.flags else ()
            entries.append(OutlineEntry(node.key, node.step_id, "Missing step", node.step_id,
                                        ("no step has this id", *notes), (), tuple(sources)))
            continue
        index = int(node.key[1:])
        step = graph.steps[index]
        notes = [OUTLINE_NOTES[flag] for flag in node.flags if flag in OUTLINE_NOTES]
        if step.kind == "end":
            notes.insert(1 if "start" in node.flags else 0,
                         step.result or "no result: add result=pass or result=fail")
            if step.choices:
                notes.append("an ending: its choices are never offered")
        choices = tuple(
            OutlineChoice(
                label=plain_text(choice.label_html) or f"Choice {choice.id}",
                target_id=choice.target,
                target_title=titles.get(choice.target, choice.target),
                score=choice.score,
                missing=choice.target not in graph.first,
            )
            for choice in step.choices
        )
        entries.append(OutlineEntry(node.key, step.id, "Ending" if step.kind == "end" else "Step",
                                    node.title, tuple(notes), choices, ()))
    return tuple(entries)


def _summary(graph: ScenarioGraph) -> str:
    """One sentence: how big the scenario is, and whether its links are sound."""
    steps = len(graph.steps)
    endings = [step for step in graph.steps if step.kind == "end"]
    passes = sum(1 for step in endings if step.result == "pass")
    fails = sum(1 for step in endings if step.result == "fail")
    choices = len(graph.edges)
    text = (f"{steps} {'step' if steps == 1 else 'steps'}, of which {len(endings)} "
            f"{'is an ending' if len(endings) == 1 else 'are endings'} ({passes} pass, "
            f"{fails} fail), and {choices} {'choice' if choices == 1 else 'choices'}.")
    problems = len(graph.problems)
    if problems:
        return f"{text} {problems} {'problem' if problems == 1 else 'problems'} with the links."
    return f"{text} Every step can be reached from the start and every path can end."
