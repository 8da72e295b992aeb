"""Changing a draft: `Editing` locks it for one change, and records what the change did.

Every change (changes.py, archives.py, publishing.py) goes through `Editing`, which locks
the draft (starting it from the published version on the first change) and records the
change. Every change names the content it started from (`base_sha256`, the sha256 of the
file as the editor loaded it), so that two trainers editing the same page never overwrite
each other in silence: the second save is refused with a `DraftConflict` that says who
changed it and when, and carries the text that was submitted. Changes to pages are audited
with their sha256, size and line count before and after and the first lines of a unified
diff, never whole texts, so the log stays small however large the pages (the bytes of every
published state remain in the versions, addressed by the same hashes). Also owns the stored
bytes of files (`store_blob`, `drop_unused_blob`) and `DraftChange`, what a change did.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from jesip_learn.accounts.models import User
from jesip_learn.content import Problem
from jesip_learn.core.columns import utcnow
from jesip_learn.courses.authoring import editors, pages
from jesip_learn.courses.authoring.checking import DraftProblems
from jesip_learn.courses.authoring.errors import DraftConflict, NotFound
from jesip_learn.courses.authoring.working_copy import WorkingFile, version_entries
from jesip_learn.courses.models import Course, CourseDraft, CourseFile, DraftFile, FileBlob
from jesip_learn.records.audit import record_event

AUDIT_DIFF_LINES = 40
AUDIT_LINE_CHARS = 200


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
