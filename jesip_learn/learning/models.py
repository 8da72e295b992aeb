"""Tables of learning: progress, quiz attempts and allowances, scenario runs, completions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jesip_learn.accounts.models import User
from jesip_learn.core.columns import UTCDateTime, utcnow
from jesip_learn.core.db import Base
from jesip_learn.courses.models import Course, CourseVersion


class ItemProgress(Base):
    """A learner's progress on one item of a course, keyed by course and item slug so that
    it survives new versions that keep the slug."""

    __tablename__ = "item_progress"
    # Reports ask whether someone had started a course by a moment from the index alone;
    # its first column serves the lookups by learner.
    __table_args__ = (UniqueConstraint("user_id", "course_id", "item_slug"),
                      Index("ix_item_progress_user_course_started", "user_id", "course_id",
                            "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    item_slug: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_versions.id", ondelete="SET NULL"))



class QuizAttempt(Base):
    """One attempt at a quiz: the questions drawn and their option order, fixed when it
    starts; the answers as they are saved; the score once submitted."""

    __tablename__ = "quiz_attempts"
    # A quiz's pages count, rank and number the learner's attempts at it from this index
    # alone, never reading the questions and answers (kilobytes a row): the cost then
    # hardly grows with the number of attempts. It serves lookups by learner too.
    __table_args__ = (Index("ix_quiz_attempts_by_quiz", "user_id", "course_id", "item_slug",
                            "submitted_at", "started_at", "percent", "passed"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"))
    item_slug: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    question_ids: Mapped[list] = mapped_column(JSON)
    option_order: Mapped[dict] = mapped_column(JSON)  # question id → option ids as shown
    answers: Mapped[dict] = mapped_column(JSON, default=dict)  # question id → answer
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    correct: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[int | None] = mapped_column(Integer)
    percent: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)

    version: Mapped[CourseVersion] = relationship()



class QuizAllowance(Base):
    """Attempts at a quiz granted to one learner beyond its `max_attempts`, by a trainer of
    the course or a manager of the person. `extra_attempts` counts in the round of training
    the latest grant was made in (`granted_at`), never in a later one. `grants` counts the
    grants made: a grant is one conditional UPDATE on the number the form was shown, so a
    form sent twice grants once."""

    __tablename__ = "quiz_allowances"
    __table_args__ = (UniqueConstraint("user_id", "course_id", "item_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    item_slug: Mapped[str] = mapped_column(String(200))
    extra_attempts: Mapped[int] = mapped_column(Integer, default=0)
    grants: Mapped[int] = mapped_column(Integer, default=0)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))



class ScenarioRun(Base):
    """One walk through a scenario: the path so far, saved after every step."""

    __tablename__ = "scenario_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"))
    item_slug: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # [[step id, choice id or null], ...]: the last entry is the step the learner is on.
    path: Mapped[list] = mapped_column(JSON, default=list)
    methane: Mapped[dict] = mapped_column(JSON, default=dict)  # step id → seven texts
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    abandoned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(String(10))
    points: Mapped[int | None] = mapped_column(Integer)
    best_points: Mapped[int | None] = mapped_column(Integer)

    version: Mapped[CourseVersion] = relationship()



class Completion(Base):
    """A course completed: the version, when, until when it is in date, and the code that
    verifies its certificate."""

    __tablename__ = "completions"
    # Reports read each learner's completions of each course in order, and when each runs
    # out, from this index alone.
    __table_args__ = (Index("ix_completions_user_course_order", "user_id", "course_id",
                            "completed_at", "id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    # A completion brought from another system has no version here and no certificate.
    version_id: Mapped[int | None] = mapped_column(ForeignKey("course_versions.id"))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    certificate_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    # Empty for a course completed here; otherwise where the record came from.
    source: Mapped[str] = mapped_column(String(200), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                  ondelete="SET NULL"))

    course: Mapped[Course] = relationship()
    version: Mapped[CourseVersion | None] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def is_imported(self) -> bool:
        return bool(self.source)
