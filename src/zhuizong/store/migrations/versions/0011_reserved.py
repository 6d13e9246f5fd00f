"""agent contacts and phone-day tracking fields (issue 16)

Revision ID: 0011
Revises: 0010

Reserved in the chain so that the three second-wave issues can add their tables independently;
the issue's work fills in upgrade()/downgrade().
"""
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
