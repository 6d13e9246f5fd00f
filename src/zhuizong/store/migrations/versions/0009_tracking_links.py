"""tracking links: staff assignments, routes, agent goals, daily plans, report-up (issue 15)

Revision ID: 0009
Revises: 0008

Staff assignments to units per tracking role (track_assignments), the routing of each reason to
its owner and copies (track_routes), agents' own monthly goals (agent_goals), findings reported up
(track_raises), and the next day's plan columns of work_logs.
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('track_raises',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('raised_by', sa.String(length=64), nullable=False),
    sa.Column('raised_to', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.String(length=64), nullable=True),
    sa.Column('answered_on', sa.Date(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("category IN ('attitude', 'family', 'complaint', 'health', 'resource', 'other')", name=op.f('ck_track_raises_category')),
    sa.ForeignKeyConstraint(['item_id'], ['track_items.id'], name=op.f('fk_track_raises_item_id_track_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_track_raises'))
    )
    with op.batch_alter_table('track_raises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_track_raises_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_track_raises_raised_to'), ['raised_to'], unique=False)

    op.create_table('track_routes',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('person', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.CheckConstraint("kind IN ('owner', 'copy')", name=op.f('ck_track_routes_kind')),
    sa.ForeignKeyConstraint(['item_id'], ['track_items.id'], name=op.f('fk_track_routes_item_id_track_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'rule', 'kind', 'person', name=op.f('pk_track_routes'))
    )
    with op.batch_alter_table('track_routes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_track_routes_person'), ['person'], unique=False)

    op.create_table('agent_goals',
    sa.Column('agent_code', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('metric', sa.String(length=16), nullable=False),
    sa.Column('target', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("metric IN ('fyp', 'cases', 'visits', 'interviews', 'calls', 'recruits')", name=op.f('ck_agent_goals_metric')),
    sa.ForeignKeyConstraint(['agent_code'], ['agents.agent_code'], name=op.f('fk_agent_goals_agent_code_agents')),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_agent_goals_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('agent_code', 'period', 'metric', name=op.f('pk_agent_goals'))
    )
    op.create_table('track_assignments',
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('org_code', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_track_assignments_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['org_code'], ['org_units.org_code'], name=op.f('fk_track_assignments_org_code_org_units')),
    sa.ForeignKeyConstraint(['username'], ['users.username'], name=op.f('fk_track_assignments_username_users')),
    sa.PrimaryKeyConstraint('role', 'org_code', name=op.f('pk_track_assignments'))
    )
    with op.batch_alter_table('track_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_track_assignments_username'), ['username'], unique=False)

    with op.batch_alter_table('work_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_calls', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('plan_visits', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('plan_interviews', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('work_logs', schema=None) as batch_op:
        batch_op.drop_column('plan_interviews')
        batch_op.drop_column('plan_visits')
        batch_op.drop_column('plan_calls')

    with op.batch_alter_table('track_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_track_assignments_username'))

    op.drop_table('track_assignments')
    op.drop_table('agent_goals')
    with op.batch_alter_table('track_routes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_track_routes_person'))

    op.drop_table('track_routes')
    with op.batch_alter_table('track_raises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_track_raises_raised_to'))
        batch_op.drop_index(batch_op.f('ix_track_raises_item_id'))

    op.drop_table('track_raises')
