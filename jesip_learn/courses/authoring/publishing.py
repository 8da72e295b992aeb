"""Publishing a draft, restoring an old version, and a course's history and differences.

Publishing goes through `courses.import_parsed`, the same code path as importing a folder
or a zip: a new version holding the files byte for byte, with its items parsed and
rendered, becomes the published one; an unchanged draft publishes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from jesip_learn.accounts.models import User
from jesip_learn.content import Problem
from jesip_learn.content.worker import DEFAULT_SECONDS
from jesip_learn.core.db import begin_writing_after_reading
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.authoring import editors
from jesip_learn.courses.authoring.checking import check_sources
from jesip_learn.courses.authoring.diffs import ChangeSummary, summarise_changes
from jesip_learn.courses.authoring.editing import Editing, locked_draft, replace_files, when_text
from jesip_learn.courses.authoring.errors import DraftConflict, NotFound, PublishRefused
from jesip_learn.courses.authoring.pages import is_page
from jesip_learn.courses.authoring.uploads import file_problem
from jesip_learn.courses.authoring.working_copy import find_draft, version_entries, working_sources
from jesip_learn.courses.models import Course, CourseDraft, CourseVersion
from jesip_learn.records.audit import record_event

SOURCE_LABELS = {"folder": "Imported from the courses folder", "zip": "Imported from a zip",
                 "editor": "Published from the editor", "restore": "Restored"}


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    changed: bool  # False: the content equals the latest version, nothing was published
    version_number: int  # the new version, or the unchanged one
    needs_renewal: bool
    summary: ChangeSummary  # what changed from the version published before


def publish_draft(session: Session, user: User, course: Course, *, needs_renewal: bool,
                  note: str = "", replace_newer: bool = False,
                  seconds: float = DEFAULT_SECONDS) -> PublishOutcome:
    """Validate the whole draft and publish it as a new version.

    `needs_renewal` is the trainer's answer to "must everyone complete it again?". A
    draft started before a newer version was published would undo that version's changes:
    it is refused with a DraftConflict unless `replace_newer` is set.

    The draft is parsed once, as the version will store it, before anything is locked or
    written (`seconds` bounds the parse); a draft changed while it was being checked is
    not published.
    """
    editors.require_edit(session, user, course)
    read = find_draft(session, course)
    _refuse_outdated(course, read, replace_newer)
    revision = read.revision if read is not None else 0  # a draft not yet started: 0
    sources = working_sources(session, course)
    result, problems = check_sources(course.code, sources,
                                     resolve_file=courses.VERSION_FILE_URLS, seconds=seconds)
    problems += file_problems(sources)
    if problems:
        count = len(problems)
        raise PublishRefused(f"The draft has {count} problem{'s' if count != 1 else ''}: "
                             "nothing was published. Fix them, then publish again.", problems)
    begin_writing_after_reading(session)
    editing = Editing(session, user, course)
    draft, published = editing.draft, course.published_version
    _refuse_outdated(course, draft, replace_newer)
    if draft.revision != revision:
        who = draft.updated_by.name if draft.updated_by else ""
        raise DraftConflict(f"{who or 'Someone'} changed the draft at "
                            f"{when_text(draft.updated_at)}, while it was being checked: "
                            "nothing was published. Look at the draft again, then publish.",
                            changed_by=who, changed_at=draft.updated_at)
    before = courses.version_sources(published) if published else {}
    summary = summarise_changes(before, sources)
    outcome = _import(session, course, result, user, source="editor",
                      needs_renewal=needs_renewal, note=note)
    draft.base_version_id = course.published_version_id
    if not outcome.changed:
        session.flush()
        return PublishOutcome(False, outcome.version_number, False, summary)
    editing.finish("course.draft_published", summary=f"version {outcome.version_number} "
                   "published from the draft", path=None, problems=(),
                   details={"before": _version_facts(published),
                            "after": _version_facts(course.published_version),
                            "needs_renewal": needs_renewal, "note": note[:500],
                            "changes": summary.as_counts()})
    return PublishOutcome(True, outcome.version_number, needs_renewal, summary)


def file_problems(sources: dict[str, bytes]) -> tuple[Problem, ...]:
    """Images and PDFs that today's checks refuse (uploads.py), such as one added before
    those checks existed: a version never publishes them."""
    found = []
    for path, data in sorted(sources.items()):
        if not is_page(path):
            problem = file_problem(path, data)
            if problem:
                found.append(Problem(path, 1, problem.removeprefix(f"{path}: ")))
    return tuple(found)


def _refuse_outdated(course: Course, draft: CourseDraft | None, replace_newer: bool) -> None:
    """A draft started before the published version would undo its changes."""
    published = course.published_version
    if (published is None or draft is None or draft.base_version_id == published.id
            or replace_newer):
        return
    who = published.published_by.name if published.published_by else "someone"
    raise DraftConflict(
        f"Version {published.number} was published by {who} at "
        f"{when_text(published.published_at)}, after this draft was started. Publishing "
        "the draft would undo its changes: compare them first, then choose to replace it.",
        changed_by=published.published_by.name if published.published_by else "",
        changed_at=published.published_at)


def _import(session: Session, course: Course, result, user: User, **options):
    try:
        outcome, = courses.import_parsed(session, [(course.slug, result)], actor=user, **options)
    except courses.ImportRefused as refused:  # check_sources found nothing: not expected
        raise PublishRefused("The course could not be published.", refused.problems) from None
    return outcome


def _version_facts(version: CourseVersion | None) -> dict | None:
    if version is None:
        return None
    return {"version": version.number, "content_hash": version.content_hash}


def restore_version(session: Session, user: User, course: Course, number: int, *,
                    needs_renewal: bool, note: str = "",
                    seconds: float = DEFAULT_SECONDS) -> PublishOutcome:
    """Publish an old version's files again, as a new version.

    A draft without unpublished changes follows the course to the restored content; a
    draft with changes is left as it is (and is then outdated: publishing it asks first).
    The old version is parsed before anything is locked or written.
    """
    editors.require_edit(session, user, course)
    sources = courses.version_sources(_version(session, course, number))
    result, problems = check_sources(course.code, sources,
                                     resolve_file=courses.VERSION_FILE_URLS, seconds=seconds)
    problems += file_problems(sources)
    if problems:
        raise PublishRefused(f"Version {number} can't be published again as it stands: it "
                             "has problems under today's rules.", problems)
    begin_writing_after_reading(session)
    previous = course.published_version
    before = courses.version_sources(previous) if previous else {}
    summary = summarise_changes(before, sources)
    draft = locked_draft(session, course)
    draft_was_clean = draft is not None and previous is not None and (
        draft.base_version_id == previous.id
        and working_sources(session, course) == before)
    outcome = _import(session, course, result, user, source="restore",
                      needs_renewal=needs_renewal, note=note or f"Restored version {number}")
    if not outcome.changed:
        return PublishOutcome(False, outcome.version_number, False, summary)
    if draft_was_clean:
        editing = Editing(session, user, course)
        replace_files(editing, version_entries(session, course.published_version))
        editing.draft.base_version_id = course.published_version_id
        editing.draft.revision += 1
    session.flush()
    record_event(session, "course.version_restored", actor=user,
                 summary=f"{course.code}: version {number} published again as version "
                 f"{outcome.version_number}",
                 details={"code": course.code, "restored": number,
                          "before": _version_facts(previous),
                          "after": _version_facts(course.published_version),
                          "needs_renewal": needs_renewal, "changes": summary.as_counts()})
    return PublishOutcome(True, outcome.version_number, needs_renewal, summary)


def _version(session: Session, course: Course, number: int) -> CourseVersion:
    version = session.scalar(select(CourseVersion).where(CourseVersion.course_id == course.id,
                                                         CourseVersion.number == number))
    if version is None:
        raise NotFound(f"{course.code} has no version {number}.")
    return version


@dataclass(frozen=True, slots=True)
class VersionRow:
    number: int
    title: str
    published_at: datetime
    published_by: str  # name; "" for the command line or a deleted account
    source: str  # "folder", "zip", "editor" or "restore"
    needs_renewal: bool
    note: str
    content_hash: str
    is_published: bool

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)


def version_history(session: Session, user: User, course: Course) -> list[VersionRow]:
    """Every version of the course, newest first."""
    editors.require_edit(session, user, course)
    versions = session.scalars(select(CourseVersion).where(CourseVersion.course_id == course.id)
                               .options(selectinload(CourseVersion.published_by))
                               .order_by(CourseVersion.number.desc()))
    return [VersionRow(v.number, v.title, v.published_at,
                       v.published_by.name if v.published_by else "", v.source,
                       v.needs_renewal, v.note, v.content_hash,
                       v.id == course.published_version_id) for v in versions]


@dataclass(frozen=True, slots=True)
class VersionDiff:
    old_number: int
    new_number: int
    summary: ChangeSummary


def diff_versions(session: Session, user: User, course: Course, old_number: int,
                  new_number: int) -> VersionDiff:
    """What changed from one version to another (either order)."""
    editors.require_edit(session, user, course)
    old, new = _version(session, course, old_number), _version(session, course, new_number)
    return VersionDiff(old_number, new_number, summarise_changes(
        courses.version_sources(old), courses.version_sources(new)))


def draft_changes(session: Session, user: User, course: Course) -> ChangeSummary:
    """What publishing the draft would change, against the published version."""
    editors.require_edit(session, user, course)
    published = course.published_version
    before = courses.version_sources(published) if published else {}
    return summarise_changes(before, working_sources(session, course))
