"""More quiz attempts granted to a learner; acceptance of a course's required_for;
invited accounts

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 09:00:00
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rule(services, roles) -> str:
    """As jesip_learn.requirement_acceptance.rule_key words it; kept here so that the migration
    does not change when that module does."""
    return f"services={','.join(sorted(services or []))};roles={','.join(sorted(roles or []))}"


def upgrade() -> None:
    op.create_table('quiz_allowances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('item_slug', sa.String(length=200), nullable=False),
    sa.Column('extra_attempts', sa.Integer(), nullable=False),
    sa.Column('grants', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'],
                            name=op.f('fk_quiz_allowances_course_id_courses'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'],
                            name=op.f('fk_quiz_allowances_granted_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_quiz_allowances_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_allowances')),
    sa.UniqueConstraint('user_id', 'course_id', 'item_slug',
                        name=op.f('uq_quiz_allowances_user_id_course_id_item_slug'))
    )
    op.create_index(op.f('ix_quiz_allowances_user_id'), 'quiz_allowances', ['user_id'],
                    unique=False)
    acceptances = op.create_table('requirement_acceptances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('scope_key', sa.String(length=30), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('rule', sa.String(length=500), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'],
                            name=op.f('fk_requirement_acceptances_course_id_courses'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'],
                            name=op.f('fk_requirement_acceptances_decided_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                            name=op.f('fk_requirement_acceptances_organisation_id_organisations'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requirement_acceptances')),
    sa.UniqueConstraint('course_id', 'scope_key',
                        name=op.f('uq_requirement_acceptances_course_id_scope_key'))
    )
    op.create_index(op.f('ix_requirement_acceptances_course_id'), 'requirement_acceptances',
                    ['course_id'], unique=False)
    op.create_index(op.f('ix_requirement_acceptances_organisation_id'),
                    'requirement_acceptances', ['organisation_id'], unique=False)
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('invited_at', sa.DateTime(timezone=True), nullable=True))

    # Courses published from the course folder by the command line were put there by whoever
    # runs the site (the shipped JESIP courses among them): their requirements stay in
    # effect, accepted site-wide. Courses uploaded or edited by trainers wait for acceptance.
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT c.id, v.required_services, v.required_roles FROM courses c "
        "JOIN course_versions v ON v.id = c.published_version_id WHERE v.source = 'folder'"
    )).all()
    now = datetime.now(UTC)
    if bind.dialect.name == 'sqlite':
        now = now.replace(tzinfo=None)
    decided = []
    for course_id, services, roles in rows:
        services = json.loads(services) if isinstance(services, str) else services
        roles = json.loads(roles) if isinstance(roles, str) else roles
        if services and roles:
            decided.append({'course_id': course_id, 'scope_key': 'site',
                            'organisation_id': None, 'rule': _rule(services, roles),
                            'accepted': True, 'decided_at': now, 'decided_by_id': None})
    if decided:
        op.bulk_insert(acceptances, decided)
    # People imported before now who never set a password (and never signed in through their
    # organisation's account) were invited in all but name.
    bind.execute(sa.text(
        "UPDATE users SET invited_at = created_at WHERE password_hash = '' "
        "AND last_sign_in_at IS NULL "
        "AND id NOT IN (SELECT user_id FROM sso_identities)"))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('invited_at')
    op.drop_index(op.f('ix_requirement_acceptances_organisation_id'),
                  table_name='requirement_acceptances')
    op.drop_index(op.f('ix_requirement_acceptances_course_id'),
                  table_name='requirement_acceptances')
    op.drop_table('requirement_acceptances')
    op.drop_index(op.f('ix_quiz_allowances_user_id'), table_name='quiz_allowances')
    op.drop_table('quiz_allowances')
