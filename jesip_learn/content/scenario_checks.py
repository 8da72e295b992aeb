"""The rules for a scenario: its `jdm=` and `principle=` tags, and its paths.

Every step reachable from the start, every path able to end, a pass ending, no dead ends, no
links to steps that do not exist; an unreachable step is reported with what keeps it out of
reach. (scenario_map.py names the same problems for the map an author sees.)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from jesip_learn.content.model import JDM_STAGES, PRINCIPLES, Scenario, Step
from jesip_learn.content.problem_log import FileProblems
from jesip_learn.content.suggestions import close_match, listed_names, what_exists

TAG_VOCABULARIES = {"jdm": JDM_STAGES, "principle": PRINCIPLES}


def read_tag(key: str, value: str, line: int, problems: FileProblems) -> str | None:
    """A `jdm=` or `principle=` value, or None (reported) when it is not one of them."""
    allowed = TAG_VOCABULARIES[key]
    if value in allowed:
        return value
    problems.add(line, f"unknown {key}={value}: use one of {', '.join(allowed)}")
    return None


def check_scenario(
    scenario: Scenario, start_line: int, header_line: int, problems: FileProblems
) -> None:
    """Every step reachable from `start`, every path able to end, a pass ending,
    no dead ends, no links to steps that do not exist."""
    if not scenario.steps:
        problems.add(header_line, "the scenario has no steps: each '## Heading {#id}' is one")
        return
    steps = _first_step_per_id(scenario, problems)
    _check_start(scenario.start, steps, start_line, header_line, problems)
    for step in scenario.steps:
        _check_step_exits(step, steps, problems)
    if not any(step.kind == "end" and step.result == "pass" for step in scenario.steps):
        problems.add(
            header_line,
            "the scenario has no ending with result=pass, so no learner could complete it",
        )
    if scenario.start in steps:
        _check_paths(scenario.start, steps, problems)


def _first_step_per_id(scenario: Scenario, problems: FileProblems) -> dict[str, Step]:
    steps: dict[str, Step] = {}
    for step in scenario.steps:
        if step.id in steps:
            problems.add(
                step.line,
                f"two steps have the id '{step.id}' (the other is on line {steps[step.id].line})",
            )
        else:
            steps[step.id] = step
    return steps


def _check_start(
    start: str, steps: dict, start_line: int, header_line: int, problems: FileProblems
) -> None:
    if not start:
        problems.add(header_line, "missing start: name the first step, e.g. 'start: first-call'")
    elif start not in steps:
        exist = what_exists(start, list(steps), "the steps", "no steps", prefix="#")
        problems.add(start_line,
                     f"start names no step: there is no step with the id '{start}'{exist}")


def _check_step_exits(step: Step, steps: dict[str, Step], problems: FileProblems) -> None:
    if step.kind == "end" and step.choices:
        problems.add(step.choices[0].line, "an ending (.end) can't have choices")
    if step.kind != "end" and not step.choices:
        problems.add(
            step.line,
            f"step '{step.id}' is a dead end: add choices (- "
            "[text](#step-id)) or make it an ending "
            "with {.end result=pass} or {.end result=fail}",
        )
    for choice in step.choices:
        if choice.target not in steps:
            exist = what_exists(choice.target, list(steps), "the steps", "no steps",
                                prefix="#")
            problems.add(choice.line,
                         f"link to a step that does not exist: #{choice.target}{exist}")


def _reachable(start: str, edges: dict[str, list[str]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for target in edges.get(queue.popleft(), ()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _check_paths(start: str, steps: dict[str, Step], problems: FileProblems) -> None:
    forward = {
        step_id: [c.target for c in step.choices if c.target in steps]
        for step_id, step in steps.items()
    }
    reachable = _reachable(start, forward)
    broken = [choice for step_id in reachable for choice in steps[step_id].choices
              if choice.target not in steps]
    for step_id, step in steps.items():
        if step_id not in reachable:
            what = "ending" if step.kind == "end" else "step"
            problems.add(
                step.line, f"{what} '{step_id}' can't be reached from the start step '{start}'"
                f"{_why_unreachable(step_id, steps, reachable, broken)}"
            )
    backward: dict[str, list[str]] = {}
    for source, targets in forward.items():
        for target in targets:
            backward.setdefault(target, []).append(source)
    can_finish: set[str] = set()
    for step_id, step in steps.items():
        if step.kind == "end":
            can_finish |= _reachable(step_id, backward)
    for step_id, step in steps.items():
        if (
            step_id in reachable
            and step_id not in can_finish
            and step.kind != "end"
            and step.choices
        ):
            cause = [choice for later in _reachable(step_id, forward)
                     for choice in steps[later].choices if choice.target not in steps]
            problems.add(
                step.line,
                f"from step '{step_id}' no path leads to an ending: the "
                "learner would go round forever"
                + (f", because {_the_broken_links(cause)} broken" if cause else ""),
            )


def _why_unreachable(step_id: str, steps: dict[str, Step], reachable: set[str],
                     broken: Sequence) -> str:
    """What keeps a step out of reach, when the problems list shows its cause: a broken
    link (on a step that can be reached) that was likely meant for it, or the unreachable
    steps that are the only ones linking to it."""
    meant = [choice for choice in broken if close_match(choice.target, [step_id])]
    if meant:
        return (f" because {_the_broken_links(meant)} broken (it goes to #{meant[0].target}"
                f", not #{step_id})" if len(meant) == 1 else
                f" because {_the_broken_links(meant)} broken")
    sources = sorted({source for source, step in steps.items() if source != step_id
                      and any(choice.target == step_id for choice in step.choices)})
    if sources:
        names = listed_names([f"'{source}'" for source in sources])
        return (f" because only {'step' if len(sources) == 1 else 'steps'} {names} "
                f"{'links' if len(sources) == 1 else 'link'} to it, and "
                f"{'it' if len(sources) == 1 else 'they'} can't be reached either")
    if broken:
        lines = sorted({choice.line for choice in broken})
        which = (f"the broken link on line {lines[0]} was" if len(lines) == 1 else
                 f"one of the broken links on lines {listed_names([str(n) for n in lines])} was")
        return f": no choice links to it (perhaps {which} meant for it)"
    return ": no choice links to it"


def _the_broken_links(choices: Sequence) -> str:
    lines = sorted({choice.line for choice in choices})
    if len(lines) == 1:
        return f"the link on line {lines[0]} is"
    return f"the links on lines {listed_names([str(line) for line in lines])} are"
