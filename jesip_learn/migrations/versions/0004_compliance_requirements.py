"""compliance requirements, imported completions, deactivation dates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 23:58:22.935177
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('requirements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('command_role', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_requirements_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_requirements_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_requirements_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requirements'))
    )
    with op.batch_alter_table('requirements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_requirements_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_requirements_organisation_id'), ['organisation_id'], unique=False)

    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('recorded_by_id', sa.Integer(), nullable=True))
        batch_op.alter_column('version_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.alter_column('certificate_code',
               existing_type=sa.VARCHAR(length=20),
               nullable=True)
        batch_op.create_index('ix_completions_user_course_completed', ['user_id', 'course_id', 'completed_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_completions_recorded_by_id_users'), 'users', ['recorded_by_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    # Completions brought from other systems have no version here: the old schema cannot
    # hold them.
    op.execute("DELETE FROM completions WHERE version_id IS NULL OR certificate_code IS NULL")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deactivated_at')

    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_completions_recorded_by_id_users'), type_='foreignkey')
        batch_op.drop_index('ix_completions_user_course_completed')
        batch_op.alter_column('certificate_code',
               existing_type=sa.VARCHAR(length=20),
               nullable=False)
        batch_op.alter_column('version_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('recorded_by_id')
        batch_op.drop_column('source')

    with op.batch_alter_table('requirements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_requirements_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_requirements_course_id'))

    op.drop_table('requirements')
