"""Manager grants always name the organisation or area they manage

A manager grant that named nothing used to be read as "the person's own organisation",
which changed when they moved. Each such grant now names the organisation its holder
belongs to today (what it meant until now), and the database refuses a manager grant that
names neither an organisation nor an area.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MANAGER_SCOPE = ("permission <> 'manager' OR organisation_id IS NOT NULL "
                 "OR area_id IS NOT NULL")


def upgrade() -> None:
    grants = sa.table('permission_grants', sa.column('user_id', sa.Integer),
                      sa.column('permission', sa.String),
                      sa.column('organisation_id', sa.Integer),
                      sa.column('area_id', sa.Integer))
    users = sa.table('users', sa.column('id', sa.Integer),
                     sa.column('organisation_id', sa.Integer))
    op.execute(grants.update()
               .where(grants.c.permission == 'manager', grants.c.organisation_id.is_(None),
                      grants.c.area_id.is_(None))
               .values(organisation_id=sa.select(users.c.organisation_id)
                       .where(users.c.id == grants.c.user_id).scalar_subquery()))
    with op.batch_alter_table('permission_grants', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_permission_grants_manager_scope'),
                                         MANAGER_SCOPE)


def downgrade() -> None:
    # The organisations filled in stay: they are what those grants meant all along.
    with op.batch_alter_table('permission_grants', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_permission_grants_manager_scope'), type_='check')
