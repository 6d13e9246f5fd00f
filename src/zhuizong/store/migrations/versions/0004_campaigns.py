"""campaigns (方案): definitions and frozen close-out results

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('campaign_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('measure', sa.String(length=32), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('grace_days', sa.Integer(), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('definition_sha256', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('results_as_of', sa.Date(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_campaigns_status')),
    sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_campaigns'))
    )
    op.create_table('campaign_results',
    sa.Column('campaign_id', sa.String(length=64), nullable=False),
    sa.Column('agent_code', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('agent_name', sa.String(length=200), nullable=False),
    sa.Column('org_code', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Numeric(precision=20, scale=2), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('fyp', sa.Numeric(precision=20, scale=2), nullable=False),
    sa.Column('fyc', sa.Numeric(precision=20, scale=2), nullable=False),
    sa.Column('std_premium', sa.Numeric(precision=20, scale=2), nullable=False),
    sa.Column('reached_on', sa.Date(), nullable=True),
    sa.Column('tier_index', sa.Integer(), nullable=True),
    sa.Column('tier_name', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.campaign_id'], name=op.f('fk_campaign_results_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'agent_code', name=op.f('pk_campaign_results'))
    )
    op.create_table('campaign_team_results',
    sa.Column('campaign_id', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=64), nullable=False),
    sa.Column('org_code', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('org_name', sa.String(length=200), nullable=False),
    sa.Column('value', sa.Numeric(precision=20, scale=2), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('achievers', sa.Integer(), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.campaign_id'], name=op.f('fk_campaign_team_results_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'level', 'org_code', name=op.f('pk_campaign_team_results'))
    )


def downgrade() -> None:
    op.drop_table('campaign_team_results')
    op.drop_table('campaign_results')
    op.drop_table('campaigns')
