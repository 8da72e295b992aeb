"""Tables of courses: versions, items, files, editors and drafts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jesip_learn.accounts.models import User
from jesip_learn.core.columns import UTCDateTime, utcnow
from jesip_learn.core.db import Base


class Course(Base):
    """A course, identified by its stable code; its content lives in versions."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    slug: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_versions.id", use_alter=True, ondelete="SET NULL")
    )

    versions: Mapped[list[CourseVersion]] = relationship(
        back_populates="course", foreign_keys="CourseVersion.course_id",
        order_by="CourseVersion.number", cascade="all, delete-orphan",
    )
    published_version: Mapped[CourseVersion | None] = relationship(
        foreign_keys=[published_version_id], post_update=True
    )

    @property
    def title(self) -> str:
        return self.published_version.title if self.published_version else self.code



class CourseVersion(Base):
    """One published state of a course: its files byte for byte, and everything parsed and
    rendered from them, so that a page view never runs Markdown."""

    __tablename__ = "course_versions"
    __table_args__ = (UniqueConstraint("course_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[int | None] = mapped_column(Integer)
    validity_months: Mapped[int | None] = mapped_column(Integer)
    required_services: Mapped[list] = mapped_column(JSON, default=list)
    required_roles: Mapped[list] = mapped_column(JSON, default=list)
    overview_html: Mapped[str] = mapped_column(Text, default="")
    # Everyone must complete this version again: earlier completions fall due.
    needs_renewal: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(20), default="folder")
    note: Mapped[str] = mapped_column(Text, default="")

    course: Mapped[Course] = relationship(back_populates="versions", foreign_keys=[course_id])
    published_by: Mapped[User | None] = relationship()
    items: Mapped[list[CourseItem]] = relationship(
        back_populates="version", order_by="CourseItem.position", cascade="all, delete-orphan"
    )
    files: Mapped[list[CourseFile]] = relationship(
        back_populates="version", order_by="CourseFile.path", cascade="all, delete-orphan"
    )



class CourseItem(Base):
    """A module, quiz or scenario of a version, stored parsed and rendered (JSON)."""

    __tablename__ = "course_items"
    __table_args__ = (UniqueConstraint("version_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("course_versions.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    minutes: Mapped[int | None] = mapped_column(Integer)
    # Loaded only when one item is shown: lists of items need just their titles.
    content: Mapped[dict] = mapped_column(JSON, deferred=True)

    version: Mapped[CourseVersion] = relationship(back_populates="items")



class FileBlob(Base):
    """File contents, stored once however many versions ship the same bytes."""

    __tablename__ = "file_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)



class CourseFile(Base):
    """A file of a course version, by its path in the course folder."""

    __tablename__ = "course_files"
    __table_args__ = (UniqueConstraint("version_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("course_versions.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(500))
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("file_blobs.sha256"))

    version: Mapped[CourseVersion] = relationship(back_populates="files")
    blob: Mapped[FileBlob] = relationship()



class CourseEditor(Base):
    """A trainer who may edit a course in the browser: its owner, who may also name other
    editors, or an editor. A course imported from the `courses/` folder has none, so only
    administrators, and the editors they name, may change it."""

    __tablename__ = "course_editors"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))  # "owner" or "editor"
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])



class CourseDraft(Base):
    """The one working copy of a course that trainers edit in the browser: the whole course
    folder as it will be published. Learners never see it; publishing makes it a version."""

    __tablename__ = "course_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           unique=True)
    # The version the draft was started from; None for a course never published.
    base_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_versions.id", ondelete="SET NULL"))
    # Goes up by one with every change to the draft.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    course: Mapped[Course] = relationship()
    base_version: Mapped[CourseVersion | None] = relationship()
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])



class DraftFile(Base):
    """A file of a draft by its path in the course folder: a page's text, or the stored
    bytes of an image or PDF. `sha256` and `size` describe the bytes either way, so an
    edit can say which content it started from."""

    __tablename__ = "draft_files"
    __table_args__ = (UniqueConstraint("draft_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("course_drafts.id", ondelete="CASCADE"),
                                          index=True)
    path: Mapped[str] = mapped_column(String(500))
    text: Mapped[str | None] = mapped_column(Text)  # a page, as UTF-8 text
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("file_blobs.sha256"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    draft: Mapped[CourseDraft] = relationship()
    blob: Mapped[FileBlob | None] = relationship()
    updated_by: Mapped[User | None] = relationship()
