"""Live exercises: sessions run from a published script, their participants, join codes
and append-only event log

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('live_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('item_slug', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('facilitator_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('clock_seconds', sa.Integer(), nullable=False),
    sa.Column('running_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('exercise_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'],
                            name=op.f('fk_live_sessions_exercise_id_exercises'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['facilitator_id'], ['users.id'],
                            name=op.f('fk_live_sessions_facilitator_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                            name=op.f('fk_live_sessions_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['version_id'], ['course_versions.id'],
                            name=op.f('fk_live_sessions_version_id_course_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_sessions'))
    )
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_sessions_facilitator_id'), ['facilitator_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_live_sessions_organisation_id'),
                              ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_sessions_version_id'), ['version_id'],
                              unique=False)

    op.create_table('live_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role_id', sa.String(length=100), nullable=True),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'],
                            name=op.f('fk_live_participants_invited_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'],
                            name=op.f('fk_live_participants_session_id_live_sessions'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_live_participants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_participants')),
    sa.UniqueConstraint('session_id', 'user_id',
                        name=op.f('uq_live_participants_session_id_user_id'))
    )
    with op.batch_alter_table('live_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_participants_user_id'), ['user_id'],
                              unique=False)

    op.create_table('live_join_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                            name=op.f('fk_live_join_codes_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'],
                            name=op.f('fk_live_join_codes_session_id_live_sessions'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_join_codes')),
    sa.UniqueConstraint('code_sha256', name=op.f('uq_live_join_codes_code_sha256'))
    )
    with op.batch_alter_table('live_join_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_join_codes_session_id'), ['session_id'],
                              unique=False)

    op.create_table('live_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('clock', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.String(length=100), nullable=False),
    sa.Column('target', sa.String(length=100), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('event_ref', sa.String(length=200), nullable=False),
    sa.Column('fact_ref', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                            name=op.f('fk_live_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'],
                            name=op.f('fk_live_events_session_id_live_sessions'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_events')),
    sa.UniqueConstraint('session_id', 'seq', name=op.f('uq_live_events_session_id_seq'))
    )
    with op.batch_alter_table('live_events', schema=None) as batch_op:
        batch_op.create_index('ix_live_events_session_kind', ['session_id', 'kind'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('live_events')
    op.drop_table('live_join_codes')
    op.drop_table('live_participants')
    op.drop_table('live_sessions')
