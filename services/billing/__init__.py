"""Cotisation and the member's account, one module per concern (see docs/BILLING.md).

The package re-exports the operations its callers use, so `from services import billing`
keeps working; new code may import the concern module directly."""

from services.billing.amounts import (  # noqa: F401
    Amount,
    Line,
    Preview,
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
    PAST_SHOWN,
    campaign_and_past,
    confirm_declaration,
    current_declaration,
    past_declarations,
)
from services.billing.headcount import (  # noqa: F401
    Counted,
    Excluded,
    billing_category,
    classify,
    count_by_category,
    counted_employees,
    exclusion_reason,
)
from services.billing.invoices import (  # noqa: F401
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
    counted_clause,
    excluded_employees,
    review_declaration,
)
from services.billing.tariffs import (  # noqa: F401
    Bracket,
    campaign_state,
    national_bracket,
    next_campaign,
    open_campaign,
    set_tariff,
    tariff_for_year,
    tariff_to_dict,
)
