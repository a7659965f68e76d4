"""Memberships: an index for "the companies this user's active links reach".

Revision ID: 0013_perf_companies
Revises: 0013_perf_billing
Create Date: 2026-11-27 03:30:00

Issue #10: "Mes entreprises" and the switcher's search start from the user's active
memberships (user_id = ? AND revoked_at IS NULL). The unique (user_id, company_id) index
found them but read every membership row to check revoked_at; this index answers alone.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_perf_companies'
down_revision = '0013_perf_billing'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index('ix_memberships_user_active', ['user_id', 'revoked_at', 'company_id'], unique=False)


def downgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_memberships_user_active')
