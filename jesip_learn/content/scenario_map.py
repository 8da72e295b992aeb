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
the SVG needs is computed in Python: a template only copies numbers and text into elements.

This module owns ScenarioMap, what a template draws, and `scenario_map`, which builds it
from the parts in
- scenario_graph.py: the graph and its analysis (reachability, depth, problems);
- map_layout.py: the geometry, the columns and rows, the boxes;
- map_arrows.py: the arrows, their SVG paths and where their labels stand;
- map_labels.py: the labels' lines, wrapped to the room they have;
- map_outline.py: the map in words and its one-sentence summary.
"""

from __future__ import annotations

from dataclasses import dataclass

from jesip_learn.content.map_arrows import MapEdge, map_edges
from jesip_learn.content.map_layout import (
    BACK_LANE_GAP,
    HEADER_HEIGHT,
    LABEL_WIDTH,
    MARGIN,
    NODE_HEIGHT,
    NODE_WIDTH,
    ROW_GAP,
    SHOWN_SCALE,
    MapColumn,
    MapNode,
    map_columns,
    map_nodes,
    place_nodes,
    svg_number,
)
from jesip_learn.content.map_outline import (
    OutlineChoice,
    OutlineEntry,
    map_summary,
    outline_entries,
)
from jesip_learn.content.model import Scenario
from jesip_learn.content.scenario_graph import (
    GraphEdge,
    ScenarioGraph,
    plain_text,
    scenario_graph,
    step_label,
)

# What callers import from here; each lives in the module named above.
__all__ = [
    "HEADER_HEIGHT",
    "LABEL_WIDTH",
    "MARGIN",
    "NODE_HEIGHT",
    "NODE_WIDTH",
    "SHOWN_SCALE",
    "GraphEdge",
    "MapColumn",
    "MapEdge",
    "MapNode",
    "OutlineChoice",
    "OutlineEntry",
    "ScenarioGraph",
    "ScenarioMap",
    "plain_text",
    "scenario_graph",
    "scenario_map",
    "step_label",
]


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
        return f"0 0 {svg_number(self.width)} {svg_number(self.height)}"

    @property
    def shown_width(self) -> str:
        """The SVG's width on screen, in CSS pixels (see SHOWN_SCALE)."""
        return svg_number(self.width * SHOWN_SCALE)

    @property
    def shown_height(self) -> str:
        return svg_number(self.height * SHOWN_SCALE)

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
    places = place_nodes(graph)
    nodes = map_nodes(graph, places)
    by_key = {node.key: node for node in nodes}
    edges, lanes = map_edges(graph, by_key, places)
    columns = map_columns(places)
    width = places.width
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
        outline=outline_entries(graph, nodes),
        summary=map_summary(graph),
        problems=graph.problems,
    )
