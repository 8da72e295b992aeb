"""Tables of single sign-on, on the same `Base` as the rest (Alembic's env.py imports
this module too, so that migrations are compared against them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jesip_learn.accounts.models import Organisation, User
from jesip_learn.core.columns import UTCDateTime, utcnow
from jesip_learn.core.db import Base
from jesip_learn.core.labelled import LabelledEnum


class ProviderKind(LabelledEnum):
    # Microsoft Entra ID: one multi-tenant app registration, many tenants
    ENTRA = "entra", "Microsoft Entra ID (Microsoft 365), many organisations"
    # any other OpenID provider, found by its issuer URL
    OIDC = "oidc", "Another OpenID Connect provider"


PROVIDER_KIND_LABELS = ProviderKind.labels()


class SsoProvider(Base):
    """An OpenID provider the site signs people in with: for Entra ID, the one multi-tenant
    app registration that every linked tenant uses; otherwise one organisation's provider."""

    __tablename__ = "sso_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    # Another provider's issuer, exactly as its tokens carry it (https://idp.example.org).
    issuer_url: Mapped[str] = mapped_column(String(500), default="")
    # Entra ID: which accounts the sign-in page takes, "organizations" (work accounts of any
    # tenant) or "common" (work and personal accounts); tenants are checked here either way.
    entra_directory: Mapped[str] = mapped_column(String(20), default="organizations")
    client_id: Mapped[str] = mapped_column(String(255))
    # Fernet token of the client secret (client_secrets.py), never shown again; or the name
    # of an environment variable that holds it.
    client_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    client_secret_env: Mapped[str] = mapped_column(String(100), default="")
    client_secret_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The provider asks everyone for a second factor (Conditional Access, say), whether or
    # not its tokens say so in `amr`.
    enforces_mfa: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    links: Mapped[list[SsoOrganisationLink]] = relationship(
        back_populates="provider", cascade="all, delete-orphan",
        order_by="SsoOrganisationLink.id")

    @property
    def kind_label(self) -> str:
        return ProviderKind(self.kind).label

    @property
    def is_entra(self) -> bool:
        return self.kind == ProviderKind.ENTRA


class SsoOrganisationLink(Base):
    """An organisation that signs in through a provider: for Entra ID, with one of its
    tenants (directory ids); for another provider, the provider's only organisation."""

    __tablename__ = "sso_organisation_links"
    __table_args__ = (UniqueConstraint("provider_id", "tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("sso_providers.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[str] = mapped_column(String(64), default="")  # "" for other providers
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    provider: Mapped[SsoProvider] = relationship(back_populates="links")
    organisation: Mapped[Organisation] = relationship()


class SsoIdentity(Base):
    """A person's account at a provider, linked to their account here. The key is the
    issuer and subject (for Entra ID the tenant's issuer and the object id `oid`), never
    the email address."""

    __tablename__ = "sso_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("sso_providers.id", ondelete="CASCADE"))
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    provider: Mapped[SsoProvider] = relationship()


class SsoRequirement(Base):
    """An organisation whose staff must sign in with its own account: passwords are refused
    for them (administrators excepted, so that a broken connection locks no one out)."""

    __tablename__ = "sso_required_organisations"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SsoFlow(Base):
    """A sign-in under way, kept on the server: the state (only its hash), nonce and PKCE
    verifier sent with the authorisation request, for ten minutes; once the provider's
    answer has been checked, the identity waiting for the person to create or link their
    account. Each is used once: a conditional update claims it."""

    __tablename__ = "sso_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("sso_providers.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(128))
    login_hint: Mapped[str] = mapped_column(String(254), default="")
    next_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The checked identity waiting for the person's choice, and the account to link.
    identity: Mapped[dict | None] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    provider: Mapped[SsoProvider] = relationship()
