"""Compliance reports read completions and item progress from indexes alone

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Each learner's completions of each course in order, with their expiry.
    op.create_index(
        "ix_completions_user_course_order",
        "completions",
        ["user_id", "course_id", "completed_at", "id", "expires_at"],
        unique=False,
    )
    op.drop_index("ix_completions_user_course_completed", table_name="completions")
    # Whether someone had started a course by a moment; its first column serves the lookups
    # by learner that the old index served.
    op.create_index(
        "ix_item_progress_user_course_started",
        "item_progress",
        ["user_id", "course_id", "started_at"],
        unique=False,
    )
    op.drop_index("ix_item_progress_user_id", table_name="item_progress")


def downgrade() -> None:
    op.create_index("ix_item_progress_user_id", "item_progress", ["user_id"], unique=False)
    op.drop_index("ix_item_progress_user_course_started", table_name="item_progress")
    op.create_index(
        "ix_completions_user_course_completed",
        "completions",
        ["user_id", "course_id", "completed_at"],
        unique=False,
    )
    op.drop_index("ix_completions_user_course_order", table_name="completions")
