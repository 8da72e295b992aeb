"""Tables of recorded multi-agency exercises."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jesip_learn.accounts.models import CommandRole, Organisation, User
from jesip_learn.core.columns import UTCDateTime, utcnow
from jesip_learn.core.db import Base
from jesip_learn.core.labelled import LabelledEnum


class ExerciseKind(LabelledEnum):
    TABLE_TOP = "table-top", "Table-top"
    # control rooms and commanders playing from their own posts
    COMMAND_POST = "command-post", "Command post"
    LIVE = "live", "Live"


EXERCISE_KIND_LABELS = ExerciseKind.labels()



class Exercise(Base):
    """A multi-agency exercise: what was tested, by whom, and what it taught. The lists of
    command roles, JESIP principles and JDM stages hold the codes of CommandRole and of the
    content format's PRINCIPLES and JDM_STAGES."""

    __tablename__ = "exercises"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(20))  # table-top, command-post, live
    location: Mapped[str] = mapped_column(String(200), default="")
    command_roles: Mapped[list] = mapped_column(JSON, default=list)
    principles: Mapped[list] = mapped_column(JSON, default=list)
    jdm_stages: Mapped[list] = mapped_column(JSON, default=list)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    recorded_by: Mapped[User | None] = relationship()
    organisations: Mapped[list[Organisation]] = relationship(
        secondary="exercise_organisations", order_by="Organisation.name")
    participants: Mapped[list[ExerciseParticipant]] = relationship(
        back_populates="exercise", cascade="all, delete-orphan")
    learning_points: Mapped[list[LearningPoint]] = relationship(
        back_populates="exercise", cascade="all, delete-orphan", order_by="LearningPoint.id")

    @property
    def kind_label(self) -> str:
        return EXERCISE_KIND_LABELS[self.kind]



class ExerciseOrganisation(Base):
    """An organisation that took part in an exercise."""

    __tablename__ = "exercise_organisations"

    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"),
                                             primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"),
                                                 primary_key=True, index=True)



class ExerciseParticipant(Base):
    """A person who took part, in a role of the exercise. Attendance counts once a manager
    of the person's organisation (or an administrator) has confirmed it."""

    __tablename__ = "exercise_participants"
    __table_args__ = (UniqueConstraint("exercise_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # a CommandRole code: the role they played
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                   ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    exercise: Mapped[Exercise] = relationship(back_populates="participants")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])

    @property
    def role_label(self) -> str:
        return CommandRole(self.role).label



class LearningPoint(Base):
    """A lesson from an exercise's debrief, tagged with the principle and JDM stage it is
    about; those marked `for_jol` go to national Joint Organisational Learning."""

    __tablename__ = "learning_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"),
                                             index=True)
    text: Mapped[str] = mapped_column(Text)
    principle: Mapped[str | None] = mapped_column(String(20))
    jdm_stage: Mapped[str | None] = mapped_column(String(20))
    for_jol: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    exercise: Mapped[Exercise] = relationship(back_populates="learning_points")



class ExerciseRequirement(Base):
    """A rule that a person must have taken part in a multi-agency exercise (attendance
    confirmed) within `months`. Each of service, organisation and command role narrows it
    when set, as for a course's `Requirement`."""

    __tablename__ = "exercise_requirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    months: Mapped[int] = mapped_column(Integer)
    service: Mapped[str | None] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    command_role: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    organisation: Mapped[Organisation | None] = relationship()
