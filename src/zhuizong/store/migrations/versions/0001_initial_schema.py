"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 04:41:18.038473
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=64), nullable=True),
    sa.Column('object_id', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('import_batches',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_inserted', sa.Integer(), nullable=False),
    sa.Column('rows_updated', sa.Integer(), nullable=False),
    sa.Column('rows_unchanged', sa.Integer(), nullable=False),
    sa.Column('min_date', sa.Date(), nullable=True),
    sa.Column('max_date', sa.Date(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches')),
    sa.UniqueConstraint('kind', 'file_sha256', name='uq_import_file')
    )
    op.create_table('org_units',
    sa.Column('org_code', sa.String(length=64), nullable=False),
    sa.Column('org_name', sa.String(length=200), nullable=False),
    sa.Column('parent_code', sa.String(length=64), nullable=True),
    sa.Column('level', sa.String(length=32), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_org_units_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['parent_code'], ['org_units.org_code'], name=op.f('fk_org_units_parent_code_org_units'), initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('org_code', name=op.f('pk_org_units'))
    )
    with op.batch_alter_table('org_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_units_parent_code'), ['parent_code'], unique=False)

    op.create_table('products',
    sa.Column('product_code', sa.String(length=64), nullable=False),
    sa.Column('product_name', sa.String(length=200), nullable=False),
    sa.Column('is_main', sa.Boolean(), nullable=False),
    sa.Column('pay_mode', sa.String(length=16), nullable=False),
    sa.Column('term_years', sa.Integer(), nullable=True),
    sa.Column('fyc_rate', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('std_factor', sa.Numeric(precision=9, scale=4), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("pay_mode IN ('single', 'regular')", name=op.f('ck_products_pay_mode')),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_products_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('product_code', name=op.f('pk_products'))
    )
    op.create_table('ranks',
    sa.Column('rank_code', sa.String(length=64), nullable=False),
    sa.Column('rank_name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("category IN ('probationary', 'formal', 'director')", name=op.f('ck_ranks_category')),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_ranks_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('rank_code', name=op.f('pk_ranks'))
    )
    op.create_table('agents',
    sa.Column('agent_code', sa.String(length=64), nullable=False),
    sa.Column('agent_name', sa.String(length=200), nullable=False),
    sa.Column('hire_date', sa.Date(), nullable=False),
    sa.Column('org_code', sa.String(length=64), nullable=False),
    sa.Column('rank_code', sa.String(length=64), nullable=False),
    sa.Column('supervisor_code', sa.String(length=64), nullable=True),
    sa.Column('recruiter_code', sa.String(length=64), nullable=True),
    sa.Column('leave_date', sa.Date(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_agents_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['org_code'], ['org_units.org_code'], name=op.f('fk_agents_org_code_org_units')),
    sa.ForeignKeyConstraint(['rank_code'], ['ranks.rank_code'], name=op.f('fk_agents_rank_code_ranks')),
    sa.ForeignKeyConstraint(['recruiter_code'], ['agents.agent_code'], name=op.f('fk_agents_recruiter_code_agents'), initially='DEFERRED', deferrable=True),
    sa.ForeignKeyConstraint(['supervisor_code'], ['agents.agent_code'], name=op.f('fk_agents_supervisor_code_agents'), initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('agent_code', name=op.f('pk_agents'))
    )
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agents_org_code'), ['org_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_agents_recruiter_code'), ['recruiter_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_agents_supervisor_code'), ['supervisor_code'], unique=False)

    op.create_table('plans',
    sa.Column('org_code', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('metric', sa.String(length=64), nullable=False),
    sa.Column('target', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_plans_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['org_code'], ['org_units.org_code'], name=op.f('fk_plans_org_code_org_units')),
    sa.PrimaryKeyConstraint('org_code', 'period', 'metric', name=op.f('pk_plans'))
    )
    op.create_table('agent_events',
    sa.Column('agent_code', sa.String(length=64), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('event_type', sa.String(length=16), nullable=False),
    sa.Column('rank_code', sa.String(length=64), nullable=True),
    sa.Column('org_code', sa.String(length=64), nullable=True),
    sa.Column('supervisor_code', sa.String(length=64), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("event_type IN ('hire', 'convert', 'promote', 'demote', 'transfer', 'leave', 'rehire')", name=op.f('ck_agent_events_event_type')),
    sa.ForeignKeyConstraint(['agent_code'], ['agents.agent_code'], name=op.f('fk_agent_events_agent_code_agents'), initially='DEFERRED', deferrable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_agent_events_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['org_code'], ['org_units.org_code'], name=op.f('fk_agent_events_org_code_org_units')),
    sa.ForeignKeyConstraint(['rank_code'], ['ranks.rank_code'], name=op.f('fk_agent_events_rank_code_ranks')),
    sa.ForeignKeyConstraint(['supervisor_code'], ['agents.agent_code'], name=op.f('fk_agent_events_supervisor_code_agents'), initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('agent_code', 'event_date', 'event_type', name=op.f('pk_agent_events'))
    )
    op.create_table('agent_history',
    sa.Column('agent_code', sa.String(length=64), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('rank_code', sa.String(length=64), nullable=False),
    sa.Column('org_code', sa.String(length=64), nullable=False),
    sa.Column('supervisor_code', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['agent_code'], ['agents.agent_code'], name=op.f('fk_agent_history_agent_code_agents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_code'], ['org_units.org_code'], name=op.f('fk_agent_history_org_code_org_units')),
    sa.ForeignKeyConstraint(['rank_code'], ['ranks.rank_code'], name=op.f('fk_agent_history_rank_code_ranks')),
    sa.PrimaryKeyConstraint('agent_code', 'valid_from', name=op.f('pk_agent_history'))
    )
    with op.batch_alter_table('agent_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_history_org_code'), ['org_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_history_supervisor_code'), ['supervisor_code'], unique=False)

    op.create_table('attendance',
    sa.Column('agent_code', sa.String(length=64), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('meeting', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("meeting IN ('morning', 'evening')", name=op.f('ck_attendance_meeting')),
    sa.CheckConstraint("status IN ('present', 'late', 'leave', 'absent')", name=op.f('ck_attendance_status')),
    sa.ForeignKeyConstraint(['agent_code'], ['agents.agent_code'], name=op.f('fk_attendance_agent_code_agents')),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_attendance_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('agent_code', 'date', 'meeting', name=op.f('pk_attendance')),
    sqlite_with_rowid=False
    )
    op.create_table('employment_spells',
    sa.Column('agent_code', sa.String(length=64), nullable=False),
    sa.Column('spell_no', sa.Integer(), nullable=False),
    sa.Column('hire_date', sa.Date(), nullable=False),
    sa.Column('leave_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['agent_code'], ['agents.agent_code'], name=op.f('fk_employment_spells_agent_code_agents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agent_code', 'spell_no', name=op.f('pk_employment_spells'))
    )
    op.create_table('premiums',
    sa.Column('txn_id', sa.String(length=64), nullable=False),
    sa.Column('policy_no', sa.String(length=64), nullable=False),
    sa.Column('agent_code', sa.String(length=64), nullable=False),
    sa.Column('product_code', sa.String(length=64), nullable=False),
    sa.Column('txn_date', sa.Date(), nullable=False),
    sa.Column('txn_type', sa.String(length=20), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('policy_year', sa.Integer(), nullable=True),
    sa.Column('fyc_fen', sa.BigInteger(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("txn_type IN ('new', 'fy_renewal', 'free_look_cancel', 'surrender', 'renewal')", name=op.f('ck_premiums_txn_type')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_premiums_amount_positive')),
    sa.ForeignKeyConstraint(['agent_code'], ['agents.agent_code'], name=op.f('fk_premiums_agent_code_agents')),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_premiums_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['product_code'], ['products.product_code'], name=op.f('fk_premiums_product_code_products')),
    sa.PrimaryKeyConstraint('txn_id', name=op.f('pk_premiums'))
    )
    with op.batch_alter_table('premiums', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_premiums_agent_code'), ['agent_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_premiums_txn_date'), ['txn_date'], unique=False)

    op.create_table('users',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('agent_code', sa.String(length=64), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['agent_code'], ['agents.agent_code'], name=op.f('fk_users_agent_code_agents')),
    sa.PrimaryKeyConstraint('username', name=op.f('pk_users'))
    )
    op.create_table('work_logs',
    sa.Column('agent_code', sa.String(length=64), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=True),
    sa.Column('visits', sa.Integer(), nullable=True),
    sa.Column('interviews', sa.Integer(), nullable=True),
    sa.Column('proposals', sa.Integer(), nullable=True),
    sa.Column('closes', sa.Integer(), nullable=True),
    sa.Column('referrals', sa.Integer(), nullable=True),
    sa.Column('recruit_talks', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agent_code'], ['agents.agent_code'], name=op.f('fk_work_logs_agent_code_agents')),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_work_logs_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('agent_code', 'date', name=op.f('pk_work_logs')),
    sqlite_with_rowid=False
    )
    op.create_table('user_roles',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'executive', 'assessment', 'campaign', 'training', 'trainer', 'supervisor', 'agent')", name=op.f('ck_user_roles_role')),
    sa.ForeignKeyConstraint(['username'], ['users.username'], name=op.f('fk_user_roles_username_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('username', 'role', name=op.f('pk_user_roles'))
    )
    op.create_table('user_scopes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('scope_type', sa.String(length=32), nullable=False),
    sa.Column('org_code', sa.String(length=64), nullable=True),
    sa.Column('agent_code', sa.String(length=64), nullable=True),
    sa.CheckConstraint("(scope_type = 'org_subtree' AND org_code IS NOT NULL AND agent_code IS NULL) OR (scope_type <> 'org_subtree' AND agent_code IS NOT NULL AND org_code IS NULL)", name=op.f('ck_user_scopes_scope_target')),
    sa.CheckConstraint("scope_type IN ('org_subtree', 'reporting_line', 'self')", name=op.f('ck_user_scopes_scope_type')),
    sa.ForeignKeyConstraint(['agent_code'], ['agents.agent_code'], name=op.f('fk_user_scopes_agent_code_agents')),
    sa.ForeignKeyConstraint(['org_code'], ['org_units.org_code'], name=op.f('fk_user_scopes_org_code_org_units')),
    sa.ForeignKeyConstraint(['username'], ['users.username'], name=op.f('fk_user_scopes_username_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_scopes')),
    sa.UniqueConstraint('username', 'scope_type', 'org_code', 'agent_code', name='uq_scope')
    )
    with op.batch_alter_table('user_scopes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_scopes_username'), ['username'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('user_scopes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_scopes_username'))

    op.drop_table('user_scopes')
    op.drop_table('user_roles')
    op.drop_table('work_logs')
    op.drop_table('users')
    with op.batch_alter_table('premiums', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_premiums_txn_date'))
        batch_op.drop_index(batch_op.f('ix_premiums_agent_code'))

    op.drop_table('premiums')
    op.drop_table('employment_spells')
    op.drop_table('attendance')
    with op.batch_alter_table('agent_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_history_supervisor_code'))
        batch_op.drop_index(batch_op.f('ix_agent_history_org_code'))

    op.drop_table('agent_history')
    op.drop_table('agent_events')
    op.drop_table('plans')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agents_supervisor_code'))
        batch_op.drop_index(batch_op.f('ix_agents_recruiter_code'))
        batch_op.drop_index(batch_op.f('ix_agents_org_code'))

    op.drop_table('agents')
    op.drop_table('ranks')
    op.drop_table('products')
    with op.batch_alter_table('org_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_units_parent_code'))

    op.drop_table('org_units')
    op.drop_table('import_batches')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')

