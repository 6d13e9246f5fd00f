"""tracking snooze: an item may be put off (暂缓) until a date (issue 16 item 1)

Revision ID: 0012
Revises: 0011

A snoozed item stays live (its reasons are still carried by the daily run) but leaves the inbox
until ``snoozed_until``; snoozing also moves its due date there, so it is not escalated meanwhile.
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('track_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snoozed_until', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('track_items', schema=None) as batch_op:
        batch_op.drop_column('snoozed_until')
