"""Every change a trainer makes to a draft: create a course, edit a page, add, rename,
move and delete items, upload and delete images, discard the draft.

Each checks the user may edit the course, locks the draft (see `editing.Editing`), refuses
with an `AuthoringError` (a `DraftConflict` when the file changed since the editor opened
it), and records an audit event with what changed before and after. Each returns a
`DraftChange` carrying the whole draft's problems, because a change is saved even when it
leaves problems: they are the trainer's to fix before publishing.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.content.archive import MAX_ENTRIES, MAX_TOTAL_BYTES
from jesip_learn.content.files import COURSE_PAGE, MAX_PAGE_BYTES
from jesip_learn.content.front_matter_values import control_character_problem
from jesip_learn.content.worker import DEFAULT_SECONDS
from jesip_learn.core.db import begin_writing_after_reading
from jesip_learn.courses.authoring import editors, pages
from jesip_learn.courses.authoring.checking import check_sources
from jesip_learn.courses.authoring.editing import (
    DraftChange,
    Editing,
    replace_files,
    sha256_of,
    text_audit,
)
from jesip_learn.courses.authoring.errors import AuthoringError, UploadRefused
from jesip_learn.courses.authoring.uploads import check_upload
from jesip_learn.courses.authoring.working_copy import (
    checking_sources,
    course_by_code,
    version_entries,
    version_number_of,
    working_entries,
)
from jesip_learn.courses.models import Course, CourseDraft, CourseItem, DraftFile
from jesip_learn.records.audit import record_event


def _checked(check: Callable[[str], str], value: str, field: str) -> str:
    """`check(value)`, its ValueError turned into a refusal about the form field."""
    try:
        return check(value)
    except ValueError as error:
        raise AuthoringError(str(error), field=field) from None


def create_course(session: Session, user: User, *, title: str, code: str,
                  summary: str = "") -> Course:
    """A new course, owned by `user`, whose draft holds course.md and a first module.
    Nothing is published: learners see it once it is."""
    editors.require_create(user)
    title = _checked(pages.checked_title, title, "title")
    # Codes are written in capitals (as the form's hint says), whatever was typed: codes
    # are found regardless of case, so "jesip-kent" and "JESIP-KENT" are one course.
    code = _checked(pages.checked_code, code.upper(), "code")
    summary = " ".join(summary.split())
    if len(summary) > 300:
        raise AuthoringError("The summary must be 300 characters or fewer.", field="summary")
    refused = control_character_problem("The summary", summary)
    if refused:
        raise AuthoringError(f"{refused}.", field="summary")
    if course_by_code(session, code) is not None:
        raise AuthoringError(f"There is already a course with the code {code}: choose "
                             "another.", field="code")
    course = Course(code=code, slug=pages.slugify(code) or "course")
    session.add(course)
    session.flush()
    editors.make_owner(session, course, user)
    draft = CourseDraft(course_id=course.id, base_version_id=None, revision=1,
                        created_by_id=user.id, updated_by_id=user.id)
    session.add(draft)
    session.flush()
    files = pages.new_course_pages(title=title, code=code, summary=summary)
    for path, text in files.items():
        data = text.encode("utf-8")
        session.add(DraftFile(draft_id=draft.id, path=path, text=text, sha256=sha256_of(data),
                              size=len(data), updated_by_id=user.id))
    session.flush()
    record_event(session, "course.created", actor=user, summary=f"{code}: created ({title})",
                 details={"code": code, "title": title, "before": None,
                          "after": {"files": {path: sha256_of(text.encode("utf-8"))
                                              for path, text in files.items()}}})
    return course


def save_page(session: Session, user: User, course: Course, path: str, text: str, *,
              base_sha256: str, seconds: float = DEFAULT_SECONDS) -> DraftChange:
    """Save a page's whole text (front matter included), even when it has problems: they
    come back in the result, at their lines, for the trainer to fix.

    The draft is checked with the new text before anything is locked or written (`seconds`
    bounds the parse). A page that can't be read in that time is refused, not saved: every
    later look at the draft would spend the time again.
    """
    editors.require_edit(session, user, course)
    _draft, entries = working_entries(session, course)
    current = entries.get(path)
    if current is not None and current.text is None and not pages.is_page(path):
        raise AuthoringError(f"{path} is not a page: replace it by uploading a file.")
    submitted = text
    text = pages.conform_text(text, current.text if current is not None else None)
    data = text.encode("utf-8")
    if len(data) > MAX_PAGE_BYTES:
        raise AuthoringError(f"The page is too long ({len(data) // 1024} KB): the limit is "
                             f"{MAX_PAGE_BYTES // 1024} KB. Split it into more pages.",
                             field="text")
    if "\x00" in text:
        raise AuthoringError("The text holds a NUL character: remove it.", field="text")
    problems = None
    if current is not None:
        sources = checking_sources(entries)
        sources[path] = data
        result, problems = check_sources(course.code, sources, seconds=seconds)
        if result.timed_out:
            raise AuthoringError(f"Nothing was saved: {result.problems[0]}.", field="text")
    begin_writing_after_reading(session)
    editing = Editing(session, user, course)
    row = editing.expect(path, base_sha256, submitted_text=submitted)
    if row.text is None and not pages.is_page(path):
        raise AuthoringError(f"{path} is not a page: replace it by uploading a file.")
    text = pages.conform_text(submitted, row.text)
    if text == row.text:
        return editing.unchanged(path, problems=problems)
    before = row.text
    editing.write_text(row, text)
    return editing.finish("draft.page_saved", summary=f"{path} edited", path=path,
                          problems=problems,
                          details={"path": path, **text_audit(before, text)})


def add_item(session: Session, user: User, course: Course, *, kind: str, title: str,
             slug: str | None = None, position: int | None = None) -> DraftChange:
    """A new module, quiz or scenario from a starter page that validates, placed last (or
    at `position`). Its slug comes from the title unless given."""
    if kind not in pages.KINDS:
        raise AuthoringError("Choose a reading module, a quiz or a scenario.", field="kind")
    title = _checked(pages.checked_title, title, "title")
    slug = _checked(pages.checked_slug, slug, "slug") if slug and slug.strip() else None
    editing = Editing(session, user, course)
    items = editing.outline()
    taken = {item.slug.lower() for item in items}
    if slug is None:
        slug = _free_slug(pages.slugify(title) or kind, taken)
    elif slug.lower() in taken:
        raise AuthoringError(f"Another page is already called {slug}: choose another "
                             "address.", field="slug")
    number = max((item.number for item in items), default=0) + 1
    path = pages.item_path(number, slug, kind, width=pages.number_width(max(number, 9)))
    if path in editing.files:
        raise AuthoringError(f"{path} is already in the course.", field="slug")
    row = editing.add_text(path, pages.starter_page(kind, title))
    session.flush()
    renamed: tuple[tuple[str, str], ...] = ()
    if position is not None and position < len(items) + 1:
        renamed = _reorder(editing, path, position)
        path = dict(renamed).get(path, path)
    return editing.finish("draft.item_added", summary=f"{pages.KIND_LABELS[kind]} {path} added",
                          path=path, renamed=renamed,
                          details={"path": path, "kind": kind, "title": title, "before": None,
                                   "after": {"path": path, "sha256": row.sha256,
                                             "size": row.size},
                                   "renamed": [list(pair) for pair in renamed]})


def _free_slug(base: str, taken: set[str]) -> str:
    base = base[: pages.MAX_SLUG_LENGTH - 4].rstrip("-") or "page"
    slug, counter = base, 2
    while slug.lower() in taken:
        slug, counter = f"{base}-{counter}", counter + 1
    return slug


def rename_item(session: Session, user: User, course: Course, path: str, *, base_sha256: str,
                title: str | None = None, slug: str | None = None) -> DraftChange:
    """Change an item's title (in its front matter) and/or its slug (its file name).

    Learners' progress is recorded against the slug, so a new slug for an item that is
    already published comes with a warning: progress on it will not carry over.
    """
    editing = Editing(session, user, course)
    row = editing.expect(path, base_sha256)
    item = editing.item(path)
    new_title = _checked(pages.checked_title, title, "title") if title is not None else item.title
    new_slug = _checked(pages.checked_slug, slug, "slug") if slug is not None else item.slug
    if new_slug.lower() != item.slug.lower() and new_slug.lower() in {
            other.slug.lower() for other in editing.outline()}:
        raise AuthoringError(f"Another page is already called {new_slug}: choose another "
                             "address.", field="slug")
    before = {"path": path, "title": item.title, "sha256": row.sha256}
    retitle = title is not None and new_title != item.title
    if not retitle and new_slug == item.slug:
        return editing.unchanged(path)
    if retitle:
        editing.write_text(row, pages.with_title(row.text or "", new_title))
    new_path = path
    warnings: tuple[str, ...] = ()
    if new_slug != item.slug:
        prefix = path.split("-", 1)[0]
        new_path = f"{prefix}-{new_slug}{pages.KIND_ENDINGS[item.kind]}"
        editing.rename({path: new_path})
        if _published_slug(session, course, item.slug):
            warnings = (f"Learners' progress on “{item.title}” is recorded against its old "
                        f"address, {item.slug}: once you publish, it will not carry over to "
                        f"{new_slug}, and learners will need to complete that item again.",)
    after = {"path": new_path, "title": new_title, "sha256": row.sha256}
    renamed = ((path, new_path),) if new_path != path else ()
    return editing.finish("draft.item_renamed", summary=f"{path} renamed to {new_path}"
                          if renamed else f"{path} retitled", path=new_path,
                          warnings=warnings, renamed=renamed,
                          details={"path": path, "before": before, "after": after})


def _published_slug(session: Session, course: Course, slug: str) -> bool:
    if course.published_version_id is None:
        return False
    return session.scalar(select(CourseItem.id).where(
        CourseItem.version_id == course.published_version_id, CourseItem.slug == slug)) is not None


def move_item(session: Session, user: User, course: Course, path: str, *,
              position: int) -> DraftChange:
    """Put an item at `position` (1-based; clamped to the course) by renumbering pages.

    Only the moved item is renamed when there is room for its number between its new
    neighbours; otherwise the items are numbered again from 01, which renames only those
    whose number changes.
    """
    return _move(Editing(session, user, course), path, lambda _current: position)


def move_item_by(session: Session, user: User, course: Course, path: str,
                 steps: int) -> DraftChange:
    """Move an item up (steps < 0) or down (steps > 0) from where it is now."""
    return _move(Editing(session, user, course), path, lambda current: current + steps)


def _move(editing: Editing, path: str, place: Callable[[int], int]) -> DraftChange:
    editing.expect(path, None)
    current = editing.item(path).position
    position = max(1, min(place(current), len(editing.outline())))
    if position == current:
        return editing.unchanged(path)
    renamed = _reorder(editing, path, position)
    new_path = dict(renamed).get(path, path)
    return editing.finish("draft.item_moved",
                          summary=f"{path} moved from {current} to {position}",
                          path=new_path, renamed=renamed,
                          details={"path": path, "before": {"path": path, "position": current},
                                   "after": {"path": new_path, "position": position},
                                   "renamed": [list(pair) for pair in renamed]})


def _reorder(editing: Editing, path: str, position: int) -> tuple[tuple[str, str], ...]:
    items = list(editing.outline())
    moving = next(item for item in items if item.path == path)
    items.remove(moving)
    items.insert(position - 1, moving)
    before = items[position - 2].number if position > 1 else 0
    after = items[position].number if position < len(items) else None
    moves: dict[str, str]
    if after is None or after - before >= 2:
        number = before + 1
        width = len(moving.path.split("-", 1)[0])
        moves = {path: pages.item_path(number, moving.slug, moving.kind,
                                       width=max(width, pages.number_width(number)))}
    else:
        width = pages.number_width(len(items))
        moves = {item.path: pages.item_path(index, item.slug, item.kind, width=width)
                 for index, item in enumerate(items, start=1)}
    moves = {old: new for old, new in moves.items() if old != new}
    editing.rename(moves)
    return tuple(sorted(moves.items()))


def delete_item(session: Session, user: User, course: Course, path: str, *,
                base_sha256: str) -> DraftChange:
    editing = Editing(session, user, course)
    row = editing.expect(path, base_sha256)
    item = editing.item(path)
    warnings: tuple[str, ...] = ()
    if _published_slug(session, course, item.slug):
        warnings = (f"“{item.title}” leaves the course when you publish: learners will no "
                    "longer see it, and it will no longer count towards completing the course.",)
    before = {"path": path, "title": item.title, "sha256": row.sha256, "size": row.size}
    editing.delete(path)
    return editing.finish("draft.item_deleted", summary=f"{path} deleted", path=None,
                          warnings=warnings, details={"path": path, "before": before,
                                                      "after": None})


def upload_file(session: Session, user: User, course: Course, filename: str, data: bytes, *,
                replace_sha256: str | None = None) -> DraftChange:
    """Add an image or PDF under a safe name (images/..., files/...). A file already at
    that name is replaced only when `replace_sha256` names its current content."""
    checked = check_upload(filename, data)
    editing = Editing(session, user, course)
    existing = editing.files.get(checked.path)
    if existing is not None and replace_sha256 is None:
        raise AuthoringError(f"The course already has a file called {checked.path}: rename "
                             "your file, or choose to replace it.", field="file")
    if existing is not None:
        editing.expect(checked.path, replace_sha256)
    if existing is None and len(editing.files) + 1 > MAX_ENTRIES:
        raise UploadRefused(f"A course can hold at most {MAX_ENTRIES} files.", field="file")
    total = sum(row.size for row in editing.files.values()) - (existing.size if existing
                                                               else 0) + len(data)
    if total > MAX_TOTAL_BYTES:
        raise UploadRefused(f"The course would be larger than {MAX_TOTAL_BYTES // 1_048_576} "
                            "MB in all: remove files it no longer uses first.", field="file")
    before = {"sha256": existing.sha256, "size": existing.size} if existing else None
    if existing is not None and existing.sha256 == sha256_of(data):
        return editing.unchanged(checked.path)
    row = editing.put_bytes(checked.path, data)
    return editing.finish("draft.file_uploaded", summary=f"{checked.path} uploaded",
                          path=checked.path, link=checked.markdown,
                          details={"path": checked.path, "filename": filename[:200],
                                   "before": before,
                                   "after": {"sha256": row.sha256, "size": row.size,
                                             "media_type": checked.media_type}})


def delete_file(session: Session, user: User, course: Course, path: str, *,
                base_sha256: str) -> DraftChange:
    """Delete an image, a PDF or a stray page (not course.md; items go with delete_item)."""
    editing = Editing(session, user, course)
    row = editing.expect(path, base_sha256)
    if path == COURSE_PAGE:
        raise AuthoringError("course.md can't be deleted: every course needs one.")
    if pages.item_name(path) is not None:
        raise AuthoringError(f"{path} is a module, quiz or scenario: delete it as an item.")
    users_of = sorted(p for p, text in editing.texts().items() if path in text and p != path)
    warnings = (f"Still used by {', '.join(users_of)}: change those pages too, or they "
                "can't be published.",) if users_of else ()
    before = {"path": path, "sha256": row.sha256, "size": row.size}
    editing.delete(path)
    return editing.finish("draft.file_deleted", summary=f"{path} deleted", path=None,
                          warnings=warnings, details={"path": path, "before": before,
                                                      "after": None})


def discard_draft(session: Session, user: User, course: Course) -> DraftChange:
    """Throw away every unpublished change: the draft holds the published version again."""
    editing = Editing(session, user, course)
    published = course.published_version
    if published is None:
        raise AuthoringError(f"{course.code} has never been published: there is no "
                             "published version to go back to.")
    before = {"files": len(editing.files), "base_version": version_number_of(session,
                                                                   editing.draft.base_version_id)}
    changed = replace_files(editing, version_entries(session, published))
    outdated = editing.draft.base_version_id != published.id
    editing.draft.base_version_id = published.id
    if not changed and not outdated:
        return editing.unchanged(None)
    return editing.finish("draft.discarded", summary="unpublished changes discarded", path=None,
                          details={"before": before,
                                   "after": {"files": len(editing.files),
                                             "base_version": published.number}})
