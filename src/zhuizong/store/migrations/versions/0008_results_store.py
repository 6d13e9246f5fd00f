"""the results store: versioned KPI results read by every page, report, rule and API call

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'kpi_result_versions',
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('data_version', sa.String(length=64), nullable=False),
        sa.Column('through_day', sa.Date(), nullable=False),
        sa.Column('periods', sa.Text(), nullable=False),
        sa.Column('row_count', sa.BigInteger(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('completed_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('building', 'complete')",
                           name=op.f('ck_kpi_result_versions_status')),
        sa.PrimaryKeyConstraint('version', name=op.f('pk_kpi_result_versions')),
    )
    op.create_table(
        'kpi_result_slices',
        sa.Column('slice_id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('period', sa.String(length=64), nullable=False),
        sa.Column('grain', sa.String(length=8), nullable=False),
        sa.Column('segment_by', sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint('slice_id', name=op.f('pk_kpi_result_slices')),
        sa.UniqueConstraint('version', 'period', 'grain', 'segment_by', name='uq_kpi_result_slice'),
    )
    op.create_table(
        'kpi_results',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
                  nullable=False),
        sa.Column('slice_id', sa.Integer(), nullable=False),
        sa.Column('org_code', sa.String(length=64), nullable=False),
        sa.Column('agent_code', sa.String(length=64), nullable=True),
        sa.Column('segment', sa.String(length=64), nullable=False),
        sa.Column('metric', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=True),
        sa.Column('numerator', sa.Text(), nullable=True),
        sa.Column('denominator', sa.Text(), nullable=True),
        sa.Column('present', sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_results')),
    )
    op.create_index('ix_kpi_results_org', 'kpi_results', ['slice_id', 'org_code'], unique=False)
    op.create_index('ix_kpi_results_agent', 'kpi_results', ['slice_id', 'agent_code'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_kpi_results_agent', table_name='kpi_results')
    op.drop_index('ix_kpi_results_org', table_name='kpi_results')
    op.drop_table('kpi_results')
    op.drop_table('kpi_result_slices')
    op.drop_table('kpi_result_versions')
