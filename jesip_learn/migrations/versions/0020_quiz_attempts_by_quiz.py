"""Quiz attempts read by learner and quiz from one index, without their answers

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Its first column serves the lookups by learner that the old index served.
    op.create_index('ix_quiz_attempts_by_quiz', 'quiz_attempts',
                    ['user_id', 'course_id', 'item_slug', 'submitted_at', 'started_at',
                     'percent', 'passed'], unique=False)
    op.drop_index('ix_quiz_attempts_user_id', table_name='quiz_attempts')


def downgrade() -> None:
    op.create_index('ix_quiz_attempts_user_id', 'quiz_attempts', ['user_id'], unique=False)
    op.drop_index('ix_quiz_attempts_by_quiz', table_name='quiz_attempts')
