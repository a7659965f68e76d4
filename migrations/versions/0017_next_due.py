"""The stored next due visit of each employee (date, kind, article) and its indexes; the
reason of a visit cancelled or moved by the service; a member's adhesion and radiation dates.

Revision ID: 0017_next_due
Revises: 0016_ledger
Create Date: 2026-12-04 15:40:00

Issue #19: the service's convocation list reads every member's employees by due date; the
follow-up rules (services.employees.follow_up) ran in Python per employee. The answer is now stored
(services.employees.next_due keeps it after every flush) and indexed. The back-fill runs the rules of
the current code over the rows of this revision (services.employees.next_due.recompute reads only the
columns it names); `flask --app app follow-up verify --fix` corrects any later drift.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017_next_due'
down_revision = '0016_ledger'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_due_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('next_due_kind', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('next_due_article', sa.String(length=20), nullable=True))
        batch_op.create_index('ix_employees_next_due', ['next_due_date', 'id'], unique=False)
        batch_op.create_index(
            'ix_employees_next_due_kind', ['next_due_kind', 'next_due_date', 'id'], unique=False
        )
        batch_op.create_index('ix_employees_company_next_due', ['company_id', 'next_due_date'], unique=False)
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_change_reason', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('service_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            'ix_visits_company_service_change', ['company_id', 'service_changed_at'], unique=False
        )
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('radiation_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('radiation_reason', sa.String(length=300), nullable=True))

    from services.employees.next_due import recompute

    recompute(op.get_bind())


def downgrade():
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('radiation_reason')
        batch_op.drop_column('radiation_date')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_company_service_change')
        batch_op.drop_column('service_changed_at')
        batch_op.drop_column('service_change_reason')
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.drop_index('ix_employees_company_next_due')
        batch_op.drop_index('ix_employees_next_due_kind')
        batch_op.drop_index('ix_employees_next_due')
        batch_op.drop_column('next_due_article')
        batch_op.drop_column('next_due_kind')
        batch_op.drop_column('next_due_date')
