"""The working copy of a course: the draft's files, or else the published version's.

Owns `WorkingFile` and the reads every other part of authoring builds on: the course by its
code, its draft (if any), the files of a draft or a version (pages as text, images and PDFs by
reference to their stored bytes), the files as bytes, and the stand-in sources used to check
and preview pages without reading every image.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from jesip_learn.courses.authoring import pages
from jesip_learn.courses.models import (
    Course,
    CourseDraft,
    CourseFile,
    CourseVersion,
    DraftFile,
    FileBlob,
)


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


def version_number_of(session: Session, version_id: int | None) -> int | None:
    if version_id is None:
        return None
    return session.scalar(select(CourseVersion.number).where(CourseVersion.id == version_id))
