"""Course zips: download any version (or the draft) as a zipped course folder, and upload
one as a new course or as the draft of an existing course.

An upload is read by `content.archive.read_course_zip` (nothing escapes the folder, no
links, no zip bombs), then every file is checked by what it holds as the editor checks
uploads: a zip holding anything a course can't (another type of file, an image that is not
what its name says, an SVG that could run script, an oversized page) is refused whole. So
is a new course whose code can't be read. A refusal lists every problem of the zip at
once, by file and line, as `courses validate` does, not only the one that stopped it.
Content problems (a missing title, a broken link) are not refusals: the files go into the
draft, and the problems come back for the trainer to fix before publishing.

Nothing uploaded reaches learners until it is published. So an upload is saved to the
draft straight away and the result says what changed; the trainer reviews the draft (or
discards it) before publishing. A zip replaces everything in the draft: the caller passes
the draft revision the trainer was shown, and a draft changed since is not replaced.

Downloads hold the files byte for byte under one folder named after the course, so export
then import gives the same content hash.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.content import Problem, parse_within
from jesip_learn.content.archive import ArchiveError, read_course_zip
from jesip_learn.content.files import COURSE_PAGE
from jesip_learn.content.hashing import content_hash
from jesip_learn.content.parse import SLUG
from jesip_learn.content.worker import DEFAULT_SECONDS
from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import begin_writing_after_reading
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.authoring import editors, pages
from jesip_learn.courses.authoring.checking import check_sources
from jesip_learn.courses.authoring.diffs import ChangeSummary, summarise_changes
from jesip_learn.courses.authoring.editing import Editing, replace_files, store_blob, when_text
from jesip_learn.courses.authoring.errors import DraftConflict, NotFound, UploadRefused
from jesip_learn.courses.authoring.uploads import file_problem
from jesip_learn.courses.authoring.working_copy import WorkingFile, course_by_code, working_sources
from jesip_learn.courses.models import Course, CourseDraft

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same files always make the same zip


@dataclass(frozen=True, slots=True)
class CourseZip:
    filename: str  # e.g. jesip-awareness-version-3.zip
    data: bytes


def course_zip(files: Mapping[str, bytes], folder: str) -> bytes:
    """A zip of a course folder: `folder/path` for every file, in path order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(files.items()):
            info = zipfile.ZipInfo(f"{folder}/{path}", date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def export_version_zip(session: Session, user: User, course: Course,
                       number: int | None = None) -> CourseZip:
    """A version (by default the published one) as a zipped course folder."""
    editors.require_edit(session, user, course)
    version = courses.find_version(session, course.code, number)
    if version is None:
        raise NotFound(f"{course.code} has no version {number}." if number
                       else f"{course.code} has not been published yet.")
    return CourseZip(f"{course.slug}-version-{version.number}.zip",
                     course_zip(courses.version_sources(version), course.slug))


def export_draft_zip(session: Session, user: User, course: Course) -> CourseZip:
    editors.require_edit(session, user, course)
    return CourseZip(f"{course.slug}-draft.zip",
                     course_zip(working_sources(session, course), course.slug))


@dataclass(frozen=True, slots=True)
class ZipImport:
    course: Course
    revision: int  # the draft's revision now
    summary: ChangeSummary  # against what the draft held before (nothing, for a new course)
    problems: tuple[Problem, ...]  # to fix before publishing; empty when it can be published
    folder_name: str  # the folder found in the zip ("" when the files were at its top)
    warnings: tuple[Problem, ...] = ()  # item-writing flaws: worth fixing, never blocking


def read_upload(data: bytes, *,
                seconds: float = DEFAULT_SECONDS) -> tuple[str, dict[str, bytes]]:
    """The folder name and files of an uploaded course zip, if every file is one a course
    may hold; UploadRefused says why not."""
    try:
        archive = read_course_zip(data)
    except ArchiveError as error:
        raise UploadRefused(str(error), field="archive") from None
    if COURSE_PAGE not in archive.files:
        raise UploadRefused("The zip has no course.md: zip the course folder itself, with "
                            "course.md at its top.", field="archive")
    refusals = [Problem(path, 1, message) for path, message in _refusals(archive.files)]
    if refusals:
        raise refused_with_every_problem(archive.files, refusals, seconds=seconds)
    return archive.folder_name, archive.files


def _refusals(files: Mapping[str, bytes]):
    for path, content in sorted(files.items()):
        if len(path) > 400:
            yield path[:60], f"{path[:60]}... has too long a name"
            continue
        problem = file_problem(path, content)
        if problem:
            yield path, problem.removeprefix(f"{path}: ")


def zip_problems(files: Mapping[str, bytes], refusals=(), also=(), *,
                 seconds: float = DEFAULT_SECONDS) -> tuple[Problem, ...]:
    """Every problem of a zip's files: what validation finds, as `courses validate` would;
    what stops a file being part of a course (`refusals`) where validation has nothing to
    say about that file already (it reports a file of another type itself); and `also`.
    course.md first, then by file and line. Parsed in the worker, within `seconds`."""
    found = list(parse_within(dict(files), seconds=seconds).problems)
    seen = {problem.file for problem in found}
    found += [problem for problem in refusals if problem.file not in seen]
    found += also
    return tuple(sorted(found, key=lambda p: (p.file != COURSE_PAGE, p.file, p.line)))


def refused_with_every_problem(files: Mapping[str, bytes], refusals=(), also=(), *,
                               seconds: float = DEFAULT_SECONDS) -> UploadRefused:
    problems = zip_problems(files, refusals, also, seconds=seconds)
    count = len(problems)
    if count == 1:
        only = problems[0]
        where = f"{only.file}, line {only.line}" if only.file.endswith(".md") else only.file
        return UploadRefused(f"The zip can’t be imported: {where}: {only.message}",
                             field="archive", problems=problems)
    return UploadRefused(f"The zip can’t be imported: it has {count} problem"
                         f"{'s' if count != 1 else ''}, listed below by file. Fix "
                         f"{'them' if count != 1 else 'it'} and upload the zip again.",
                         field="archive", problems=problems)


def _code_of(files: Mapping[str, bytes], *, seconds: float = DEFAULT_SECONDS) -> str:
    value, line = pages.front_matter_value(files[COURSE_PAGE].decode("utf-8"), "code")
    if value is None or isinstance(value, bool) or not isinstance(value, str | int):
        # Validation says why (no front matter, no code, malformed YAML) at its line.
        raise refused_with_every_problem(files, seconds=seconds)
    return str(value).strip()


def import_zip_as_new_course(session: Session, user: User, data: bytes, *,
                             filename: str = "", seconds: float = DEFAULT_SECONDS) -> ZipImport:
    """A new course, owned by `user`, whose draft holds the zip's files (unpublished).

    The files are parsed once (`seconds` bounds it) before anything is written."""
    editors.require_create(user)
    folder, files = read_upload(data, seconds=seconds)
    code = _code_of(files, seconds=seconds)
    try:
        code = pages.checked_code(code)
    except ValueError as error:
        _value, line = pages.front_matter_value(files[COURSE_PAGE].decode("utf-8"), "code")
        raise refused_with_every_problem(
            files, also=[Problem(COURSE_PAGE, line or 1, str(error))], seconds=seconds) from None
    problems, warnings = _checked(code, files, seconds)
    begin_writing_after_reading(session)
    existing = course_by_code(session, code)
    if existing is not None:
        raise UploadRefused(f"There is already a course with the code {existing.code}: "
                            "upload the zip as a new draft of that course instead.",
                            field="archive")
    stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].removesuffix(".zip")
    slug = next((name for name in (folder, stem) if name and SLUG.fullmatch(name)
                 and len(name) <= 200), None) or pages.slugify(code) or "course"
    course = Course(code=code, slug=slug)
    session.add(course)
    session.flush()
    editors.make_owner(session, course, user)
    draft = CourseDraft(course_id=course.id, base_version_id=None, revision=0,
                        created_by_id=user.id, updated_by_id=user.id)
    session.add(draft)
    session.flush()
    return _fill(Editing(session, user, course), {}, files, folder, problems, warnings,
                 action="course.created", summary=f"{code}: created from a zip")


def import_zip_as_draft(session: Session, user: User, course: Course, data: bytes, *,
                        expected_revision: int, seconds: float = DEFAULT_SECONDS) -> ZipImport:
    """Replace the course's draft with the zip's files (unpublished).

    `expected_revision` is the draft revision the trainer was shown (`DraftView.revision`):
    if the draft changed since, nothing is replaced (DraftConflict). The files are parsed
    once (`seconds` bounds it) before anything is locked or written.
    """
    editors.require_edit(session, user, course)
    folder, files = read_upload(data, seconds=seconds)
    code = _code_of(files, seconds=seconds)
    if code != course.code:
        raise UploadRefused(f"This zip is the course {code}, not {course.code}: upload it as a "
                            "new course, or choose the zip of this course.", field="archive")
    problems, warnings = _checked(course.code, files, seconds)
    begin_writing_after_reading(session)
    editing = Editing(session, user, course)
    draft = editing.draft
    if draft.revision != expected_revision:
        who = draft.updated_by.name if draft.updated_by else ""
        raise DraftConflict(f"{who or 'Someone'} changed the draft at "
                            f"{when_text(draft.updated_at)}, after you looked at it: nothing "
                            "was replaced. Look at the draft again before uploading.",
                            changed_by=who, changed_at=draft.updated_at)
    return _fill(editing, editing.sources(), files, folder, problems, warnings,
                 action="draft.zip_imported", summary="draft replaced from a zip")


def _checked(code: str, files: dict[str, bytes],
             seconds: float) -> tuple[tuple[Problem, ...], tuple[Problem, ...]]:
    """The zip's problems (to fix before publishing) and item-writing warnings; a zip that
    can't be read in time is refused whole."""
    result, problems = check_sources(code, files, seconds=seconds)
    if result.timed_out:
        raise UploadRefused(f"{problems[0]}. Nothing was imported.", field="archive")
    return problems, result.warnings


def _fill(editing: Editing, before: dict[str, bytes], files: dict[str, bytes], folder: str,
          problems: tuple[Problem, ...], warnings: tuple[Problem, ...], *, action: str,
          summary: str) -> ZipImport:
    session, user, course = editing.session, editing.user, editing.course
    now = utcnow()
    entries = {}
    for path, data in files.items():
        text = data.decode("utf-8") if pages.is_page(path) else None
        blob = store_blob(session, data).sha256 if text is None else None
        entries[path] = WorkingFile(path, hashlib.sha256(data).hexdigest(), len(data), text,
                                    blob, now, user.id)
    replace_files(editing, entries)
    changes = summarise_changes(before, files)
    editing.finish(action, summary=summary, path=None, problems=problems,
                   details={"before": {"files": len(before), "content_hash":
                                       content_hash(before) if before else None},
                            "after": {"files": len(files), "content_hash": content_hash(files)},
                            "zip_folder": folder[:200], "changes": changes.as_counts()})
    return ZipImport(course, editing.draft.revision, changes, problems, folder, warnings)
