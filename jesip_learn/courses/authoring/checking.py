"""Checking a draft's files: parsing them as import does, plus the editor's own rule.

Owns `check_sources` (the parse, in a worker bounded in time, and the rule that the course
code in course.md can't change) and `DraftProblems`, the whole draft's problems after a
change, found when the change checked them or else only when first asked for.
"""

from __future__ import annotations

from collections.abc import Mapping

from jesip_learn.content import FileUrls, ParseResult, Problem
from jesip_learn.content.files import COURSE_PAGE
from jesip_learn.content.worker import DEFAULT_SECONDS, parse_within
from jesip_learn.courses.authoring import pages


class DraftProblems:
    """The whole draft's problems after a change: those found when the change checked the
    draft before writing it, or else found the first time they are asked for, by parsing
    the draft as the change left it (most changes are never asked: the pages that follow
    them check the draft again)."""

    def __init__(self, code: str, *, found: tuple[Problem, ...] | None = None,
                 sources: Mapping[str, bytes] | None = None,
                 seconds: float = DEFAULT_SECONDS):
        self._code, self._found, self._sources, self._seconds = code, found, sources, seconds

    def get(self) -> tuple[Problem, ...]:
        if self._found is None:
            self._found = check_sources(self._code, self._sources or {},
                                        seconds=self._seconds)[1]
            self._sources = None
        return self._found


def check_sources(code: str, sources: Mapping[str, bytes], *, display_root: str = "",
                  resolve_file: FileUrls | None = None, seconds: float = DEFAULT_SECONDS
                  ) -> tuple[ParseResult, tuple[Problem, ...]]:
    """Parse a course's files as import does, in a worker given at most `seconds`
    (content.worker), adding the editor's one rule: the course code in course.md can't
    change from `code`, because reports and certificates know the course by it.

    Parse before taking the draft's lock (db.begin_writing_after_reading): no change waits
    on a parse, and no parse holds up a learner's save."""
    result = parse_within(sources, seconds=seconds, display_root=display_root,
                          resolve_file=resolve_file)
    problems = list(result.problems)
    course_md = sources.get(COURSE_PAGE)
    if course_md is not None and not result.timed_out:
        value, line = pages.front_matter_value(course_md.decode("utf-8", "replace"), "code")
        if value is not None and line is not None and str(value).strip() != code:
            problems.append(Problem(COURSE_PAGE, line, f"the code can't change: it is "
                                    f"{code}, the name reports and certificates know "
                                    "the course by (create a new course instead)",
                                    display_root))
    ordered = sorted(problems, key=lambda p: (p.file != COURSE_PAGE, p.file, p.line))
    return result, tuple(ordered)
