"""basic law benefit side: income runs and items (issue 17)

Revision ID: 0010
Revises: 0009

Filled in by issue 17 (the revision id was reserved in the chain): ``zhuizong assess income``
stores each agent's benefit items per period and freezes them once the windows closed.
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('income_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('rules_name', sa.String(length=200), nullable=False),
    sa.Column('rules_sha256', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('recompute', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_income_runs'))
    )
    with op.batch_alter_table('income_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_income_runs_period'), ['period'], unique=False)

    op.create_table('income_items',
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('item', sa.String(length=64), nullable=False),
    sa.Column('agent_code', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('rank_code', sa.String(length=64), nullable=False),
    sa.Column('org_code', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.Date(), nullable=False),
    sa.Column('window_end', sa.Date(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('basis_to_date', sa.Text(), nullable=False),
    sa.Column('rate', sa.Text(), nullable=True),
    sa.Column('amount', sa.Text(), nullable=False),
    sa.Column('amount_to_date', sa.Text(), nullable=False),
    sa.Column('next_amount', sa.Text(), nullable=True),
    sa.Column('next_gap', sa.Text(), nullable=True),
    sa.Column('note_zh', sa.Text(), nullable=False),
    sa.Column('note_en', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('final', 'provisional')", name=op.f('ck_income_items_status')),
    sa.ForeignKeyConstraint(['run_id'], ['income_runs.id'], name=op.f('fk_income_items_run_id_income_runs')),
    sa.PrimaryKeyConstraint('period', 'item', 'agent_code', 'source', name=op.f('pk_income_items'))
    )
    with op.batch_alter_table('income_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_income_items_agent_code'), ['agent_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_income_items_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('income_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_income_items_run_id'))
        batch_op.drop_index(batch_op.f('ix_income_items_agent_code'))
    op.drop_table('income_items')
    with op.batch_alter_table('income_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_income_runs_period'))
    op.drop_table('income_runs')
