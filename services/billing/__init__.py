"""Cotisation and the member's account, one module per concern (see docs/BILLING.md).

The package re-exports the operations its callers use, so `from services import billing`
keeps working; new code may import the concern module directly."""

from services.billing.amounts import (  # noqa: F401
    Amount,
    Line,
    Preview,
    _band_label,
    _line,
    _totals,
    compute_amount,
    is_new_company,
    preview_declaration,
)
from services.billing.common import (  # noqa: F401
    APPRENTICE,
    ATTESTATION_TEXT,
    CENT,
    COUNT_LABELS,
    INTERIM,
    LINE_LABELS,
    NBSP,
    PARIS,
    ZERO,
    BillingError,
    TariffError,
    format_eur,
    money,
    today,
)
from services.billing.declarations import (  # noqa: F401
    _CAMPAIGN_AND_PAST,
    _OPEN_TARIFF,
    _PAST_DECLARATIONS,
    PAST_SHOWN,
    _issue_correction,
    _snapshot,
    campaign_and_past,
    confirm_declaration,
    current_declaration,
    past_declarations,
)
from services.billing.headcount import (  # noqa: F401
    Counted,
    Excluded,
    _register_rows,
    _year_before,
    billing_category,
    classify,
    count_by_category,
    counted_employees,
    exclusion_reason,
)
from services.billing.invoices import (  # noqa: F401
    _address,
    _issue,
    _mail_invoice,
    _with_fees,
    attach_invoice_pdf,
    invoice_by_number,
    invoice_recipients,
    invoice_render_data,
    next_invoice_number,
    publish_invoices,
    unbilled_fees,
    unpublished_invoice_ids,
)
from services.billing.ledger import (  # noqa: F401
    Account,
    Entry,
    apply_credit_note,
    available_credit,
    member_account,
    record_refund,
    settled_subquery,
    use_available_credit,
)
from services.billing.payments import (  # noqa: F401
    _COMPANY_INVOICES,
    billing_status,
    company_invoices,
    record_payment,
)
from services.billing.review import (  # noqa: F401
    EXCLUDED_PER_PAGE,
    REVIEW_COLUMNS,
    REVIEW_PER_PAGE,
    ExcludedPage,
    Review,
    ReviewEmployee,
    _days_between,
    _review_statements,
    _review_statements_cache,
    _ReviewStatements,
    counted_clause,
    excluded_employees,
    review_declaration,
)
from services.billing.tariffs import (  # noqa: F401
    _NEXT_CAMPAIGN,
    _OPEN_CAMPAIGN,
    Bracket,
    _bool,
    _date,
    _decimal,
    _int,
    _size_bands,
    campaign_state,
    national_bracket,
    next_campaign,
    open_campaign,
    set_tariff,
    tariff_for_year,
    tariff_to_dict,
)
