"""The arrows of a scenario map, one a choice: where each leaves and enters its boxes, its
SVG path and arrowhead, and where its label stands and how many lines it may take.

A forward arrow is a curve from the right side of its box to the left side of the next;
an arrow to the same or an earlier column runs down a channel between columns, along a lane
of its own under the map, and up into its target; a choice back to its own step loops over
the box.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jesip_learn.content.map_labels import RISE, TextLine, stacked_label
from jesip_learn.content.map_layout import (
    ARROW_HALF_WIDTH,
    ARROW_LENGTH,
    BACK_LANE_GAP,
    HEADER_HEIGHT,
    LABEL_WIDTH,
    MARGIN,
    ROW_GAP,
    MapNode,
    Places,
    key_of,
    step_key,
    svg_number,
)
from jesip_learn.content.scenario_graph import GraphEdge, ScenarioGraph, plain_text


@dataclass(frozen=True, slots=True)
class MapEdge:
    """A choice drawn as an arrow: `path` is an SVG path (the `d` attribute) from the source
    box to the target box, `arrow` the points of a small triangle at its end (a `polygon`),
    and `label_lines` the choice's label over as many lines as there is room for
    (map_labels), its last line at `label_x`, `label_y` with the text-anchor `label_anchor`.

    `flags`: "back" (goes to the same or an earlier column, drawn along a lane under the
    map), "self" (back to its own step), "to-missing" (the target does not exist),
    "never-offered" (a choice on an ending or a duplicate step), "unreachable" (from a step
    no path reaches)."""

    key: str
    source: str  # node key
    target: str  # node key
    step_id: str
    choice_id: str
    label_lines: tuple[TextLine, ...]  # the last cut short if the label does not fit
    label_full: str
    score: int
    flags: tuple[str, ...]
    path: str
    arrow: str
    line: int

    @property
    def label(self) -> str:
        return " ".join(line.text for line in self.label_lines)

    @property
    def label_x(self) -> float:
        return self.label_lines[-1].x

    @property
    def label_y(self) -> float:
        return self.label_lines[-1].y

    @property
    def label_anchor(self) -> str:
        return self.label_lines[-1].anchor

    @property
    def classes(self) -> str:
        return " ".join(["map-edge", *(f"map-edge--{flag}" for flag in self.flags)])


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


def map_edges(graph: ScenarioGraph, nodes: Mapping[str, MapNode],
           places: Places) -> tuple[tuple[MapEdge, ...], int]:
    """The arrows, and how many lanes under the map the backward ones use."""
    links = []
    for edge in graph.edges:
        source = nodes[step_key(edge.source_index)]
        target = nodes[key_of(graph, edge.target)]
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
    ports: dict[str, list[float]] = {}  # where arrows leave each box, for the labels' room
    for link in links:  # (a loop back to its box: where its label stands, over the box)
        loop_label = link.source.y - ROW_GAP / 2 - 4
        ports.setdefault(link.source.key, []).append(
            loop_label if "self" in link.flags else link.start_y)
    lane = 0
    drawn = []
    for link in links:
        width, room = LABEL_WIDTH, 0.0  # one line, unless a forward arrow has room above
        if "self" in link.flags:
            path, arrow, label = _self_loop(link.source)
        elif "back" in link.flags:
            lane_y = places.bottom + ROW_GAP + lane * BACK_LANE_GAP
            path, arrow, label = _back_link(link, lane_y, lane)
            # Alone on its lane: as wide as its run along it, within the drawing.
            run = abs(link.target.x - link.source.x - link.source.width)
            width = min(max(run, LABEL_WIDTH), 2 * min(label.x, places.width - label.x) - 8)
            lane += 1
        else:
            path, arrow, label = _forward_link(link)
            room = label.y - _label_ceiling(link, ports, nodes, places) - 1
        text = plain_text(link.edge.choice.label_html) or f"Choice {link.edge.choice.id}"
        drawn.append(MapEdge(
            key=link.key, source=link.source.key, target=link.target.key,
            step_id=link.edge.source, choice_id=link.edge.choice.id,
            label_lines=stacked_label(text, label, width, room), label_full=text,
            score=link.edge.choice.score, flags=tuple(link.flags), path=path, arrow=arrow,
            line=link.edge.choice.line,
        ))
    return tuple(drawn), lane


def _label_ceiling(link: _Link, ports: Mapping[str, list[float]],
                   nodes: Mapping[str, MapNode], places: Places) -> float:
    """How high a forward arrow's label may rise: to the arrow leaving its box above it, or
    for the top one, to the lowest arrow leaving the box above in its column (under the
    column headings for the top box)."""
    source = link.source
    higher = [y for y in ports[source.key] if y < link.start_y]
    if higher:
        return max(higher)
    if source.row == 0:
        return MARGIN + HEADER_HEIGHT / 2 + 2
    above = nodes[places.columns[source.column][source.row - 1]]
    return max(ports.get(above.key, ()), default=above.y + above.height)


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
    path = (f"M {svg_number(x0)} {svg_number(y0)} C {svg_number(p1[0])} {svg_number(p1[1])}, "
            f"{svg_number(p2[0])} {svg_number(p2[1])}, {svg_number(x3)} {svg_number(y3)}")
    label = TextLine("", x0 + 6, y0 - RISE, "start")
    return path, _arrow(p2, (x3, y3)), label


def _back_link(link: _Link, lane_y: float, lane: int) -> tuple[str, str, TextLine]:
    """Out of the source's right side, down a channel between columns to a lane under the
    map, along it, up the channel left of the target and into its left side."""
    nudge = 8 + 6 * (lane % 4)
    x0, y0 = link.source.x + link.source.width, link.start_y
    x3, y3 = link.target.x, link.end_y
    out_x, in_x = x0 + nudge, x3 - nudge
    points = [(x0, y0), (out_x, y0), (out_x, lane_y), (in_x, lane_y), (in_x, y3), (x3, y3)]
    path = "M " + " L ".join(f"{svg_number(x)} {svg_number(y)}" for x, y in points)
    label = TextLine("", (out_x + in_x) / 2, lane_y - 4, "middle")
    return path, _arrow((in_x, y3), (x3, y3)), label


def _self_loop(node: MapNode) -> tuple[str, str, TextLine]:
    """From the right side, up over the box and down into its top."""
    right, top = node.x + node.width, node.y
    above = top - ROW_GAP / 2
    points = [(right, node.center_y), (right + 14, node.center_y), (right + 14, above),
              (node.center_x, above), (node.center_x, top)]
    path = "M " + " L ".join(f"{svg_number(x)} {svg_number(y)}" for x, y in points)
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
    return " ".join(f"{svg_number(x)},{svg_number(y)}" for x, y in corners)
