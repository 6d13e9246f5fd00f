"""agent contacts: optional phone, WeCom and DingTalk ids on agents (issue 16)

Revision ID: 0011
Revises: 0010

Filled in by issue 16 (the revision id was reserved in the chain): the agents import gains three
optional columns so the tracking inbox can show tap-to-call and chat links.
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('wecom_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('dingtalk_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('dingtalk_id')
        batch_op.drop_column('wecom_id')
        batch_op.drop_column('phone')
