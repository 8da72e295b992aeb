"""A scenario map in words, the text alternative to the picture: one entry a box, in the
map's reading order, with its choices and what is wrong with it, and a one-sentence summary.
"""

from __future__ import annotations

from dataclasses import dataclass

from jesip_learn.content.map_layout import MapNode
from jesip_learn.content.scenario_graph import ScenarioGraph, plain_text, step_label


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


OUTLINE_NOTES = {
    "start": "start",
    "methane": "METHANE message",
    "duplicate": "another step already has this id",
    "unreachable": "can't be reached from the start",
    "dead-end": "dead end",
    "no-way-out": "no ending can be reached from here",
}


def outline_entries(graph: ScenarioGraph, nodes: tuple[MapNode, ...]) -> tuple[OutlineEntry, ...]:
    """One entry a box, in the order of `nodes`."""
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


def map_summary(graph: ScenarioGraph) -> str:
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
