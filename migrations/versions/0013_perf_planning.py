"""Planning performance: partial indexes for a company's coming visits.

Revision ID: 0013_perf_planning
Revises: 0012_service_ops
Create Date: 2026-11-27 03:30:00

The planning page lists a company's active visits (proposée/confirmée) in date order, 20 at a
time, and its visits proposed by the service. With only (company_id, starts_at) both queries
read every coming visit of the company (5,400 rows for the 5,000-employee company) and
PostgreSQL, estimating 46 rows, joined them all before sorting (30-45 ms). The partial index
on the active visits is read in order and stops at LIMIT; the one on the proposed visits holds
only those.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_perf_planning'
down_revision = '0012_service_ops'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('proposee', 'confirmee')"
PROPOSED = "status = 'proposee'"


def upgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index('ix_visits_active_company_start', ['company_id', 'starts_at', 'id'], unique=False,
                              sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
        batch_op.create_index('ix_visits_proposed_company_start', ['company_id', 'starts_at'], unique=False,
                              sqlite_where=sa.text(PROPOSED), postgresql_where=sa.text(PROPOSED))


def downgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_proposed_company_start')
        batch_op.drop_index('ix_visits_active_company_start')
