"""Employee search: a folded search column, and the name index covering the list and its count.

Revision ID: 0013_perf_employees
Revises: 0013_perf_companies
Create Date: 2026-11-27 03:20:00

Issue #10: "Rechercher" ran `lower(col) LIKE '%word%'` on four columns of every employee of the
company, twice (count and page), reading each table row. `search_text` holds the four columns
folded once (no accents, lower case: models.employees.fold_search) and the name index now
carries `id, exit_date, search_text`, so the count and the page read the index alone.
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013_perf_employees'
down_revision = '0013_perf_companies'
branch_labels = None
depends_on = None

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})
BATCH = 5000


def _fold(text):
    # A copy of models.employees.fold_search as of this revision (migrations do not import models).
    text = unicodedata.normalize("NFKD", (text or "").translate(_LIGATURES))
    return " ".join("".join(ch for ch in text if not unicodedata.combining(ch)).lower().split())


def upgrade():
    op.add_column('employees', sa.Column('search_text', sa.String(length=500), server_default='', nullable=False))
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, birth_name, usage_name, first_names, job_title FROM employees"
                " WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        conn.execute(
            sa.text("UPDATE employees SET search_text = :s WHERE id = :i"),
            [{"i": r[0], "s": _fold(" ".join(p for p in r[1:] if p))[:500]} for r in rows],
        )
        last = rows[-1][0]
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.drop_index('ix_employees_company_name')
        batch_op.create_index(
            'ix_employees_company_name',
            ['company_id', 'birth_name', 'first_names', 'id', 'exit_date', 'search_text'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.drop_index('ix_employees_company_name')
        batch_op.create_index('ix_employees_company_name', ['company_id', 'birth_name', 'first_names'], unique=False)
        batch_op.drop_column('search_text')
