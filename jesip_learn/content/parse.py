"""Course folder (or `{relative_path: bytes}`) -> ParseResult.

Both entry points read every file, build the whole course and report every problem
at once; neither raises on any content. The mapping form serves zip uploads and the
browser editor, which have the files in memory rather than in a folder.

Decisions where content-format.md is silent:
- Items are ordered by the number before the first "-" of their file name, then by
  file name; `position` is the 1-based place in that order, not the number itself.
- A slug may hold ASCII letters, digits, "-" and "_"; slugs are compared ignoring case
  (two pages differing only in case would clash on a case-insensitive file system).
- A page over files.MAX_PAGE_BYTES or another file over files.MAX_FILE_BYTES is
  refused; in a folder, symbolic links are refused rather than followed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from jesip_learn.content.blocks import join_lines
from jesip_learn.content.exercise import build_exercise
from jesip_learn.content.files import (
    ALLOWED_FILE_TYPES,
    COURSE_PAGE,
    MAX_FILE_BYTES,
    MAX_PAGE_BYTES,
    PAGE_SUFFIX,
    course_relative_path,
    is_ignored_path,
    suffix_of,
)
from jesip_learn.content.front_matter_values import (
    read_one_line,
    read_requirement,
    read_text,
    read_text_list,
    read_whole_number,
)
from jesip_learn.content.hashing import content_hash
from jesip_learn.content.item_writing import course_warnings
from jesip_learn.content.model import Course, Item, Module, ParseResult, Problem
from jesip_learn.content.page import Page, PieceRenderer, read_page, trim_blank_lines
from jesip_learn.content.problem_log import FileProblems, ProblemLog
from jesip_learn.content.quiz import build_quiz
from jesip_learn.content.render import FileUrls, ResolveFile
from jesip_learn.content.scenario import build_scenario
from jesip_learn.content.validate import check_course_has_items, check_unique_slugs

ITEM_NAME = re.compile(
    r"^(?P<number>\d{1,9})-(?P<slug>.+?)(?P<kind>\.quiz|\.scenario|\.exercise)?\.md$",
    re.IGNORECASE,
)
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def parse_course_folder(
    path: str | os.PathLike[str],
    *,
    display_root: str | None = None,
    resolve_file: ResolveFile | None = None,
) -> ParseResult:
    """Parse the course in folder `path`.

    Problems name files as `display_root/relative/path`; by default `display_root`
    is the folder's own name, as in `jesip-awareness/04-methane.md:12: ...`.
    `resolve_file(course_relative_path) -> url` turns image and file links into URLs
    in the stored HTML (default: leave them relative).
    """
    folder = Path(path)
    root = folder.name if display_root is None else display_root
    log = ProblemLog(root)
    sources = read_course_folder(folder, log)
    return parse_sources(sources, log, resolve_file)


def parse_course_files(
    files: Mapping[str, bytes], *, display_root: str = "", resolve_file: ResolveFile | None = None
) -> ParseResult:
    """Parse a course given as `{path relative to the course folder: bytes}`."""
    log = ProblemLog(display_root)
    return parse_sources(accepted_sources(files, log), log, resolve_file)


def accepted_sources(files: Mapping[str, bytes], log: ProblemLog) -> dict[str, bytes]:
    """The files under clean relative paths; clutter left out, unsafe paths reported."""
    sources: dict[str, bytes] = {}
    for raw_path, data in files.items():
        path = _accepted_path(str(raw_path), log)
        if path is None:
            continue
        if path in sources:
            log.add(path, 1, "the same file appears twice")
            continue
        sources[path] = bytes(data)
    return sources


def validate_course_folder(
    path: str | os.PathLike[str], *, display_root: str | None = None
) -> tuple[Problem, ...]:
    """Every problem of the course in `path` (empty when it is valid)."""
    return parse_course_folder(path, display_root=display_root).problems


def read_course_folder(folder: Path, log: ProblemLog) -> dict[str, bytes]:
    """Every file under `folder` by relative path, hidden clutter left out. Symbolic
    links and oversized files are reported and not read."""
    if not folder.is_dir():
        log.add(COURSE_PAGE, 1, f"no course folder at {folder}")
        return {}
    sources: dict[str, bytes] = {}
    for directory, subfolders, names in os.walk(folder, followlinks=False):
        relative_dir = Path(directory).relative_to(folder).as_posix()
        for name in sorted(subfolders):
            if (Path(directory) / name).is_symlink() and not is_ignored_path(name):
                log.add(_join(relative_dir, name), 1, "symbolic links are not allowed in a course")
        subfolders[:] = sorted(name for name in subfolders if not is_ignored_path(name))
        for name in sorted(names):
            relative = _join(relative_dir, name)
            if is_ignored_path(relative):
                continue
            data = _read_file(Path(directory) / name, relative, log)
            if data is not None:
                sources[relative] = data
    return sources


def _join(directory: str, name: str) -> str:
    return name if directory in ("", ".") else f"{directory}/{name}"


def _read_file(full_path: Path, relative: str, log: ProblemLog) -> bytes | None:
    if full_path.is_symlink():
        log.add(relative, 1, "symbolic links are not allowed in a course")
        return None
    try:
        size = full_path.stat().st_size
        if size > _size_limit(relative):
            log.add(relative, 1, _too_big(relative, size))
            return None
        return full_path.read_bytes()
    except OSError as error:
        log.add(relative, 1, f"cannot read the file: {error.strerror or error}")
        return None


def _size_limit(path: str) -> int:
    return MAX_PAGE_BYTES if suffix_of(path) == PAGE_SUFFIX else MAX_FILE_BYTES


def _too_big(path: str, size: int) -> str:
    limit = _size_limit(path)
    return f"the file is too big ({size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:g} MB)"


def _accepted_path(raw_path: str, log: ProblemLog) -> str | None:
    """A clean relative path for a mapping key; None when it is clutter or unsafe."""
    if is_ignored_path(raw_path):
        return None
    path = course_relative_path(raw_path)
    if path is None:
        log.add(raw_path.replace("\\", "/")[:200], 1, "this path is outside the course folder")
    return path


@dataclass(frozen=True, slots=True)
class _PageEntry:
    """A page found among the sources: course.md (builder None) or an item."""

    path: str
    number: int = 0
    slug: str = ""
    builder: Callable[[Page, str, int, PieceRenderer], Item] | None = None


def parse_sources(
    sources: Mapping[str, bytes],
    log: ProblemLog,
    resolve_file: ResolveFile | None = None,
    on_render: Callable[[str, int], None] | None = None,
) -> ParseResult:
    """Parse sources already read (`accepted_sources`), adding problems to `log`.

    `on_render(path, line)` is told where the parser is before each page and each piece
    of Markdown (see worker.py). A FileUrls `resolve_file` is completed with the content
    hash of the sources, so that links point at the files stored under it.
    """
    sources = dict(sorted(sources.items()))
    course_hash = content_hash(sources)
    if isinstance(resolve_file, FileUrls):
        resolve_file = replace(resolve_file, content_hash=course_hash)
    renderer = PieceRenderer(frozenset(sources), resolve_file, on_render)
    course_page: Page | None = None
    items: list[Item] = []
    entries = _classify(sources, log)
    for entry in entries:
        if on_render is not None:
            on_render(entry.path, 1)
        page = _read_sized_page(entry.path, sources[entry.path], log)
        if page is None:
            continue
        if entry.builder is None:
            course_page = page
        else:
            items.append(entry.builder(page, entry.slug, entry.number, renderer))
    items = _ordered(items)
    _check_course_files(sources, entries, items, log)
    draft = _build_course(course_page, log.for_file(COURSE_PAGE), items, sources, renderer,
                          course_hash)
    problems = log.problems()
    return ParseResult(
        course=None if problems else draft,
        problems=problems,
        sources=MappingProxyType(sources),
        content_hash=draft.content_hash,
        draft=draft,
        # Found even while there are problems, so the editor shows both as the trainer works.
        warnings=course_warnings(items, log.root),
        file_urls=resolve_file if isinstance(resolve_file, FileUrls) else None,
    )


def _check_course_files(
    sources: dict[str, bytes], entries: list[_PageEntry], items: list[Item], log: ProblemLog
) -> None:
    if not sources:
        if not len(log):  # a missing folder is already reported
            log.add(COURSE_PAGE, 1, "the course folder is empty: it needs course.md and pages")
        return
    check_unique_slugs(items, log)
    if not any(entry.builder for entry in entries):
        check_course_has_items(items, log)
    if COURSE_PAGE not in sources:
        message = "missing course.md: every course folder needs one, with its title and code"
        log.add(COURSE_PAGE, 1, message)


def _read_sized_page(path: str, data: bytes, log: ProblemLog) -> Page | None:
    if len(data) > MAX_PAGE_BYTES:
        log.add(path, 1, _too_big(path, len(data)))
        return None
    return read_page(path, data, log.for_file(path))


def _classify(sources: Mapping[str, bytes], log: ProblemLog) -> list[_PageEntry]:
    """Every page; other files are checked for an allowed type and size."""
    pages: list[_PageEntry] = []
    for path, data in sources.items():
        suffix = suffix_of(path)
        if suffix == PAGE_SUFFIX:
            entry = _classify_page(path, log)
            if entry is not None:
                pages.append(entry)
        elif suffix not in ALLOWED_FILE_TYPES:
            kinds = ", ".join(ending.lstrip(".") for ending in ALLOWED_FILE_TYPES)
            log.add(
                path,
                1,
                "files of this type are not allowed in a course: only "
                f"Markdown pages and {kinds} files",
            )
        elif len(data) > MAX_FILE_BYTES:
            log.add(path, 1, _too_big(path, len(data)))
    return pages


def _classify_page(path: str, log: ProblemLog) -> _PageEntry | None:
    if path == COURSE_PAGE:
        return _PageEntry(path)
    if "/" in path:
        log.add(path, 1, "pages must be at the top of the course folder, beside course.md")
        return None
    match = ITEM_NAME.match(path)
    if not match:
        log.add(
            path, 1, "a page's name starts with its number in the course, e.g. 01-introduction.md"
        )
        return None
    slug = match.group("slug")
    if not SLUG.fullmatch(slug):
        log.add(
            path,
            1,
            f"'{slug}' can't be a page name: use letters, digits and '-', "
            "e.g. 01-why-interoperability.md",
        )
        return None
    builder = ITEM_BUILDERS.get((match.group("kind") or "").lower(), build_module)
    return _PageEntry(path, int(match.group("number")), slug, builder)


def _ordered(items: list[Item]) -> list[Item]:
    """Items are built with their file-name number as position; sort by it, then by
    file name, and renumber from 1."""
    ordered = sorted(items, key=lambda item: (item.position, item.source))
    return [replace(item, position=index) for index, item in enumerate(ordered, start=1)]


def build_module(page: Page, slug: str, position: int, renderer: PieceRenderer) -> Module:
    fm, problems = page.front_matter, page.problems
    title = read_text(fm, "title", problems, required=True)
    minutes = read_whole_number(
        fm, "minutes", problems, minimum=0, meaning="a whole number of minutes"
    )
    objectives = read_text_list(fm, "objectives", problems)
    body = trim_blank_lines(page.body)
    return Module(
        slug=slug,
        position=position,
        title=title or "",
        minutes=minutes,
        objectives=objectives,
        body_markdown=join_lines(body),
        html=renderer.render(body, problems),
        source=page.path,
    )


ITEM_BUILDERS: dict[str, Callable[[Page, str, int, PieceRenderer], Item]] = {
    ".quiz": build_quiz,
    ".scenario": build_scenario,
    ".exercise": build_exercise,
}


def _build_course(
    page: Page | None,
    problems: FileProblems,
    items: list[Item],
    sources: dict[str, bytes],
    renderer: PieceRenderer,
    course_hash: str,
) -> Course:
    fm = page.front_matter if page else None
    body = trim_blank_lines(page.body) if page else []
    return Course(
        code=read_one_line(fm, "code", problems, required=True) or "",
        title=read_text(fm, "title", problems, required=True) or "",
        summary=read_text(fm, "summary", problems, lines=True) or "",
        minutes=read_whole_number(
            fm, "minutes", problems, minimum=0, meaning="a whole number of minutes"
        ),
        validity_months=read_whole_number(
            fm,
            "validity_months",
            problems,
            minimum=1,
            meaning="a whole number of months, at least 1 (leave it out if a "
            "completion never expires)",
        ),
        required_for=read_requirement(fm, problems),
        overview_markdown=join_lines(body),
        overview_html=renderer.render(body, problems),
        items=tuple(items),
        files=tuple(path for path in sources if suffix_of(path) in ALLOWED_FILE_TYPES),
        content_hash=course_hash,
    )
