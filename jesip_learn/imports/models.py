"""Table of bulk import batches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from jesip_learn.core.columns import UTCDateTime, utcnow
from jesip_learn.core.db import Base


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
