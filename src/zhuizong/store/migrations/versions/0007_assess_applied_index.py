"""index of assessment results by period and application time (the basic-law page's version)

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assess_results', schema=None) as batch_op:
        batch_op.create_index('ix_assess_results_period_applied_at', ['period', 'applied_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assess_results', schema=None) as batch_op:
        batch_op.drop_index('ix_assess_results_period_applied_at')
