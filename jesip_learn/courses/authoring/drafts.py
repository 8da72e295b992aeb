"""The draft of a course as the editor's pages read it: views, page texts, files, checks
and previews.

A draft holds the whole course folder as it will be published: each page as text, each
image or PDF as stored bytes (shared with the versions that hold the same bytes). Until a
course is first changed in the browser it has no draft, and reading the draft reads the
published version; the first change starts the draft from that version byte for byte.
Publishing leaves the draft holding exactly what was published. Learners never see a draft.

This module owns what the page builder reads (`DraftView`, `PageText`, `DraftFileData`,
`DraftValidation`, `PagePreview`) and the functions that build them, each checking the user
may edit. The files themselves come from working_copy.py; checking from checking.py; every
change goes through editing.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.content import Course as ParsedCourse
from jesip_learn.content import FileUrls, Item, Problem
from jesip_learn.content.files import COURSE_PAGE, is_download_only, media_type
from jesip_learn.content.worker import DEFAULT_SECONDS
from jesip_learn.courses.authoring import editors, pages
from jesip_learn.courses.authoring.checking import check_sources
from jesip_learn.courses.authoring.errors import NotFound
from jesip_learn.courses.authoring.working_copy import (
    WorkingFile,
    checking_sources,
    entry_bytes,
    version_number_of,
    working_entries,
)
from jesip_learn.courses.models import Course, CourseFile, CourseVersion

# --- what the page builder reads ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftFileInfo:
    path: str
    kind: str  # "course", "module", "quiz", "scenario", "page" (a stray page), "image", "file"
    sha256: str  # the base for the next change to this file
    size: int
    updated_at: datetime | None
    updated_by: str  # name; "" when unknown (such as a course imported from the folder)

    @property
    def media_type(self) -> str | None:
        return media_type(self.path)

    @property
    def download_only(self) -> bool:
        return is_download_only(self.path)


@dataclass(frozen=True, slots=True)
class DraftItem:
    """A module, quiz or scenario of the draft, in course order."""

    path: str
    slug: str
    kind: str
    title: str
    number: int  # from the file name
    position: int  # 1-based place in the course
    sha256: str
    size: int
    updated_at: datetime | None
    updated_by: str


@dataclass(frozen=True, slots=True)
class DraftView:
    course_id: int
    code: str
    title: str  # from the draft's course.md ("" when it has none)
    exists: bool  # False until the first change: the view shows the published version
    revision: int  # goes up with every change; pass it back to import_zip_as_draft
    base_version: int | None  # the version the draft started from
    published_version: int | None
    is_outdated: bool  # a newer version was published after the draft started
    has_changes: bool  # the draft differs from the published version
    updated_at: datetime | None
    updated_by: str
    course_page: DraftFileInfo | None
    items: tuple[DraftItem, ...]
    files: tuple[DraftFileInfo, ...]  # images, PDFs and stray pages, by path


@dataclass(frozen=True, slots=True)
class PageText:
    path: str
    kind: str
    text: str
    sha256: str  # pass back as base_sha256 when saving
    updated_at: datetime | None
    updated_by: str


@dataclass(frozen=True, slots=True)
class DraftFileData:
    path: str
    data: bytes
    media_type: str
    download_only: bool  # send as an attachment (SVG, PDF), never inline


@dataclass(frozen=True, slots=True)
class DraftValidation:
    """Every problem of the draft, each with its file and line (course.md first), and its
    item-writing warnings, which never stop it being published."""

    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def for_file(self, path: str) -> tuple[Problem, ...]:
        return tuple(problem for problem in self.problems if problem.file == path)

    def by_file(self) -> dict[str, tuple[Problem, ...]]:
        grouped: dict[str, list[Problem]] = {}
        for problem in self.problems:
            grouped.setdefault(problem.file, []).append(problem)
        return {path: tuple(found) for path, found in grouped.items()}


@dataclass(frozen=True, slots=True)
class PagePreview:
    """A page as learners would see it once published.

    For a module, `item.html` is the rendered page (the same HTML import stores); for a
    quiz or scenario, `item` is the parsed Quiz or Scenario for the learner templates; for
    course.md, `course.overview_html`. `item` is None when the page can't be built (its
    name is not an item's, or it is too broken): `problems` then say why.
    """

    path: str
    kind: str
    item: Item | None
    course: ParsedCourse
    problems: tuple[Problem, ...]  # this page's
    problem_count: int  # the whole draft's
    warnings: tuple[Problem, ...] = ()  # this page's item-writing warnings


# --- reading ------------------------------------------------------------------------------


def draft_view(session: Session, user: User, course: Course) -> DraftView:
    editors.require_edit(session, user, course)
    draft, entries = working_entries(session, course)
    published = course.published_version
    texts = {path: e.text for path, e in entries.items() if e.text is not None}
    items = tuple(
        DraftItem(item.path, item.slug, item.kind, item.title, item.number, item.position,
                  entries[item.path].sha256, entries[item.path].size,
                  entries[item.path].updated_at, entries[item.path].updated_by)
        for item in pages.outline(texts))
    item_paths = {item.path for item in items}
    others = tuple(_info(entry) for path, entry in sorted(entries.items())
                   if path != COURSE_PAGE and path not in item_paths)
    course_page = entries.get(COURSE_PAGE)
    if draft is not None:
        changed_at, changed_by = draft.updated_at, draft.updated_by
    elif published is not None:
        changed_at, changed_by = published.published_at, published.published_by
    else:
        changed_at, changed_by = None, None
    has_changes = published is None or (draft is not None and _differs(session, entries,
                                                                         published))
    return DraftView(
        course_id=course.id, code=course.code,
        title=pages.page_title(course_page.text or "") if course_page else "",
        exists=draft is not None, revision=draft.revision if draft else 0,
        base_version=version_number_of(session, draft.base_version_id) if draft
        else (published.number if published else None),
        published_version=published.number if published else None,
        is_outdated=draft is not None and draft.base_version_id != course.published_version_id,
        has_changes=has_changes,
        updated_at=changed_at, updated_by=changed_by.name if changed_by else "",
        course_page=_info(course_page) if course_page else None, items=items, files=others)



def _differs(session: Session, entries: Mapping[str, WorkingFile], version: CourseVersion) -> bool:
    published = dict(session.execute(select(CourseFile.path, CourseFile.blob_sha256)
                                     .where(CourseFile.version_id == version.id)).all())
    return published != {path: entry.sha256 for path, entry in entries.items()}


def _kind_of(path: str) -> str:
    if path == COURSE_PAGE:
        return "course"
    name = pages.item_name(path)
    if name is not None:
        return name.kind
    if pages.is_page(path):
        return "page"
    return "image" if (media_type(path) or "").startswith("image/") else "file"


def _info(entry: WorkingFile) -> DraftFileInfo:
    return DraftFileInfo(entry.path, _kind_of(entry.path), entry.sha256, entry.size,
                         entry.updated_at, entry.updated_by)


def page_text(session: Session, user: User, course: Course, path: str) -> PageText:
    editors.require_edit(session, user, course)
    _draft, entries = working_entries(session, course)
    entry = entries.get(path)
    if entry is None or entry.text is None:
        raise NotFound(f"There is no page {path} in the draft of {course.code}.")
    return PageText(path, _kind_of(path), entry.text, entry.sha256, entry.updated_at,
                    entry.updated_by)


def draft_file(session: Session, user: User, course: Course, path: str) -> DraftFileData:
    """An image or PDF of the draft, for the editor's preview to show."""
    editors.require_edit(session, user, course)
    _draft, entries = working_entries(session, course)
    entry = entries.get(path)
    kind = media_type(path)
    if entry is None or kind is None or entry.text is not None:
        raise NotFound(f"There is no file {path} in the draft of {course.code}.")
    return DraftFileData(path, entry_bytes(session, entry), kind, is_download_only(path))


def validate_draft(session: Session, user: User, course: Course, *, path: str | None = None,
                   text: str | None = None, seconds: float = DEFAULT_SECONDS
                   ) -> DraftValidation:
    """Every problem of the draft; with `path` and `text`, as if that page held `text`
    (to check an edit before saving it). `seconds` bounds the parse (content.worker)."""
    editors.require_edit(session, user, course)
    _draft, entries = working_entries(session, course)
    sources = checking_sources(entries)
    if path is not None and text is not None:
        sources[path] = pages.conform_text(text, entries[path].text if path in entries
                                           else None).encode("utf-8")
    result, problems = check_sources(course.code, sources, seconds=seconds)
    return DraftValidation(problems, result.warnings)


def preview_page(session: Session, user: User, course: Course, path: str, *,
                 text: str | None = None, resolve_file: FileUrls | None = None,
                 seconds: float = DEFAULT_SECONDS) -> PagePreview:
    """A page rendered as learners would see it, from the saved draft or from `text` not
    yet saved. `resolve_file` (FileUrls: "…/{path}") points images at the editor's own file
    address (see `draft_file`); without it they stay relative."""
    editors.require_edit(session, user, course)
    _draft, entries = working_entries(session, course)
    if path not in entries and text is None:
        raise NotFound(f"There is no page {path} in the draft of {course.code}.")
    if not pages.is_page(path):
        raise NotFound(f"{path} is not a page.")
    sources = checking_sources(entries)
    if text is not None:
        old = entries[path].text if path in entries else None
        sources[path] = pages.conform_text(text, old).encode("utf-8")
    result, problems = check_sources(course.code, sources, resolve_file=resolve_file,
                                     seconds=seconds)
    item = next((item for item in result.draft.items if item.source == path), None)
    return PagePreview(path, _kind_of(path), item, result.draft,
                       tuple(p for p in problems if p.file == path), len(problems),
                       tuple(w for w in result.warnings if w.file == path))
