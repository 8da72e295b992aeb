"""The rules an exercise script must follow as a whole (content-format.md, "A live
exercise"): ids that must exist or must differ, the parts each kind of event needs, and
times against the end of the exercise.

exercise.py reads each piece and reports what is wrong with it on its own; these rules
run once the script is built, each reported at the line of the offending heading, fact or
option. A message about an id that does not exist lists the ids that do.

The end of the exercise is its `.end` event's time, else `minutes` from the front
matter; with neither, nothing can run past it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jesip_learn.content.model import ExerciseEvent, ExerciseScript
from jesip_learn.content.problem_log import FileProblems


def shown_list(words: Iterable[str], conjunction: str = "and") -> str:
    """["a", "b", "c"] -> "a, b and c"."""
    words = list(words)
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def clock(seconds: int) -> str:
    """Seconds after the start as the format writes them: 90 -> "01:30"."""
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def check_exercise(
    script: ExerciseScript, roles_line: int, header_line: int, problems: FileProblems
) -> None:
    if not script.roles:
        problems.add(roles_line, "the exercise has no roles: list them under 'roles:', each "
                     "with id, title, service and level")
    if not script.events:
        problems.add(header_line, "the exercise has no events: each '## Heading {#id "
                     "at=MM:SS to=role}' is one")
    _check_unique_ids(script, problems)
    names = _Names(script)
    for event in script.events:
        _check_event(event, names, problems)
    _check_times(script, problems)


def _check_unique_ids(script: ExerciseScript, problems: FileProblems) -> None:
    """Roles and talk groups share one set of ids (so `to=` is never ambiguous); events
    have theirs, and facts theirs."""
    parties: dict[str, int] = {}
    for noun, entries in (("role", script.roles), ("talk group", script.talk_groups)):
        for entry in entries:
            if entry.id in parties:
                problems.add(entry.line, f"the {noun} id '{entry.id}' is already used (on line "
                             f"{parties[entry.id]}): every role and talk group needs its own id")
            else:
                parties[entry.id] = entry.line
    events: dict[str, int] = {}
    facts: dict[str, int] = {}
    for event in script.events:
        if event.id in events:
            problems.add(event.line, f"two events have the id '{event.id}' (the other is on "
                         f"line {events[event.id]})")
        else:
            events[event.id] = event.line
        for fact in event.facts:
            if fact.id in facts:
                problems.add(fact.line, f"two facts have the id '{fact.id}' (the other is on "
                             f"line {facts[fact.id]})")
            else:
                facts[fact.id] = fact.line


class _Names:
    """The script's role and talk group ids, and the messages for ids that are not."""

    def __init__(self, script: ExerciseScript) -> None:
        self.roles = [role.id for role in script.roles]
        self.groups = [group.id for group in script.talk_groups]

    def _existing(self, with_groups: bool) -> str:
        if not self.roles:
            return "the exercise has no roles"
        found = f"the roles are {', '.join(self.roles)}"
        if with_groups and self.groups:
            noun = "talk group is" if len(self.groups) == 1 else "talk groups are"
            found += f"; the {noun} {', '.join(self.groups)}"
        return found

    def check_targets(self, ids: Sequence[str], key: str, line: int, problems: FileProblems
                      ) -> None:
        """`to=`: each a role or a talk group."""
        for identifier in ids:
            if identifier not in self.roles and identifier not in self.groups:
                problems.add(line, f"unknown role or talk group '{identifier}' in {key}=: "
                             f"{self._existing(True)}")

    def check_roles(self, ids: Sequence[str], key: str, line: int, problems: FileProblems
                    ) -> None:
        """`needs=`, `roles=`, `from=`: each a role."""
        for identifier in ids:
            if identifier in self.roles:
                continue
            if identifier in self.groups:
                problems.add(line, f"'{identifier}' is a talk group, but {key}= lists roles: "
                             f"{self._existing(False)}")
            else:
                problems.add(line, f"unknown role '{identifier}' in {key}=: "
                             f"{self._existing(False)}")


def _check_event(event: ExerciseEvent, names: _Names, problems: FileProblems) -> None:
    names.check_targets(event.to, "to", event.line, problems)
    if event.from_role is not None:
        names.check_roles((event.from_role,), "from", event.line, problems)
    names.check_roles(event.roles, "roles", event.line, problems)
    for fact in event.facts:
        names.check_roles(fact.needs, "needs", fact.line, problems)
    if event.kind == "decision":
        if event.roles and len(event.roles) < 2:
            problems.add(event.line, "a joint decision needs at least two roles in roles=")
        if len(event.options) < 2:
            problems.add(event.line, "a .decision event needs at least two options: list "
                         "items ending in {.option score=N}, each with its feedback quoted "
                         "under it")


def _check_times(script: ExerciseScript, problems: FileProblems) -> None:
    ends = [event for event in script.events if event.kind == "end"]
    for extra in ends[1:]:
        problems.add(extra.line, f"the exercise has more than one .end event (the first is "
                     f"on line {ends[0].line})")
    if ends and ends[0].at is not None:
        end, why = ends[0].at, f"its .end event on line {ends[0].line}"
    elif script.minutes is not None and not ends:
        end, why = script.minutes * 60, f"minutes: {script.minutes}"
    else:
        return
    limit = f"the end of the exercise ({clock(end)}, {why})"
    for event in script.events:
        if event.at is None or event.kind == "end":
            continue
        if event.at > end:
            problems.add(event.line, f"this event at {clock(event.at)} comes after {limit}")
            continue
        if event.kind == "methane" and event.within is not None and event.at + event.within > end:
            problems.add(event.line, f"within={clock(event.within)} from {clock(event.at)} "
                         f"runs past {limit}")
        for fact in event.facts:
            if fact.within is not None and event.at + fact.within > end:
                problems.add(fact.line, f"the fact's within={clock(fact.within)} from "
                             f"{clock(event.at)} runs past {limit}")
