"""Records that travel: previous memberships, transfer requests, anonymisations

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nothing to fill in for existing accounts: a person who has never moved has no
    # previous membership, and belongs to their organisation since their account began.
    op.create_table('previous_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('command_role', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                            name=op.f('fk_previous_memberships_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_previous_memberships_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_previous_memberships'))
    )
    with op.batch_alter_table('previous_memberships', schema=None) as batch_op:
        batch_op.create_index('ix_previous_memberships_user_id_ended_at',
                              ['user_id', 'ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_previous_memberships_organisation_id'),
                              ['organisation_id'], unique=False)

    op.create_table('transfer_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('from_organisation_id', sa.Integer(), nullable=False),
    sa.Column('to_organisation_id', sa.Integer(), nullable=False),
    sa.Column('command_role', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'],
                            name=op.f('fk_transfer_requests_decided_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['from_organisation_id'], ['organisations.id'],
                            name=op.f('fk_transfer_requests_from_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['to_organisation_id'], ['organisations.id'],
                            name=op.f('fk_transfer_requests_to_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_transfer_requests_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_requests'))
    )
    with op.batch_alter_table('transfer_requests', schema=None) as batch_op:
        batch_op.create_index('ix_transfer_requests_to_organisation_id_status',
                              ['to_organisation_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_requests_user_id'), ['user_id'],
                              unique=False)

    op.create_table('anonymisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('grounds', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                            name=op.f('fk_anonymisations_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_anonymisations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anonymisations')),
    sa.UniqueConstraint('user_id', name=op.f('uq_anonymisations_user_id'))
    )


def downgrade() -> None:
    op.drop_table('anonymisations')
    with op.batch_alter_table('transfer_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_requests_user_id'))
        batch_op.drop_index('ix_transfer_requests_to_organisation_id_status')
    op.drop_table('transfer_requests')
    with op.batch_alter_table('previous_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_previous_memberships_organisation_id'))
        batch_op.drop_index('ix_previous_memberships_user_id_ended_at')
    op.drop_table('previous_memberships')
