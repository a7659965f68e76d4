"""The member's account (ledger): credit notes applied to invoices, refunds, manual invoices'
reason, rejected direct debits; bank statements and their lines; SEPA mandates; who counts
per year (contract natures) and the member's adhesion date.

Revision ID: 0016_ledger
Revises: 0015_follow_up_law
Create Date: 2026-12-04 15:30:00

"""
from decimal import Decimal

import sqlalchemy as sa
from alembic import op



# revision identifiers, used by Alembic.
revision = '0016_ledger'
down_revision = '0015_follow_up_law'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2)


def upgrade():
    op.create_table(
        'credit_applications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('credit_note_id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('amount', MONEY, nullable=False),
        sa.Column('applied_on', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['credit_note_id'], ['invoices.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('credit_applications', schema=None) as batch_op:
        batch_op.create_index('ix_credit_applications_credit_note_id', ['credit_note_id'], unique=False)
        batch_op.create_index('ix_credit_applications_invoice_id', ['invoice_id'], unique=False)
    op.create_table(
        'refunds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('credit_note_id', sa.Integer(), nullable=False),
        sa.Column('amount', MONEY, nullable=False),
        sa.Column('refunded_on', sa.Date(), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('reference', sa.String(length=100), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['credit_note_id'], ['invoices.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_company_id', ['company_id'], unique=False)
        batch_op.create_index('ix_refunds_credit_note_id', ['credit_note_id'], unique=False)
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=300), nullable=True))
    with op.batch_alter_table('tariff_years', schema=None) as batch_op:
        batch_op.add_column(sa.Column('excluded_natures', sa.JSON(), nullable=True))
    op.execute("UPDATE tariff_years SET excluded_natures = '[\"29\", \"80\"]'")
    with op.batch_alter_table('tariff_years', schema=None) as batch_op:
        batch_op.alter_column('excluded_natures', existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('adhesion_date', sa.Date(), nullable=True))
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rejected_on', sa.Date(), nullable=True))
    op.create_table(
        'bank_statements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=140), nullable=False),
        sa.Column('format', sa.String(length=10), nullable=False),
        sa.Column('account', sa.String(length=34), nullable=True),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('statement_date', sa.Date(), nullable=True),
        sa.Column('imported_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    op.create_table(
        'bank_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('statement_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('booking_date', sa.Date(), nullable=False),
        sa.Column('amount', MONEY, nullable=False),
        sa.Column('credit', sa.Boolean(), nullable=False),
        sa.Column('reversal', sa.Boolean(), nullable=False),
        sa.Column('reference', sa.String(length=300), nullable=True),
        sa.Column('end_to_end_id', sa.String(length=35), nullable=True),
        sa.Column('counterparty', sa.String(length=140), nullable=True),
        sa.Column('return_reason', sa.String(length=10), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=True),
        sa.Column('payment_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['statement_id'], ['bank_statements.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key', name='uq_bank_lines_key'),
    )
    with op.batch_alter_table('bank_lines', schema=None) as batch_op:
        batch_op.create_index('ix_bank_lines_statement_id', ['statement_id'], unique=False)
        batch_op.create_index('ix_bank_lines_status', ['status', 'booking_date'], unique=False)
    op.create_table(
        'sepa_mandates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=35), nullable=False),
        sa.Column('creditor_id', sa.String(length=35), nullable=False),
        sa.Column('debtor_name', sa.String(length=140), nullable=False),
        sa.Column('iban', sa.String(length=34), nullable=False),
        sa.Column('bic', sa.String(length=11), nullable=False),
        sa.Column('signed_on', sa.Date(), nullable=False),
        sa.Column('signed_by_id', sa.Integer(), nullable=True),
        sa.Column('signed_by_name', sa.String(length=200), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=True),
        sa.Column('first_collected_on', sa.Date(), nullable=True),
        sa.Column('revoked_on', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['signed_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('reference'),
    )
    with op.batch_alter_table('sepa_mandates', schema=None) as batch_op:
        batch_op.create_index('ix_sepa_mandates_company_id', ['company_id'], unique=False)
    op.create_table(
        'sepa_debits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.String(length=35), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('mandate_id', sa.Integer(), nullable=False),
        sa.Column('amount', MONEY, nullable=False),
        sa.Column('collection_date', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['mandate_id'], ['sepa_mandates.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('sepa_debits', schema=None) as batch_op:
        batch_op.create_index('ix_sepa_debits_batch_id', ['batch_id'], unique=False)
        batch_op.create_index('ix_sepa_debits_invoice_id', ['invoice_id'], unique=False)
    # Existing credit notes: apply each to the invoice it corrects, up to what is left on it.
    _apply_existing_credit_notes()


def _apply_existing_credit_notes():
    bind = op.get_bind()
    notes = bind.execute(
        sa.text(
            "SELECT id, corrects_id, total_ttc, issue_date FROM invoices "
            "WHERE kind = 'credit_note' AND corrects_id IS NOT NULL ORDER BY id"
        )
    ).all()
    for note_id, invoice_id, total, issued in notes:
        row = bind.execute(
            sa.text(
                "SELECT i.total_ttc, "
                "(SELECT COALESCE(SUM(amount), 0) FROM payments WHERE invoice_id = i.id), "
                "(SELECT COALESCE(SUM(amount), 0) FROM credit_applications WHERE invoice_id = i.id) "
                "FROM invoices i WHERE i.id = :id"
            ),
            {"id": invoice_id},
        ).one()


        due = Decimal(str(row[0])) - Decimal(str(row[1])) - Decimal(str(row[2]))
        amount = min(Decimal(str(total)), max(due, Decimal("0")))
        if amount > 0:
            bind.execute(
                sa.text(
                    "INSERT INTO credit_applications (credit_note_id, invoice_id, amount, applied_on, created_at) "
                    "VALUES (:note, :invoice, :amount, :on, CURRENT_TIMESTAMP)"
                ),
                {"note": note_id, "invoice": invoice_id, "amount": amount, "on": issued},
            )


def downgrade():
    with op.batch_alter_table('sepa_debits', schema=None) as batch_op:
        batch_op.drop_index('ix_sepa_debits_invoice_id')
        batch_op.drop_index('ix_sepa_debits_batch_id')
    op.drop_table('sepa_debits')
    with op.batch_alter_table('sepa_mandates', schema=None) as batch_op:
        batch_op.drop_index('ix_sepa_mandates_company_id')
    op.drop_table('sepa_mandates')
    with op.batch_alter_table('bank_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_lines_status')
        batch_op.drop_index('ix_bank_lines_statement_id')
    op.drop_table('bank_lines')
    op.drop_table('bank_statements')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('rejected_on')
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('adhesion_date')
    with op.batch_alter_table('tariff_years', schema=None) as batch_op:
        batch_op.drop_column('excluded_natures')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('reason')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_credit_note_id')
        batch_op.drop_index('ix_refunds_company_id')
    op.drop_table('refunds')
    with op.batch_alter_table('credit_applications', schema=None) as batch_op:
        batch_op.drop_index('ix_credit_applications_invoice_id')
        batch_op.drop_index('ix_credit_applications_credit_note_id')
    op.drop_table('credit_applications')
