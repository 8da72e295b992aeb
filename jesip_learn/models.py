"""SQLAlchemy 2 typed models: organisations, areas, users, permissions, tokens, audit."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


def _joined_when_created(context) -> datetime:
    """A new account's membership of its organisation starts when the account is made,
    unless a joined date is given."""
    return context.get_current_parameters().get("created_at") or utcnow()


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in Python on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Service(enum.StrEnum):
    POLICE = "police"
    FIRE = "fire"
    AMBULANCE = "ambulance"
    OTHER = "other"

    @property
    def label(self) -> str:
        return SERVICE_LABELS[self]


SERVICE_LABELS = {
    Service.POLICE: "Police",
    Service.FIRE: "Fire and rescue",
    Service.AMBULANCE: "Ambulance",
    Service.OTHER: "Other responder",
}


class CommandRole(enum.StrEnum):
    OPERATIONAL = "operational"
    TACTICAL = "tactical"
    STRATEGIC = "strategic"
    CONTROL_ROOM = "control-room"
    STAFF = "staff"

    @property
    def label(self) -> str:
        return COMMAND_ROLE_LABELS[self]


COMMAND_ROLE_LABELS = {
    CommandRole.OPERATIONAL: "Operational commander",
    CommandRole.TACTICAL: "Tactical commander",
    CommandRole.STRATEGIC: "Strategic commander",
    CommandRole.CONTROL_ROOM: "Control room",
    CommandRole.STAFF: "Staff (no command role)",
}


class Permission(enum.StrEnum):
    LEARNER = "learner"
    TRAINER = "trainer"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return PERMISSION_LABELS[self]


PERMISSION_LABELS = {
    Permission.LEARNER: "Learner",
    Permission.TRAINER: "Trainer",
    Permission.MANAGER: "Manager",
    Permission.ADMIN: "Administrator",
}


organisation_areas = Table(
    "organisation_areas",
    Base.metadata,
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True),
)


class Area(Base):
    """A Local Resilience Forum, or its equivalent in Scotland and Northern Ireland."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str] = mapped_column(String(40))

    organisations: Mapped[list[Organisation]] = relationship(
        secondary=organisation_areas, back_populates="areas", order_by="Organisation.name"
    )


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    service: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(40), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    areas: Mapped[list[Area]] = relationship(
        secondary=organisation_areas, back_populates="organisations", order_by="Area.name"
    )
    domains: Mapped[list[OrganisationDomain]] = relationship(
        back_populates="organisation",
        cascade="all, delete-orphan",
        order_by="OrganisationDomain.domain",
    )

    @property
    def service_label(self) -> str:
        return Service(self.service).label

    @property
    def area_names(self) -> str:
        return ", ".join(area.name for area in self.areas) or "National"


class OrganisationDomain(Base):
    """An email domain whose owners may register into the organisation without approval."""

    __tablename__ = "organisation_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    domain: Mapped[str] = mapped_column(String(253), unique=True)

    organisation: Mapped[Organisation] = relationship(back_populates="domains")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    command_role: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Bumped on sign-out everywhere and on password change: every older session is void.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the account was last deactivated: reports "as of" an earlier date still count them.
    # A leaver recorded by an import: the start of the day after their last day.
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the person joined their current organisation: reports count them in it from then
    # (and in their previous organisations while those memberships lasted). The account's
    # creation unless an import gave a joined date or a move set it.
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_joined_when_created)
    # Whether an import stated when the person joined their first organisation here. Until
    # one does, imported completions earlier than that start move it back to their day.
    joined_stated: Mapped[bool] = mapped_column(Boolean, default=False)
    # Two-step sign-in (TOTP, RFC 6238). The secret is only set once a code has proved it;
    # the last accepted time step stops a code being used twice.
    mfa_secret: Mapped[str | None] = mapped_column(String(64))
    mfa_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mfa_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Added by a manager or an administrator (one by one or by an import), who sent a link
    # to set a password: "Invited" until the person sets one, which clears this.
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()
    grants: Mapped[list[PermissionGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", foreign_keys="PermissionGrant.user_id"
    )

    @property
    def permissions(self) -> set[str]:
        return {grant.permission for grant in self.grants}

    def has_permission(self, permission: Permission | str) -> bool:
        return str(permission) in self.permissions

    @property
    def is_admin(self) -> bool:
        return self.has_permission(Permission.ADMIN)

    @property
    def is_pending_approval(self) -> bool:
        return self.approved_at is None

    @property
    def status(self) -> str:
        if not self.is_active:
            return "deactivated"
        if self.email_confirmed_at is None:
            return "unconfirmed"
        if self.approved_at is None:
            return "pending"
        return "active"

    @property
    def shown_status(self) -> str:
        """The status as lists show it: "invited" for an active account whose person has
        not yet set a password (they can sign in once they have)."""
        if self.status == "active" and self.invited_at is not None:
            return "invited"
        return self.status

    @property
    def command_role_label(self) -> str:
        return CommandRole(self.command_role).label

    @property
    def mfa_enabled(self) -> bool:
        return self.mfa_enabled_at is not None

    @property
    def mfa_required(self) -> bool:
        """Administrators and managers see other people's records: a password is not enough."""
        return bool(self.permissions & {Permission.ADMIN, Permission.MANAGER})

    def manager_grant(self) -> PermissionGrant | None:
        return next((g for g in self.grants if g.permission == Permission.MANAGER), None)

    # Flask-Login's protocol, written out so the model needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"

    @property
    def can_sign_in(self) -> bool:
        return self.status == "active"


class PermissionGrant(Base):
    """A permission a user holds. A manager's grant always names the organisation or area
    managed: it is never read as "wherever the person belongs now"."""

    __tablename__ = "permission_grants"
    __table_args__ = (
        UniqueConstraint("user_id", "permission"),
        CheckConstraint("permission <> 'manager' OR organisation_id IS NOT NULL "
                        "OR area_id IS NOT NULL", name="manager_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    permission: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id])
    organisation: Mapped[Organisation | None] = relationship()
    area: Mapped[Area | None] = relationship()

    @property
    def scope_label(self) -> str:
        if self.area is not None:
            return f"Area: {self.area.name}"
        if self.organisation is not None:
            return self.organisation.name
        return ""


class TokenPurpose(enum.StrEnum):
    PASSWORD_RESET = "password-reset"  # noqa: S105 (a purpose, not a password)
    EMAIL_CONFIRMATION = "email-confirmation"
    FIRST_ADMINISTRATOR = "first-administrator"


class RecoveryCode(Base):
    """A single-use code that signs in without the authenticator app. Only its hash is kept."""

    __tablename__ = "mfa_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TwoStepPending(Base):
    """A two-step secret held on the server for a short while, never in the session cookie
    (which the browser can read): the key of an authenticator app being set up, until a
    code from the app proves it, or new recovery codes, until the person has saved them."""

    __tablename__ = "mfa_pending"
    __table_args__ = (UniqueConstraint("user_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))  # "authenticator-key", "recovery-codes"
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OneTimeToken(Base):
    """A single-use, expiring secret sent by email or printed. Only its hash is stored."""

    __tablename__ = "one_time_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(30))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()


class LoginFailure(Base):
    """A failed sign-in, counted per account and per address for throttling."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class RateLimitHit(Base):
    """One email asked for (a password reset, a registration, a new confirmation link),
    counted towards a limit by a key that names what is limited (an email address, an
    account or a network address) by its hash."""

    __tablename__ = "rate_limit_hits"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuditEvent(Base):
    """Who did what, when and from where. Never holds passwords or tokens."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60), index=True)
    subject_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    address: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])


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


class ImportBatch(Base):
    """A file uploaded for a bulk import, kept between its dry run and being applied, so that
    what is applied is the file that was checked, and is applied once."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "users" or "completions"
    filename: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(200), default="")  # completions: where from
    content: Mapped[str] = mapped_column(Text, default="")  # emptied once applied
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                               index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict] = mapped_column(JSON, default=dict)  # counts once applied


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


class XapiStatement(Base):
    """An xAPI statement in the outbox: written in the transaction of the learning it
    records, then sent to the learning record store. Its id is fixed when it is written,
    so sending it again after a lost answer is the same statement, never a second one."""

    __tablename__ = "xapi_outbox"
    # The sender looks for statements due by status and time.
    __table_args__ = (Index("ix_xapi_outbox_status_next_attempt_at", "status",
                            "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(36), unique=True)
    statement: Mapped[dict] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(String(300), default="")  # for administrators
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued, sent, rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A sender claims a batch until its lease runs out, so two senders never send one row.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class NotificationPreference(Base):
    """What a person has chosen to be emailed. No row means the defaults: every reminder on,
    and managers' digests at the site's frequency. Overdue training always reaches the
    manager's digest, whatever the learner chooses here."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    # Before training runs out (90, 30 and 7 days unless configured).
    expiry_reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    # On the day it runs out, then monthly while it is overdue.
    overdue_notices: Mapped[bool] = mapped_column(Boolean, default=True)
    # Managers: "weekly" or "monthly"; None means the site's default.
    digest_frequency: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportSubscription(Base):
    """A manager's saved dashboard filter, emailed to them as a CSV or XLSX attachment."""

    __tablename__ = "report_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # The dashboard's filters as its query string (service=police&course=3...).
    filters: Mapped[str] = mapped_column(String(1000), default="")
    file_format: Mapped[str] = mapped_column(String(10))  # "csv" or "xlsx"
    frequency: Mapped[str] = mapped_column(String(10))  # "weekly" or "monthly"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class Notice(Base):
    """One email the site owes someone: a reminder, an overdue notice, a digest or a
    scheduled report. It is recorded before it is sent, once: the unique key (recipient,
    kind, what it is about, which threshold or period) makes a second recording of the same
    notice a no-op, however many senders run at once. Senders then claim rows for a lease,
    as the xAPI outbox does, so no row is sent twice."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("recipient_id", "kind", "subject_key", "period"),
        Index("ix_notices_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                              index=True)
    kind: Mapped[str] = mapped_column(String(20))  # reminder, overdue, digest, report
    # What it is about: "course:12", "report:3", or "scope" for a digest.
    subject_key: Mapped[str] = mapped_column(String(40))
    # Which threshold or period: "2027-03-31/30" (due date / days before), "2027-W14"...
    period: Mapped[str] = mapped_column(String(40))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_subscriptions.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(254))
    mail_subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    # Figures the next notice compares against (a digest's compliance percentage).
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    # queued; sent; failed (given up after the last try); cancelled (the recipient left)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")

    recipient: Mapped[User] = relationship()
    course: Mapped[Course | None] = relationship()


class PreviousMembership(Base):
    """A time a person belonged to an organisation they have since moved from. Their
    current organisation is `User.organisation_id`, from `User.joined_at` (the end of their
    latest previous membership). Reports "as of" a moment place each person in the
    organisation they belonged to then."""

    __tablename__ = "previous_memberships"
    # Reports look up the membership that covered a moment for each person.
    __table_args__ = (Index("ix_previous_memberships_user_id_ended_at", "user_id",
                            "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    command_role: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()


class TransferRequest(Base):
    """A learner's request to move to another organisation, which a manager of the receiving
    organisation (or an administrator) approves or declines; or, when both organisations are
    the same, to change their command role there."""

    __tablename__ = "transfer_requests"
    __table_args__ = (Index("ix_transfer_requests_to_organisation_id_status",
                            "to_organisation_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    from_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    to_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    command_role: Mapped[str] = mapped_column(String(20))  # their role in the new one
    # pending; approved; declined; cancelled (by the learner, or by another move)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    from_organisation: Mapped[Organisation] = relationship(foreign_keys=[from_organisation_id])
    to_organisation: Mapped[Organisation] = relationship(foreign_keys=[to_organisation_id])

    @property
    def is_role_change(self) -> bool:
        """A request to change command role within the same organisation, not to move."""
        return self.from_organisation_id == self.to_organisation_id


class Anonymisation(Base):
    """The record that a person's details were anonymised: after the retention period
    ("retention") or on their request ("request"). The account row stays, under a
    "Former user" name, so that the organisation's figures stay the same."""

    __tablename__ = "anonymisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         unique=True)
    grounds: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    anonymised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


EXERCISE_KIND_LABELS = {"table-top": "Table-top", "command-post": "Command post", "live": "Live"}


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


class ScheduledJobRun(Base):
    """When a job that must run on one host at a time (the retention purge) last ran, and
    which worker holds it now: a worker takes the row's lease before running the job, so
    workers on several hosts share one schedule and never run it together."""

    __tablename__ = "scheduled_job_runs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    held_by: Mapped[str | None] = mapped_column(String(64))
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_outcome: Mapped[str] = mapped_column(Text, default="")
