"""Multi-agency exercises: organisations, participants, learning points and the rules
that require an exercise within some months

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('exercises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('command_roles', sa.JSON(), nullable=False),
    sa.Column('principles', sa.JSON(), nullable=False),
    sa.Column('jdm_stages', sa.JSON(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_exercises_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercises'))
    )
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exercises_held_on'), ['held_on'], unique=False)

    op.create_table('exercise_requirements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('command_role', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                            name=op.f('fk_exercise_requirements_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                            name=op.f('fk_exercise_requirements_organisation_id_organisations'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercise_requirements'))
    )
    with op.batch_alter_table('exercise_requirements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exercise_requirements_organisation_id'),
                              ['organisation_id'], unique=False)

    op.create_table('exercise_organisations',
    sa.Column('exercise_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_exercise_organisations_exercise_id_exercises'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_exercise_organisations_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('exercise_id', 'organisation_id', name=op.f('pk_exercise_organisations'))
    )
    with op.batch_alter_table('exercise_organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exercise_organisations_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('exercise_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exercise_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_exercise_participants_added_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_exercise_participants_confirmed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_exercise_participants_exercise_id_exercises'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_exercise_participants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exercise_participants')),
    sa.UniqueConstraint('exercise_id', 'user_id', name=op.f('uq_exercise_participants_exercise_id_user_id'))
    )
    with op.batch_alter_table('exercise_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exercise_participants_user_id'), ['user_id'], unique=False)

    op.create_table('learning_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exercise_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('principle', sa.String(length=20), nullable=True),
    sa.Column('jdm_stage', sa.String(length=20), nullable=True),
    sa.Column('for_jol', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_learning_points_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_learning_points_exercise_id_exercises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_learning_points'))
    )
    with op.batch_alter_table('learning_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_learning_points_exercise_id'), ['exercise_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('learning_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_learning_points_exercise_id'))

    op.drop_table('learning_points')
    with op.batch_alter_table('exercise_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exercise_participants_user_id'))

    op.drop_table('exercise_participants')
    with op.batch_alter_table('exercise_organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exercise_organisations_organisation_id'))

    op.drop_table('exercise_organisations')
    with op.batch_alter_table('exercise_requirements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exercise_requirements_organisation_id'))

    op.drop_table('exercise_requirements')
    with op.batch_alter_table('exercises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exercises_held_on'))

    op.drop_table('exercises')
