"""Tables of accounts: organisations, areas, users, permissions, tokens, throttles, moves."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from jesip_learn.core.aggregates import space_separated
from jesip_learn.core.columns import UTCDateTime, utcnow
from jesip_learn.core.db import Base
from jesip_learn.core.labelled import LabelledEnum


def _joined_when_created(context) -> datetime:
    """A new account's membership of its organisation starts when the account is made,
    unless a joined date is given."""
    return context.get_current_parameters().get("created_at") or utcnow()


class Service(LabelledEnum):
    POLICE = "police", "Police"
    FIRE = "fire", "Fire and rescue"
    AMBULANCE = "ambulance", "Ambulance"
    OTHER = "other", "Other responder"


SERVICE_LABELS = Service.labels()


class CommandRole(LabelledEnum):
    OPERATIONAL = "operational", "Operational commander"
    TACTICAL = "tactical", "Tactical commander"
    STRATEGIC = "strategic", "Strategic commander"
    CONTROL_ROOM = "control-room", "Control room"
    STAFF = "staff", "Staff (no command role)"


COMMAND_ROLE_LABELS = CommandRole.labels()


class Permission(LabelledEnum):
    LEARNER = "learner", "Learner"
    TRAINER = "trainer", "Trainer"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Administrator"


PERMISSION_LABELS = Permission.labels()


class AccountStatus(LabelledEnum):
    """Where an account stands. No column stores it: `User.status` works it out from the
    account's columns, and `User.shown_status`, what lists show, also tells an invited
    person who has not set a password yet from one who has. Each status has the colour of
    its tag in those lists (a GOV.UK tag colour), so that the list and its filter agree."""

    tag_colour: str

    def __init__(self, value: str, label: str, tag_colour: str):
        self.tag_colour = tag_colour

    # In the order the users list's filter offers them.
    ACTIVE = "active", "Active", "green"
    PENDING = "pending", "Waiting for approval", "yellow"
    UNCONFIRMED = "unconfirmed", "Email not confirmed", "grey"
    DEACTIVATED = "deactivated", "Deactivated", "red"
    INVITED = "invited", "Invited", "blue"


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
        # Signing in reads the names with the person (`permission_names`, see below); once
        # the grants themselves are loaded, to be listed or changed, they are what counts.
        # So a grant is changed through `user.grants` (as administration, transfers and
        # erasure do), which loads them: one added or deleted on its own, while only the
        # names are loaded, would not show here until the next request.
        if "grants" not in self.__dict__ and "permission_names" in self.__dict__:
            return set((self.permission_names or "").split())
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
    def status(self) -> AccountStatus:
        """What the account allows. Never `INVITED`: an invited person's account is `ACTIVE`
        for everything but lists."""
        if not self.is_active:
            return AccountStatus.DEACTIVATED
        if self.email_confirmed_at is None:
            return AccountStatus.UNCONFIRMED
        if self.approved_at is None:
            return AccountStatus.PENDING
        return AccountStatus.ACTIVE

    @property
    def shown_status(self) -> AccountStatus:
        """The status as lists show it: `INVITED` for an active account whose person has
        not yet set a password (they can sign in once they have)."""
        if self.status == AccountStatus.ACTIVE and self.invited_at is not None:
            return AccountStatus.INVITED
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
        return self.status == AccountStatus.ACTIVE


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


# The names of the permissions a person holds, space-separated, read in the person's own row
# when asked for (`undefer`): what every signed-in request loads
# (`accounts.sign_in.user_for_session`), instead of joining the grants, which costs the ORM
# a collection to build on every request. Deferred, so other loads of people leave it out.
User.permission_names = column_property(
    select(space_separated(PermissionGrant.permission))
    .where(PermissionGrant.user_id == User.id)
    .correlate_except(PermissionGrant)
    .scalar_subquery(),
    deferred=True,
)


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
