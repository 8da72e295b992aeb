"""two-step secrets waiting on the server (a key being set up, recovery codes to show)
instead of in the session cookie

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('mfa_pending',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mfa_pending_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mfa_pending')),
    sa.UniqueConstraint('user_id', 'purpose', name=op.f('uq_mfa_pending_user_id_purpose'))
    )
    with op.batch_alter_table('mfa_pending', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mfa_pending_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mfa_pending', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mfa_pending_expires_at'))
    op.drop_table('mfa_pending')
