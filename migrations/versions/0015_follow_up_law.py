"""Employees: `ever_sir`, the register's memory that an employee has been in SIR.

Revision ID: 0015_follow_up_law
Revises: 0013_perf_employees
Create Date: 2026-12-04 15:40:00

Issue #17: the post-exposition visit at departure (L4624-2-1) is due to whoever is or was in
SIR; the rules read the current category only. The flag is set by an ORM event whenever an
employee is in SIR and never cleared; this migration fills it from the history: the current
category, any declared change from or to SIR, and any SIR aptitude or intermediate visit done.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_follow_up_law"
down_revision = "0013_perf_employees"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("employees", sa.Column("ever_sir", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        sa.text(
            "UPDATE employees SET ever_sir = :yes WHERE category = 'SIR' "
            "OR id IN (SELECT employee_id FROM employee_changes "
            "          WHERE CAST(changes AS TEXT) LIKE '%\"category\"%' AND CAST(changes AS TEXT) LIKE '%\"SIR\"%') "
            "OR id IN (SELECT employee_id FROM visits "
            "          WHERE status = 'realisee' AND visit_type IN ('examen_sir', 'intermediaire_sir'))"
        ).bindparams(yes=True)
    )


def downgrade():
    with op.batch_alter_table("employees") as batch:
        batch.drop_column("ever_sir")
