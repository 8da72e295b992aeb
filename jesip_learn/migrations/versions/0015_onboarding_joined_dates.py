"""when each person joined their current organisation, so that imported history counts

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('joined_stated', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # Nothing changes for anyone: a person joined their current organisation when they moved
    # to it (the end of their latest previous membership), else when their account was made.
    op.execute("""
        UPDATE users SET joined_at = COALESCE(
            (SELECT MAX(m.ended_at) FROM previous_memberships m WHERE m.user_id = users.id),
            created_at)
    """)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('joined_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('joined_stated')
        batch_op.drop_column('joined_at')
