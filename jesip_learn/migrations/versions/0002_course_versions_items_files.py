"""course versions, items and files

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 21:30:23.868988
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('slug', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_version_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses')),
    sa.UniqueConstraint('code', name=op.f('uq_courses_code'))
    )
    op.create_table('file_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_file_blobs'))
    )
    op.create_table('course_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('validity_months', sa.Integer(), nullable=True),
    sa.Column('required_services', sa.JSON(), nullable=False),
    sa.Column('required_roles', sa.JSON(), nullable=False),
    sa.Column('overview_html', sa.Text(), nullable=False),
    sa.Column('needs_renewal', sa.Boolean(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_versions_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_course_versions_published_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_versions')),
    sa.UniqueConstraint('course_id', 'number', name=op.f('uq_course_versions_course_id_number'))
    )
    # courses and course_versions refer to each other: the second reference comes last.
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.create_foreign_key(op.f('fk_courses_published_version_id_course_versions'),
                                    'course_versions', ['published_version_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('course_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_versions_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_versions_course_id'), ['course_id'], unique=False)

    op.create_table('course_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('blob_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['blob_sha256'], ['file_blobs.sha256'], name=op.f('fk_course_files_blob_sha256_file_blobs')),
    sa.ForeignKeyConstraint(['version_id'], ['course_versions.id'], name=op.f('fk_course_files_version_id_course_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_files')),
    sa.UniqueConstraint('version_id', 'path', name=op.f('uq_course_files_version_id_path'))
    )
    with op.batch_alter_table('course_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_files_version_id'), ['version_id'], unique=False)

    op.create_table('course_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['course_versions.id'], name=op.f('fk_course_items_version_id_course_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_items')),
    sa.UniqueConstraint('version_id', 'slug', name=op.f('uq_course_items_version_id_slug'))
    )
    with op.batch_alter_table('course_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_items_version_id'), ['version_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_courses_published_version_id_course_versions'),
                                 type_='foreignkey')
    with op.batch_alter_table('course_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_items_version_id'))

    op.drop_table('course_items')
    with op.batch_alter_table('course_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_files_version_id'))

    op.drop_table('course_files')
    with op.batch_alter_table('course_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_versions_course_id'))
        batch_op.drop_index(batch_op.f('ix_course_versions_content_hash'))

    op.drop_table('course_versions')
    op.drop_table('file_blobs')
    op.drop_table('courses')
