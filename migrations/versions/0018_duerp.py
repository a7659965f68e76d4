"""Mon DUERP: the versions of each company's document unique (L4121-3-1).

Revision ID: 0018_duerp
Revises: 0017_next_due
Create Date: 2026-12-04 16:10:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018_duerp"
down_revision = "0017_next_due"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "duerp_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("company_id", sa.Integer(), sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(4), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("uploaded_by_label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_duerp_versions_company_version", "duerp_versions", ["company_id", "version"], unique=True)


def downgrade():
    op.drop_index("ix_duerp_versions_company_version", table_name="duerp_versions")
    op.drop_table("duerp_versions")
