"""The draft of a course: the one working copy trainers edit in the browser.

A draft holds the whole course folder as it will be published: each page as text, each
image or PDF as stored bytes (shared with the versions that hold the same bytes). Until a
course is first changed in the browser it has no draft, and reading the draft reads the
published version; the first change starts the draft from that version byte for byte.
Publishing leaves the draft holding exactly what was published. Learners never see a draft.

This module reads the working copy (views, page texts, files, checking and previews) and
holds `Editing`, through which every change (changes.py, archives.py, publishing.py) locks
the draft and records itself. Every change names the content it started from
(`base_sha256`, the sha256 of the file as the editor loaded it), so that two trainers
editing the same page never overwrite each other in silence: the second save is refused
with a `DraftConflict` that says who changed it and when, and carries the text that was
submitted. Changes to pages are audited with their sha256, size and line count before and
after and the first lines of a unified diff, never whole texts, so the log stays small
however large the pages (the bytes of every published state remain in the versions,
addressed by the same hashes).
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from jesip_learn.accounts.models import User
from jesip_learn.content import Course as ParsedCourse
from jesip_learn.content import FileUrls, Item, ParseResult, Problem
from jesip_learn.content.files import COURSE_PAGE, is_download_only, media_type
from jesip_learn.content.worker import DEFAULT_SECONDS, parse_within
from jesip_learn.core.columns import utcnow
from jesip_learn.courses.authoring import editors, pages
from jesip_learn.courses.authoring.errors import DraftConflict, NotFound
from jesip_learn.courses.models import (
    Course,
    CourseDraft,
    CourseFile,
    CourseVersion,
    DraftFile,
    FileBlob,
)
from jesip_learn.records.audit import record_event

AUDIT_DIFF_LINES = 40
AUDIT_LINE_CHARS = 200


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


@dataclass(frozen=True, slots=True)
class DraftChange:
    """What a change did. `sha256` is the file's new content hash: the base for the next
    edit. `problems` are the whole draft's after the change (a change is saved even when
    it leaves problems: they are for the trainer to fix before publishing); a saved page's
    are those checked just before it was written."""

    changed: bool
    revision: int
    path: str | None  # the file acted on, at its path now (None once deleted)
    sha256: str | None
    warnings: tuple[str, ...] = ()
    checked: DraftProblems | None = None
    renamed: tuple[tuple[str, str], ...] = ()  # (old path, new path) of every page renamed
    link: str = ""  # after an upload: the Markdown that uses the file

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.checked.get() if self.checked is not None else ()

    def problems_in(self, path: str) -> tuple[Problem, ...]:
        return tuple(problem for problem in self.problems if problem.file == path)


# --- the working files: the draft's, or the published version's ------------------------


@dataclass(slots=True)
class WorkingFile:
    """A file of the working copy, without its bytes unless it is a page."""

    path: str
    sha256: str
    size: int
    text: str | None
    blob_sha256: str | None
    updated_at: datetime | None = None
    updated_by_id: int | None = None
    updated_by: str = ""


def course_by_code(session: Session, code: str) -> Course | None:
    return session.scalar(select(Course).where(func.upper(Course.code) == code.upper()))


def find_draft(session: Session, course: Course) -> CourseDraft | None:
    return session.scalar(select(CourseDraft).where(CourseDraft.course_id == course.id))


def _draft_entries(session: Session, draft: CourseDraft) -> dict[str, WorkingFile]:
    rows = session.scalars(select(DraftFile).where(DraftFile.draft_id == draft.id)
                           .options(selectinload(DraftFile.updated_by)))
    return {row.path: WorkingFile(row.path, row.sha256, row.size, row.text, row.blob_sha256,
                                  row.updated_at, row.updated_by_id,
                                  row.updated_by.name if row.updated_by else "")
            for row in rows}


def version_entries(session: Session, version: CourseVersion) -> dict[str, WorkingFile]:
    """A version's files as working-copy entries: pages as text, the rest by reference."""
    publisher = version.published_by.name if version.published_by else ""
    rows = session.execute(select(CourseFile.path, FileBlob.sha256, FileBlob.size)
                           .join(FileBlob, FileBlob.sha256 == CourseFile.blob_sha256)
                           .where(CourseFile.version_id == version.id)).all()
    page_paths = [path for path, sha256_of, _size in rows if pages.is_page(path)]
    texts = dict(session.execute(select(CourseFile.path, FileBlob.data)
                                 .join(FileBlob, FileBlob.sha256 == CourseFile.blob_sha256)
                                 .where(CourseFile.version_id == version.id,
                                        CourseFile.path.in_(page_paths))).all())
    entries = {}
    for path, digest, size in rows:
        text = _as_text(path, texts[path]) if path in texts else None
        entries[path] = WorkingFile(path, digest, size, text,
                                    None if text is not None else digest,
                                    version.published_at, version.published_by_id, publisher)
    return entries


def _as_text(path: str, data: bytes) -> str | None:
    """A page's bytes as text when they round-trip exactly; None keeps them as bytes."""
    if not pages.is_page(path):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if "\x00" not in text else None


def working_entries(session: Session, course: Course
                    ) -> tuple[CourseDraft | None, dict[str, WorkingFile]]:
    """The draft (None until the first change) and the working copy's files by path: the
    draft's, or else the published version's."""
    draft = find_draft(session, course)
    if draft is not None:
        return draft, _draft_entries(session, draft)
    if course.published_version is not None:
        return None, version_entries(session, course.published_version)
    return None, {}


def entry_bytes(session: Session, entry: WorkingFile) -> bytes:
    if entry.text is not None:
        return entry.text.encode("utf-8")
    blob = session.get(FileBlob, entry.blob_sha256)
    return blob.data if blob else b""


def working_sources(session: Session, course: Course) -> dict[str, bytes]:
    """Every file of the working copy (the draft, or else the published version), byte for
    byte."""
    _draft, entries = working_entries(session, course)
    return {path: entry_bytes(session, entry) for path, entry in sorted(entries.items())}


def checking_sources(entries: Mapping[str, WorkingFile]) -> dict[str, bytes]:
    """Sources for checking and previewing: pages in full, other files as empty stand-ins.
    The parser needs only their names (sizes were checked when they were added), and this
    spares reading every image to check one page."""
    return {path: entry.text.encode("utf-8") if entry.text is not None else b""
            for path, entry in entries.items()}


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


def version_number_of(session: Session, version_id: int | None) -> int | None:
    if version_id is None:
        return None
    return session.scalar(select(CourseVersion.number).where(CourseVersion.id == version_id))


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


# --- changing the draft ---------------------------------------------------------------------


class Editing:
    """The draft locked for one change, with its files by path."""

    def __init__(self, session: Session, user: User, course: Course):
        editors.require_edit(session, user, course)
        self.session, self.user, self.course = session, user, course
        self.draft = locked_draft(session, course) or _start_draft(session, user, course)
        self.files: dict[str, DraftFile] = {
            row.path: row for row in session.scalars(
                select(DraftFile).where(DraftFile.draft_id == self.draft.id)
                .options(selectinload(DraftFile.updated_by))
                .execution_options(populate_existing=True))}

    # Conflicts ------------------------------------------------------------------

    def expect(self, path: str, base_sha256: str | None, *,
               submitted_text: str | None = None) -> DraftFile:
        """The file at `path`, if it still holds what the editor started from."""
        row = self.files.get(path)
        if row is None:
            who = self.draft.updated_by.name if self.draft.updated_by else ""
            raise DraftConflict(
                f"{path} is no longer in the draft: it was moved, renamed or deleted after you "
                f"opened it (the draft was last changed by {who or 'someone'} at "
                f"{when_text(self.draft.updated_at)}). Nothing was saved.", path=path,
                changed_by=who, changed_at=self.draft.updated_at,
                submitted_text=submitted_text)
        if base_sha256 is not None and row.sha256 != base_sha256:
            who = row.updated_by.name if row.updated_by else ""
            raise DraftConflict(
                f"{who or 'Someone'} changed {path} at {when_text(row.updated_at)}, after you "
                "opened it. Nothing was saved: compare your text with theirs, then save "
                "again.", path=path, changed_by=who, changed_at=row.updated_at,
                submitted_text=submitted_text, current_text=row.text,
                current_sha256=row.sha256)
        return row

    # Changes ----------------------------------------------------------------------

    def write_text(self, row: DraftFile, text: str) -> None:
        data = text.encode("utf-8")
        if row.blob_sha256 is not None:
            old_blob = row.blob_sha256
            row.blob_sha256 = None
            self.session.flush()
            drop_unused_blob(self.session, old_blob)
        row.text, row.sha256, row.size = text, sha256_of(data), len(data)
        self._mark(row)

    def add_text(self, path: str, text: str) -> DraftFile:
        data = text.encode("utf-8")
        row = DraftFile(draft_id=self.draft.id, path=path, text=text, sha256=sha256_of(data),
                        size=len(data))
        self._mark(row)
        self.session.add(row)
        self.files[path] = row
        return row

    def put_bytes(self, path: str, data: bytes) -> DraftFile:
        blob = store_blob(self.session, data)
        row = self.files.get(path)
        old_blob = row.blob_sha256 if row is not None else None
        if row is None:
            row = DraftFile(draft_id=self.draft.id, path=path)
            self.files[path] = row
        row.text, row.blob_sha256, row.sha256, row.size = None, blob.sha256, blob.sha256, len(data)
        self._mark(row)
        self.session.add(row)
        self.session.flush()
        if old_blob and old_blob != blob.sha256:
            drop_unused_blob(self.session, old_blob)
        return row

    def delete(self, path: str) -> None:
        row = self.files.pop(path)
        blob = row.blob_sha256
        self.session.delete(row)
        self.session.flush()
        if blob:
            drop_unused_blob(self.session, blob)

    def rename(self, moves: Mapping[str, str]) -> None:
        """Move files to new paths in one go, through temporary names, so that no two rows
        ever hold the same path on the way."""
        moves = {old: new for old, new in moves.items() if old != new}
        if not moves:
            return
        rows = {old: self.files.pop(old) for old in moves}
        for row in rows.values():
            row.path = f".moving/{row.id}"
        self.session.flush()
        for old, new in moves.items():
            rows[old].path = new
            self.files[new] = rows[old]
        self.session.flush()

    def _mark(self, row: DraftFile) -> None:
        row.updated_at, row.updated_by = utcnow(), self.user

    def finish(self, action: str, *, summary: str, details: dict, path: str | None,
               warnings: tuple[str, ...] = (), renamed: tuple[tuple[str, str], ...] = (),
               link: str = "", problems: tuple[Problem, ...] | None = None) -> DraftChange:
        draft = self.draft
        draft.revision += 1
        draft.updated_at, draft.updated_by = utcnow(), self.user
        self.session.flush()
        record_event(self.session, action, actor=self.user,
                     summary=f"{self.course.code}: {summary}",
                     details={"code": self.course.code, "revision": draft.revision, **details})
        row = self.files.get(path) if path else None
        return DraftChange(True, draft.revision, path if row else None,
                           row.sha256 if row else None, warnings, self.problems(problems),
                           renamed, link)

    def unchanged(self, path: str | None, warnings: tuple[str, ...] = (),
                  problems: tuple[Problem, ...] | None = None) -> DraftChange:
        row = self.files.get(path) if path else None
        return DraftChange(False, self.draft.revision, path if row else None,
                           row.sha256 if row else None, warnings, self.problems(problems))

    # Reading ----------------------------------------------------------------------

    def sources(self) -> dict[str, bytes]:
        """Every file of the draft, byte for byte."""
        found = {}
        for path, row in sorted(self.files.items()):
            if row.text is not None:
                found[path] = row.text.encode("utf-8")
            else:
                found[path] = self.session.get(FileBlob, row.blob_sha256).data
        return found

    def texts(self) -> dict[str, str]:
        return {path: row.text for path, row in self.files.items() if row.text is not None}

    def outline(self) -> tuple[pages.OutlineItem, ...]:
        return pages.outline(self.texts())

    def problems(self, found: tuple[Problem, ...] | None = None) -> DraftProblems:
        """The draft's problems: `found` when the change checked them before writing, else
        a snapshot of its pages to check only if asked (never under the lock)."""
        if found is not None:
            return DraftProblems(self.course.code, found=found)
        return DraftProblems(self.course.code, sources={
            path: row.text.encode("utf-8") if row.text is not None else b""
            for path, row in self.files.items()})

    def item(self, path: str) -> pages.OutlineItem:
        found = next((item for item in self.outline() if item.path == path), None)
        if found is None:
            raise NotFound(f"{path} is not a module, quiz or scenario of {self.course.code}.")
        return found


def when_text(moment: datetime | None) -> str:
    return moment.strftime("%H:%M on %d %B %Y (UTC)") if moment else "an unknown time"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def locked_draft(session: Session, course: Course) -> CourseDraft | None:
    """The course's draft, its row locked until the transaction ends, so that changes to
    one draft happen one after another (PostgreSQL; SQLite writers queue anyway)."""
    return session.scalar(select(CourseDraft).where(CourseDraft.course_id == course.id)
                          .with_for_update().execution_options(populate_existing=True))


def _start_draft(session: Session, user: User, course: Course) -> CourseDraft:
    """A new draft holding the published version's files byte for byte."""
    draft = CourseDraft(course_id=course.id, base_version_id=course.published_version_id,
                        revision=0, created_by_id=user.id, updated_by_id=user.id)
    try:
        with session.begin_nested():
            session.add(draft)
            session.flush()
    except IntegrityError:  # another editor started it at the same moment
        existing = locked_draft(session, course)
        if existing is None:
            raise
        return existing
    if course.published_version is not None:
        for entry in version_entries(session, course.published_version).values():
            session.add(_row_from_entry(draft, entry))
        session.flush()
    return draft


def _row_from_entry(draft: CourseDraft, entry: WorkingFile) -> DraftFile:
    return DraftFile(draft_id=draft.id, path=entry.path, text=entry.text,
                     blob_sha256=entry.blob_sha256, sha256=entry.sha256, size=entry.size,
                     updated_at=entry.updated_at or utcnow(), updated_by_id=entry.updated_by_id)


def store_blob(session: Session, data: bytes) -> FileBlob:
    digest = sha256_of(data)
    blob = session.get(FileBlob, digest)
    if blob is None:
        blob = FileBlob(sha256=digest, size=len(data), data=data)
        session.add(blob)
        session.flush()
    return blob


def drop_unused_blob(session: Session, digest: str) -> None:
    """Forget bytes no version and no draft holds any more (an image replaced or deleted
    before it was ever published)."""
    used = session.scalar(select(CourseFile.id).where(CourseFile.blob_sha256 == digest)
                          .limit(1)) or session.scalar(
        select(DraftFile.id).where(DraftFile.blob_sha256 == digest).limit(1))
    if not used:
        blob = session.get(FileBlob, digest)
        if blob is not None:
            session.delete(blob)
            session.flush()


def text_audit(before: str | None, after: str | None) -> dict:
    """What a page was and became, for the audit log: hashes, sizes, line counts, and the
    first AUDIT_DIFF_LINES lines of a unified diff (each cut to AUDIT_LINE_CHARS)."""
    def facts(text: str | None) -> dict | None:
        if text is None:
            return None
        data = text.encode("utf-8")
        return {"sha256": sha256_of(data), "size": len(data), "lines": len(text.splitlines())}

    diff = list(difflib.unified_diff((before or "").splitlines(), (after or "").splitlines(),
                                     "before", "after", n=1, lineterm=""))[2:]
    return {"before": facts(before), "after": facts(after),
            "diff": [line[:AUDIT_LINE_CHARS] for line in diff[:AUDIT_DIFF_LINES]],
            "diff_cut": len(diff) > AUDIT_DIFF_LINES}


def replace_files(editing: Editing, entries: Mapping[str, WorkingFile]) -> bool:
    """Make the draft hold exactly `entries`; files whose content stays keep their history.
    True when anything changed."""
    changed = False
    for path in sorted(set(editing.files) - set(entries)):
        editing.delete(path)
        changed = True
    for path, entry in sorted(entries.items()):
        row = editing.files.get(path)
        if row is not None and row.sha256 == entry.sha256:
            continue
        changed = True
        if row is None:
            row = DraftFile(draft_id=editing.draft.id, path=path)
            editing.session.add(row)
            editing.files[path] = row
        old_blob = row.blob_sha256
        row.text, row.blob_sha256 = entry.text, entry.blob_sha256
        row.sha256, row.size = entry.sha256, entry.size
        row.updated_at = entry.updated_at or utcnow()
        row.updated_by = (editing.session.get(User, entry.updated_by_id)
                          if entry.updated_by_id else None)
        editing.session.flush()
        if old_blob and old_blob != row.blob_sha256:
            drop_unused_blob(editing.session, old_blob)
    return changed
