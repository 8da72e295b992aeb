"""Tables of live exercises, on the same `Base` as the rest (Alembic's env.py imports this
module too, so that migrations are compared against them).

A session is one run of a published `.exercise.md` script. Its event log is append-only:
each entry has a number (`seq`) that goes up by one per session, given while the session's
row is locked, so entries are committed in the order of their numbers and a reader that
has seen number N has seen every entry before it. The one change made to an entry is
erasure's (`erasure.py`): the words of a person being anonymised are replaced, in place.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jesip_learn.accounts.models import User
from jesip_learn.core.columns import UTCDateTime, utcnow
from jesip_learn.core.db import Base
from jesip_learn.core.labelled import LabelledEnum
from jesip_learn.courses.models import CourseVersion
from jesip_learn.exercises.models import Exercise


class LiveState(LabelledEnum):
    """Where a session is; the label completes "The exercise is …"."""

    LOBBY = "lobby", "in the lobby"
    RUNNING = "running", "running"
    PAUSED = "paused", "paused"
    ENDED = "ended", "ended"


LOBBY, RUNNING, PAUSED, ENDED = LiveState
STATES = tuple(LiveState)


class LiveSession(Base):
    __tablename__ = "live_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id"), index=True)
    item_slug: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    facilitator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=LOBBY)
    # The exercise clock: seconds run before `running_since`, plus the time since then
    # while it runs. Pausing adds the running time to `clock_seconds`.
    clock_seconds: Mapped[int] = mapped_column(Integer, default=0)
    running_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exercise_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercises.id", ondelete="SET NULL"))

    version: Mapped[CourseVersion] = relationship()
    facilitator: Mapped[User] = relationship()
    exercise: Mapped[Exercise | None] = relationship()
    participants: Mapped[list[LiveParticipant]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="LiveParticipant.id")

    @property
    def state_label(self) -> str:
        return LiveState(self.state).label


class LiveParticipant(Base):
    """A person in a session; `role_id` is the script role they play, once assigned."""

    __tablename__ = "live_participants"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[str | None] = mapped_column(String(100))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[LiveSession] = relationship(back_populates="participants")
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class LiveJoinCode(Base):
    """A code that lets whoever holds it join one session until it expires. Only its
    SHA-256 is kept: the code itself is shown once, to the facilitator who made it."""

    __tablename__ = "live_join_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"),
                                            index=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LiveEvent(Base):
    """One entry of a session's log: a release, share, message, M/ETHANE message, decision
    answer or change of state. `audience` lists the role ids that see it (the facilitator
    sees every entry); `actor_role` is the role that acted, "" for the facilitator."""

    __tablename__ = "live_events"
    __table_args__ = (UniqueConstraint("session_id", "seq"),
                      Index("ix_live_events_session_kind", "session_id", "kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    clock: Mapped[int] = mapped_column(Integer)  # exercise seconds when it happened
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(String(100), default="")
    target: Mapped[str] = mapped_column(String(100), default="")  # role or talk group id
    audience: Mapped[list] = mapped_column(JSON, default=list)
    event_ref: Mapped[str] = mapped_column(String(200), default="")  # a script event's id
    fact_ref: Mapped[str] = mapped_column(String(200), default="")  # a key fact's id
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()
