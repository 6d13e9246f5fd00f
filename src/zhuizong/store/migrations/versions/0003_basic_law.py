"""basic law: assessment runs and results

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assess_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('rules_name', sa.String(length=200), nullable=False),
    sa.Column('rules_source', sa.String(length=500), nullable=False),
    sa.Column('rules_sha256', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('recompute', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assess_runs'))
    )
    with op.batch_alter_table('assess_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assess_runs_period'), ['period'], unique=False)

    op.create_table('assess_results',
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('agent_code', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('rank_code', sa.String(length=64), nullable=False),
    sa.Column('org_code', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.Date(), nullable=False),
    sa.Column('window_end', sa.Date(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('target_rank', sa.String(length=64), nullable=True),
    sa.Column('fail_streak', sa.Integer(), nullable=False),
    sa.Column('met_count', sa.Integer(), nullable=False),
    sa.Column('required_count', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('projected_passed', sa.Boolean(), nullable=False),
    sa.Column('gap_zh', sa.Text(), nullable=False),
    sa.Column('gap_en', sa.Text(), nullable=False),
    sa.Column('criteria', sa.Text(), nullable=False),
    sa.Column('applied_at', sa.DateTime(), nullable=True),
    sa.Column('applied_by', sa.String(length=64), nullable=True),
    sa.Column('applied_note', sa.String(length=200), nullable=True),
    sa.CheckConstraint("outcome IN ('convert', 'promote', 'maintain', 'extra_period', 'demote', 'contract_end', 'not_met', 'on_track', 'at_risk', 'not_eligible')", name=op.f('ck_assess_results_outcome')),
    sa.CheckConstraint("status IN ('final', 'provisional')", name=op.f('ck_assess_results_status')),
    sa.ForeignKeyConstraint(['run_id'], ['assess_runs.id'], name=op.f('fk_assess_results_run_id_assess_runs')),
    sa.PrimaryKeyConstraint('period', 'rule', 'agent_code', name=op.f('pk_assess_results'))
    )
    with op.batch_alter_table('assess_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assess_results_agent_code'), ['agent_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_assess_results_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assess_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assess_results_run_id'))
        batch_op.drop_index(batch_op.f('ix_assess_results_agent_code'))

    op.drop_table('assess_results')
    with op.batch_alter_table('assess_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assess_runs_period'))

    op.drop_table('assess_runs')
