"""The YAML front matter between the `---` lines at the top of every page.

YAML is read with PyYAML's safe loader, with two guards:
- aliases (`*name`) are refused as soon as the first one is met, so a "billion
  laughs" document is rejected before anything is expanded (front matter has no use
  for them);
- front matter that is not a mapping, or too deeply nested for the parser, is
  reported instead of raising.
Every key's line is recorded so that problems can point at the offending key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import yaml

from jesip_learn.content.blocks import Line, join_lines

FENCE = "---"
CLOSING_FENCES = ("---", "...")
MAX_RECORDED_DEPTH = 4  # key lines are recorded this deep; deeper keys use their parent's


class _AliasRefused(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__("alias")
        self.mark = mark


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases before expanding any."""

    def compose_node(self, parent, index):  # PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            raise _AliasRefused(self.peek_event().start_mark)
        return super().compose_node(parent, index)


KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class FrontMatter:
    """Front matter values with the line of each key (keys nested as paths)."""

    values: dict
    key_lines: dict[KeyPath, int]
    first_line: int  # the opening `---`

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def get(self, key: str, default: object = None) -> object:
        return self.values.get(key, default)

    def line_of(self, *path: str | int) -> int:
        """Line of the key (or list entry) at `path`, else of its nearest parent,
        else of the opening `---`."""
        while path:
            if path in self.key_lines:
                return self.key_lines[path]
            path = path[:-1]
        return self.first_line


@dataclass
class FrontMatterSplit:
    front_matter: FrontMatter | None
    body: list[Line]
    problems: list[tuple[int, str]] = field(default_factory=list)


def split_front_matter(lines: Sequence[Line]) -> FrontMatterSplit:
    """Separate and load the front matter; the body is every line after it."""
    if not lines or lines[0].text.rstrip() != FENCE:
        first = lines[0].number if lines else 1
        return FrontMatterSplit(None, list(lines), [(first, MISSING_FRONT_MATTER)])
    closing = next(
        (index for index in range(1, len(lines)) if lines[index].text.rstrip() in CLOSING_FENCES),
        None,
    )
    if closing is None:
        message = (
            f"the front matter opened on line {lines[0].number} is never closed by a '---' line"
        )
        return FrontMatterSplit(None, list(lines[1:]), [(lines[0].number, message)])
    front_matter, problems = load_front_matter(lines[1:closing], lines[0].number)
    return FrontMatterSplit(front_matter, list(lines[closing + 1 :]), problems)


MISSING_FRONT_MATTER = (
    "the page must start with front matter: a '---' line, settings such as 'title: ...', "
    "and another '---' line"
)


def load_front_matter(
    yaml_lines: Sequence[Line], fence_line: int
) -> tuple[FrontMatter | None, list[tuple[int, str]]]:
    """Parse YAML lines; returns the front matter, or None and the problems."""
    first_yaml_line = fence_line + 1
    text = join_lines(yaml_lines)
    loader = None
    try:
        loader = _NoAliasLoader(text)  # checks the characters already
        node = loader.get_single_node()
        values = {} if node is None else loader.construct_document(node)
    except _AliasRefused as refused:
        line = first_yaml_line + refused.mark.line
        return None, [(line, "YAML aliases (*name) are not allowed in front matter")]
    except yaml.MarkedYAMLError as error:
        return None, [_yaml_error_problem(error, first_yaml_line, fence_line)]
    except yaml.reader.ReaderError as error:
        line = first_yaml_line + text.count("\n", 0, error.position)
        return None, [
            (line, f"the front matter holds a character YAML does not allow ({error.character!r})")
        ]
    except RecursionError:
        return None, [(fence_line, "the front matter is nested too deeply to read")]
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as error:
        return None, [(fence_line, f"malformed YAML in front matter: {error}")]
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(values, dict):
        found = "a list" if isinstance(values, list) else "plain text"
        return None, [(fence_line, f"the front matter must be 'key: value' lines, not {found}")]
    key_lines: dict[KeyPath, int] = {}
    problems: list[tuple[int, str]] = []
    _record_key_lines(node, (), key_lines, problems, first_yaml_line)
    return FrontMatter(values, key_lines, fence_line), problems


def _yaml_error_problem(
    error: yaml.MarkedYAMLError, first_yaml_line: int, fence_line: int
) -> tuple[int, str]:
    mark = error.problem_mark or error.context_mark
    line = first_yaml_line + mark.line if mark is not None else fence_line
    problem = error.problem or error.context or "cannot be read"
    hint = ""
    if "mapping values are not allowed" in problem:
        hint = " (put quotes around text that contains ': ')"
    return line, f"malformed YAML in front matter: {problem}{hint}"


def _record_key_lines(
    node: yaml.Node | None,
    path: KeyPath,
    key_lines: dict[KeyPath, int],
    problems: list[tuple[int, str]],
    first_yaml_line: int,
) -> None:
    if node is None or len(path) > MAX_RECORDED_DEPTH:
        return
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            line = first_yaml_line + key_node.start_mark.line
            if key in seen:
                problems.append((line, f"'{key}' is set more than once"))
            seen.add(key)
            key_lines[(*path, key)] = line  # the last one wins, as in PyYAML
            _record_key_lines(value_node, (*path, key), key_lines, problems, first_yaml_line)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key_lines[(*path, index)] = first_yaml_line + item.start_mark.line
            _record_key_lines(item, (*path, index), key_lines, problems, first_yaml_line)
