"""Who may edit which course, and the trainers' list of their courses.

- Administrators may edit every course and name anyone's editors.
- A trainer may edit a course they own or were named an editor of. Whoever creates a
  course in the browser, or imports it from a zip as a new course, owns it; owners may
  name and remove other editors (and owners). Courses imported from the `courses/` folder
  by the command line have no owner, so only administrators and the editors they name
  may change them.
- Someone who is no longer a trainer (or is deactivated) keeps their rows but may edit
  nothing until they are a trainer again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from jesip_learn.accounts import permissions
from jesip_learn.accounts.models import Organisation, User
from jesip_learn.content.files import COURSE_PAGE
from jesip_learn.courses.authoring.errors import AuthoringError, NotAllowed
from jesip_learn.courses.authoring.pages import page_title
from jesip_learn.courses.models import (
    Course,
    CourseDraft,
    CourseEditor,
    CourseFile,
    CourseVersion,
    DraftFile,
)
from jesip_learn.learning.models import Completion
from jesip_learn.records.audit import record_event

OWNER = "owner"
EDITOR = "editor"
ROLES = (OWNER, EDITOR)
ROLE_LABELS = {OWNER: "Owner", EDITOR: "Editor", "admin": "Administrator"}


is_author = permissions.is_author


def can_create_courses(user: User) -> bool:
    return is_author(user)


def editor_role(session: Session, user: User, course: Course) -> str | None:
    """"owner" or "editor" when the user has been given the course, else None."""
    return session.scalar(select(CourseEditor.role).where(CourseEditor.course_id == course.id,
                                                          CourseEditor.user_id == user.id))


def can_edit(session: Session, user: User, course: Course) -> bool:
    if not is_author(user):
        return False
    return permissions.may_edit_course(user, editor_role(session, user, course))


def can_manage_editors(session: Session, user: User, course: Course) -> bool:
    if not is_author(user):
        return False
    return user.is_admin or editor_role(session, user, course) == OWNER


def require_edit(session: Session, user: User, course: Course) -> None:
    if not can_edit(session, user, course):
        raise NotAllowed(f"You can't edit {course.code}: ask its owner or an administrator "
                         "to add you as an editor.")


def require_create(user: User) -> None:
    if not can_create_courses(user):
        raise NotAllowed("Only trainers and administrators can create courses.")


def editable_courses(session: Session, user: User) -> list[Course]:
    """Every course the user may edit, by code."""
    if not is_author(user):
        return []
    query = select(Course).order_by(Course.code)
    if not user.is_admin:
        query = query.join(CourseEditor, CourseEditor.course_id == Course.id).where(
            CourseEditor.user_id == user.id)
    return list(session.scalars(query))


def make_owner(session: Session, course: Course, user: User) -> CourseEditor:
    """The creator of a course owns it (no check: the caller just created the course)."""
    row = CourseEditor(course_id=course.id, user_id=user.id, role=OWNER, granted_by_id=user.id)
    session.add(row)
    return row


@dataclass(frozen=True, slots=True)
class EditorRow:
    user_id: int
    name: str
    email: str
    role: str  # "owner" or "editor"
    granted_by: str  # name; "" when unknown
    granted_at: datetime

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


def course_editors(session: Session, user: User, course: Course) -> list[EditorRow]:
    """The owners, then the editors, of a course, by name."""
    require_edit(session, user, course)
    rows = session.scalars(select(CourseEditor).where(CourseEditor.course_id == course.id)
                           .options(selectinload(CourseEditor.user),
                                    selectinload(CourseEditor.granted_by)))
    found = [EditorRow(row.user_id, row.user.name, row.user.email, row.role,
                       row.granted_by.name if row.granted_by else "", row.granted_at)
             for row in rows]
    return sorted(found, key=lambda r: (ROLES.index(r.role), r.name.lower()))


def add_editor(session: Session, actor: User, course: Course, person: User,
               role: str = EDITOR) -> CourseEditor:
    """Give `person` the course as owner or editor (or change their role)."""
    if not can_manage_editors(session, actor, course):
        raise NotAllowed(f"Only an owner of {course.code} or an administrator can choose "
                         "who edits it.")
    if role not in ROLES:
        raise AuthoringError("Choose owner or editor.", field="role")
    if not is_author(person):
        raise AuthoringError(f"{person.name} is not a trainer: an administrator must make "
                             "them a trainer first.", field="user")
    row = session.scalar(select(CourseEditor).where(CourseEditor.course_id == course.id,
                                                    CourseEditor.user_id == person.id))
    before = {"role": row.role} if row else None
    if row is not None and row.role == role:
        return row
    if row is None:
        row = CourseEditor(course_id=course.id, user_id=person.id, role=role)
        session.add(row)
    row.role, row.granted_by_id = role, actor.id
    session.flush()
    record_event(session, "course.editor_added" if before is None else "course.editor_changed",
                 actor=actor, subject=person,
                 summary=f"{person.name} made {role} of {course.code}",
                 details={"code": course.code, "user_id": person.id, "before": before,
                          "after": {"role": role}})
    return row


def remove_editor(session: Session, actor: User, course: Course, person: User) -> None:
    if not can_manage_editors(session, actor, course):
        raise NotAllowed(f"Only an owner of {course.code} or an administrator can choose "
                         "who edits it.")
    row = session.scalar(select(CourseEditor).where(CourseEditor.course_id == course.id,
                                                    CourseEditor.user_id == person.id))
    if row is None:
        return
    owners = session.scalar(select(func.count()).where(CourseEditor.course_id == course.id,
                                                       CourseEditor.role == "owner"))
    if row.role == "owner" and owners == 1:
        # Without an owner only administrators could choose editors again.
        raise NotAllowed(f"{person.name} is the only owner of {course.code}. Make someone "
                         "else an owner first.")
    before = {"role": row.role}
    session.delete(row)
    session.flush()
    record_event(session, "course.editor_removed", actor=actor, subject=person,
                 summary=f"{person.name} no longer edits {course.code}",
                 details={"code": course.code, "user_id": person.id, "before": before,
                          "after": None})


# --- the trainers' list ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrainerCourse:
    """A row of the trainers' list of the courses they may edit."""

    course_id: int
    code: str
    title: str
    role: str  # "owner", "editor" or "admin" (an administrator not named on the course)
    published_version: int | None
    published_at: datetime | None
    versions: int
    has_draft_changes: bool  # the draft differs from the published version
    draft_updated_at: datetime | None
    draft_updated_by: str
    completed_by: int  # learners with a completion of any version

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


def trainer_courses(session: Session, user: User) -> list[TrainerCourse]:
    courses = editable_courses(session, user)
    if not courses:
        return []
    ids = [course.id for course in courses]
    roles = dict(session.execute(select(CourseEditor.course_id, CourseEditor.role)
                                 .where(CourseEditor.user_id == user.id,
                                        CourseEditor.course_id.in_(ids))).all())
    published = {v.course_id: v for v in session.scalars(
        select(CourseVersion).join(Course, Course.published_version_id == CourseVersion.id)
        .where(Course.id.in_(ids)))}
    counts = dict(session.execute(select(CourseVersion.course_id, func.count())
                                  .where(CourseVersion.course_id.in_(ids))
                                  .group_by(CourseVersion.course_id)).all())
    completed = dict(session.execute(
        select(Completion.course_id, func.count(func.distinct(Completion.user_id)))
        .where(Completion.course_id.in_(ids)).group_by(Completion.course_id)).all())
    drafts = {d.course_id: d for d in session.scalars(
        select(CourseDraft).where(CourseDraft.course_id.in_(ids))
        .options(selectinload(CourseDraft.updated_by)))}
    changed = _drafts_with_changes(session, drafts, published)
    unpublished_titles = _draft_titles(session, [d.id for cid, d in drafts.items()
                                                 if cid not in published])
    rows = []
    for course in courses:
        version, draft = published.get(course.id), drafts.get(course.id)
        rows.append(TrainerCourse(
            course_id=course.id, code=course.code,
            title=version.title if version else (
                unpublished_titles.get(draft.id if draft else None) or course.code),
            role=roles.get(course.id, "admin"),
            published_version=version.number if version else None,
            published_at=version.published_at if version else None,
            versions=counts.get(course.id, 0),
            has_draft_changes=course.id in changed or (version is None),
            draft_updated_at=draft.updated_at if draft else None,
            draft_updated_by=draft.updated_by.name if draft and draft.updated_by else "",
            completed_by=completed.get(course.id, 0)))
    return rows


def _draft_titles(session: Session, draft_ids: list[int]) -> dict[int, str]:
    """The titles in the course.md of drafts never published, by draft."""
    if not draft_ids:
        return {}
    rows = session.execute(select(DraftFile.draft_id, DraftFile.text).where(
        DraftFile.draft_id.in_(draft_ids), DraftFile.path == COURSE_PAGE))
    return {draft_id: page_title(text or "") for draft_id, text in rows}


def _drafts_with_changes(session: Session, drafts: dict[int, CourseDraft],
                         published: dict[int, CourseVersion]) -> set[int]:
    """Courses whose draft holds other files than the published version."""
    if not drafts:
        return set()
    draft_files: dict[int, set[tuple[str, str]]] = {d.id: set() for d in drafts.values()}
    for draft_id, path, digest in session.execute(
            select(DraftFile.draft_id, DraftFile.path, DraftFile.sha256)
            .where(DraftFile.draft_id.in_(list(draft_files)))):
        draft_files[draft_id].add((path, digest))
    version_ids = [v.id for v in published.values()]
    version_files: dict[int, set[tuple[str, str]]] = {vid: set() for vid in version_ids}
    for version_id, path, digest in session.execute(
            select(CourseFile.version_id, CourseFile.path, CourseFile.blob_sha256)
            .where(CourseFile.version_id.in_(version_ids))):
        version_files[version_id].add((path, digest))
    changed = set()
    for course_id, draft in drafts.items():
        version = published.get(course_id)
        if version is None or draft_files[draft.id] != version_files[version.id]:
            changed.add(course_id)
    return changed


@dataclass(frozen=True, slots=True)
class CompletionRow:
    user_id: int
    name: str
    organisation: str
    version: int | None  # None for a completion brought from another system
    completed_at: datetime
    expires_at: datetime | None
    imported_from: str  # "" when completed here


def course_completions(session: Session, user: User, course: Course, *,
                       limit: int = 500) -> list[CompletionRow]:
    """Who completed the course, newest first (at most `limit` rows)."""
    require_edit(session, user, course)
    rows = session.execute(
        select(Completion, User.name, Organisation.name, CourseVersion.number)
        .join(User, User.id == Completion.user_id)
        .join(Organisation, Organisation.id == User.organisation_id)
        .outerjoin(CourseVersion, CourseVersion.id == Completion.version_id)
        .where(Completion.course_id == course.id)
        .order_by(Completion.completed_at.desc(), Completion.id.desc()).limit(limit))
    return [CompletionRow(c.user_id, name, organisation, number, c.completed_at, c.expires_at,
                          c.source)
            for c, name, organisation, number in rows]
