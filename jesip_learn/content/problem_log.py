"""The problem log: every problem found in one course, collected in one pass.

Owns `ProblemLog` (the problems in the order found, capped per file, sorted course.md first
when read) and `FileProblems`, the log narrowed to one file, which every rule reports to.
"""

from __future__ import annotations

from dataclasses import dataclass

from jesip_learn.content.files import COURSE_PAGE
from jesip_learn.content.model import Problem

MAX_PROBLEMS_PER_FILE = 50


class ProblemLog:
    """Every problem found in one course, in the order found. After
    MAX_PROBLEMS_PER_FILE in one file the rest are counted, not listed: a page with
    a thousand broken links needs one fix, not a thousand lines."""

    def __init__(self, root: str = "") -> None:
        self.root = root
        self._found: list[Problem] = []
        self._per_file: dict[str, int] = {}

    def add(self, file: str, line: int, message: str) -> None:
        count = self._per_file.get(file, 0) + 1
        self._per_file[file] = count
        if count < MAX_PROBLEMS_PER_FILE:
            self._found.append(Problem(file, max(int(line), 1), message, self.root))
        elif count == MAX_PROBLEMS_PER_FILE:
            self._found.append(
                Problem(
                    file,
                    max(int(line), 1),
                    "too many problems in this file; fix these first",
                    self.root,
                )
            )

    def for_file(self, file: str) -> FileProblems:
        return FileProblems(self, file)

    def __len__(self) -> int:
        return len(self._found)

    def problems(self) -> tuple[Problem, ...]:
        """Sorted by file (course.md first) and line; ties keep the order found."""
        return tuple(sorted(self._found, key=lambda p: (p.file != COURSE_PAGE, p.file, p.line)))


@dataclass(frozen=True, slots=True)
class FileProblems:
    """The problem log, narrowed to one file."""

    log: ProblemLog
    file: str

    def add(self, line: int, message: str) -> None:
        self.log.add(self.file, line, message)
