"""Tables of requirements: who must complete a course, and who accepted a course's own
requirement."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jesip_learn.accounts.models import Organisation, User
from jesip_learn.core.columns import UTCDateTime, utcnow
from jesip_learn.core.db import Base
from jesip_learn.courses.models import Course


class RequirementAcceptance(Base):
    """Whether a course's `required_for` takes effect: accepted or declined site-wide by an
    administrator (`organisation_id` None, `scope_key` "site") or for one organisation by
    its manager (`scope_key` "org:ID"). The decision holds for the `required_for` it was
    made on (`rule`): a version that changes whom the course is required for asks again."""

    __tablename__ = "requirement_acceptances"
    __table_args__ = (UniqueConstraint("course_id", "scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    scope_key: Mapped[str] = mapped_column(String(30))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(500))
    accepted: Mapped[bool] = mapped_column(Boolean)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    course: Mapped[Course] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    decided_by: Mapped[User | None] = relationship()



class Requirement(Base):
    """A rule that makes a course required, added by a manager or an administrator on top
    of the course's own `required_for`. Each of service, organisation and command role
    narrows the rule when set; a rule with none set requires the course of everyone."""

    __tablename__ = "requirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    service: Mapped[str | None] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    command_role: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    course: Mapped[Course] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    created_by: Mapped[User | None] = relationship()
