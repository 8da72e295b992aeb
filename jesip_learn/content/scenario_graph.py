"""A scenario's steps and choices as a graph, and what is wrong with its links: which steps
the start reaches and in how many choices, which are dead ends or have no way out, which ids
a link names that no step has, which steps repeat an earlier id. Also what a step is called
on the map (`step_label`) and the text of a piece of HTML (`plain_text`).

Pure: the parsed Scenario in, a frozen ScenarioGraph out, for drafts that do not validate
yet as well (see scenario_map.py for the rules, which are validate.check_scenario's).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from types import MappingProxyType

from jesip_learn.content.model import Choice, Scenario, Step


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
