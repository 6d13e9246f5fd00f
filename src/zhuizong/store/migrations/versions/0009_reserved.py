"""tracking links: staff assignments, agent goals, daily plans, report-up (issue 15)

Revision ID: 0009
Revises: 0008

Reserved in the chain so that the three second-wave issues can add their tables independently;
the issue's work fills in upgrade()/downgrade().
"""
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
