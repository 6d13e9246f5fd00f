"""basic law benefit side: income items (issue 17)

Revision ID: 0010
Revises: 0009

Reserved in the chain so that the three second-wave issues can add their tables independently;
the issue's work fills in upgrade()/downgrade().
"""
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
