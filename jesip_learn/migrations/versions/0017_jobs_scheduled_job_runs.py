"""Scheduled jobs that run on one host at a time: their leases and last runs

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('scheduled_job_runs',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('held_by', sa.String(length=64), nullable=True),
    sa.Column('held_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failed', sa.Boolean(), nullable=False),
    sa.Column('last_outcome', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduled_job_runs'))
    )


def downgrade() -> None:
    op.drop_table('scheduled_job_runs')
