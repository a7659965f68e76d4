"""Declaration review: a covering index for the per-company counting aggregate.

Revision ID: 0013_perf_billing
Revises: 0013_perf_planning
Create Date: 2026-11-27 03:10:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013_perf_billing'
down_revision = '0013_perf_planning'
branch_labels = None
depends_on = None

COLUMNS = [
    'company_id',
    'category',
    'apprentice',
    'entry_date',
    'exit_date',
    'contract_nature',
    'contract_suspended',
    'contract_end_date',
]


def upgrade():
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.create_index('ix_employees_company_billing', COLUMNS, unique=False)


def downgrade():
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.drop_index('ix_employees_company_billing')
