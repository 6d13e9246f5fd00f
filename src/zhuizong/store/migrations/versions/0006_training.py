"""training sessions (培训班次) and their attendance (培训签到)

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('training_sessions',
    sa.Column('session_code', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('course_kind', sa.String(length=16), nullable=False),
    sa.Column('session_date', sa.Date(), nullable=False),
    sa.Column('org_code', sa.String(length=64), nullable=False),
    sa.Column('max_tenure_days', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("course_kind IN ('new_hire', 'top_performer', 'quasi_director', 'other')", name=op.f('ck_training_sessions_course_kind')),
    sa.CheckConstraint('max_tenure_days IS NULL OR max_tenure_days >= 0', name=op.f('ck_training_sessions_max_tenure_days')),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_training_sessions_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['org_code'], ['org_units.org_code'], name=op.f('fk_training_sessions_org_code_org_units')),
    sa.PrimaryKeyConstraint('session_code', name=op.f('pk_training_sessions'))
    )
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_sessions_org_code'), ['org_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_sessions_session_date'), ['session_date'], unique=False)

    op.create_table('training_attendance',
    sa.Column('session_code', sa.String(length=64), nullable=False),
    sa.Column('agent_code', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('present', 'late', 'leave', 'absent')", name=op.f('ck_training_attendance_status')),
    sa.ForeignKeyConstraint(['agent_code'], ['agents.agent_code'], name=op.f('fk_training_attendance_agent_code_agents')),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_training_attendance_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['session_code'], ['training_sessions.session_code'], name=op.f('fk_training_attendance_session_code_training_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_code', 'agent_code', name=op.f('pk_training_attendance'))
    )
    with op.batch_alter_table('training_attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_attendance_agent_code'), ['agent_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('training_attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_attendance_agent_code'))
    op.drop_table('training_attendance')
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_sessions_session_date'))
        batch_op.drop_index(batch_op.f('ix_training_sessions_org_code'))
    op.drop_table('training_sessions')
