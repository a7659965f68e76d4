"""A member, whole, for the staff: coordinates with their history, dates of adhesion and
radiation, users and their roles, the employee register (read-only, with each employee's
category, its reasons and the next due visit), visits, balance, messages, documents and the
member's audit. Read models run a fixed number of queries; operations flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from stdnum.fr import siret as siret_check

from extensions import db
from models.audit import AuditEvent
from models.companies import ROLE_EMPLOYER, Company, Membership
from models.employees import Employee
from models.planning import Visit
from models.users import User
from services.account import account_and_users as account
from services.auth import member_accounts as accounts
from services.core import audit
from services.employees import follow_up
from services.scope import company_ids as scope_ids
from services.staff.team_and_members import Page

PER_PAGE = 25
SECTION_ROWS = 10
MAX_REASON = 300
FIELDS = {
    "name": "Raison sociale",
    "siret": "SIRET",
    **account.COMPANY_FIELDS,
    "adhesion_date": "Date d'adhésion",
}
REQUIRED_FIELDS = {"name"}
MAX_LENGTHS = {
    "name": 200,
    "address": 300,
    "postal_code": 10,
    "city": 100,
    "phone": 30,
    "email": 254,
    "naf": 5,
    "invoice_contact_name": 150,
    "invoice_contact_email": 254,
    "convocation_contact_name": 150,
    "convocation_contact_email": 254,
}


class MemberError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------- coordinates


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def check_coordinates(data: dict) -> dict:
    """Cleaned values, or MemberError naming the first wrong field (French message)."""
    clean: dict = {}
    for name in FIELDS:
        if name not in data:
            continue
        value = data[name]
        if isinstance(value, str):
            value = " ".join(value.split()) or None
            if value and name in MAX_LENGTHS and len(value) > MAX_LENGTHS[name]:
                raise MemberError(f"{MAX_LENGTHS[name]} caractères au plus.", name)
        if name in REQUIRED_FIELDS and not value:
            raise MemberError("Ce champ est obligatoire.", name)
        if name == "siret" and value:
            value = value.replace(" ", "").replace(".", "")
            if not siret_check.is_valid(value):
                raise MemberError("Le SIRET n'est pas valide (14 chiffres, clé de contrôle).", name)
        if name == "postal_code" and value and not (value.isdigit() and len(value) == 5 or value[:2] in ("2A", "2B")):
            raise MemberError("Le code postal compte 5 chiffres.", name)
        if name.endswith("email") and value and ("@" not in value or value.startswith("@") or value.endswith("@")):
            raise MemberError("Saisissez une adresse e-mail valide.", name)
        if name == "naf" and value:
            value = value.replace(".", "").upper()
            if len(value) != 5 or not value[:4].isdigit() or not value[4].isalpha():
                raise MemberError("Le code NAF s'écrit 4 chiffres et une lettre (62.01Z).", name)
        clean[name] = value
    return clean


def update_coordinates(company: Company, data: dict, actor, *, ip: str | None = None) -> dict:
    """Apply the staff's corrections; the old and new values go to the audit trail, which is
    the coordinates' history (account.company_history reads the same action)."""
    clean = check_coordinates(data)
    changes = {}
    for name, new in clean.items():
        old = getattr(company, name)
        if _plain(old) != _plain(new):
            changes[name] = [_plain(old), _plain(new)]
            setattr(company, name, new)
    if changes:
        audit.record("company.updated", actor=actor, company=company, target=company, ip=ip, changes=changes)
        db.session.flush()
    return changes


def coordinates_history(company: Company, limit: int = 30) -> list[account.HistoryEntry]:
    """Changes of coordinates, by the employer or the staff, newest first (one query)."""
    entries = account.company_history(company, limit)
    for entry in entries:
        entry.changes = [(_label(k), old, new) for k, old, new in entry.changes]
    return entries


_LABELS_BY_TEXT = {label: label for label in FIELDS.values()}


def _label(key_or_label: str) -> str:
    return FIELDS.get(key_or_label) or _LABELS_BY_TEXT.get(key_or_label, key_or_label)


# --------------------------------------------------------------------------- radiation


def _company_and_sites(company: Company) -> list[Company]:
    sites = list(db.session.execute(select(Company).where(Company.parent_id == company.id)).scalars())
    return [company, *sites]


def radiate(company: Company, day: date | None, reason: str, actor, *, ip: str | None = None) -> None:
    """Deactivate a member (radiation) and its sites from `day`: its users can no longer open it."""
    if company.is_site:
        raise MemberError("Radiez le membre : ses sites le sont avec lui.", "radiation_date")
    if not company.active:
        raise MemberError("Cet adhérent est déjà radié.", "radiation_date")
    if day is None:
        raise MemberError("Saisissez la date de radiation (jj/mm/aaaa).", "radiation_date")
    reason = " ".join((reason or "").split())
    if not reason:
        raise MemberError("Indiquez le motif de la radiation.", "radiation_reason")
    if len(reason) > MAX_REASON:
        raise MemberError(f"{MAX_REASON} caractères au plus.", "radiation_reason")
    for row in _company_and_sites(company):
        row.active = False
        row.radiation_date, row.radiation_reason = day, reason
    audit.record(
        "company.radiated", actor=actor, company=company, target=company, ip=ip, date=day.isoformat(), reason=reason
    )
    db.session.flush()


def reinstate(company: Company, day: date | None, actor, *, ip: str | None = None) -> None:
    """Reactivate a radiated member and its sites, from `day` (kept in the audit trail)."""
    if company.active:
        raise MemberError("Cet adhérent n'est pas radié.", "reinstate_date")
    if day is None:
        raise MemberError("Saisissez la date de réintégration (jj/mm/aaaa).", "reinstate_date")
    previous = company.radiation_date
    for row in _company_and_sites(company):
        row.active = True
        row.radiation_date = row.radiation_reason = None
    audit.record(
        "company.reinstated",
        actor=actor,
        company=company,
        target=company,
        ip=ip,
        date=day.isoformat(),
        radiated_on=previous.isoformat() if previous else None,
    )
    db.session.flush()


# --------------------------------------------------------------------------- users


def revoke(company: Company, membership: Membership, actor, *, ip: str | None = None) -> None:
    if membership.revoked_at is not None:
        raise MemberError("Cet accès est déjà révoqué.")
    try:
        account.revoke_membership(company, membership, actor, ip=ip)
    except account.AccountError as exc:
        raise MemberError(str(exc)) from None


def make_administrator(company: Company, membership: Membership, actor, *, ip: str | None = None) -> bool:
    """Give the user the employer role: every right on the company, users included."""
    if membership.revoked_at is not None:
        raise MemberError("Cet accès est révoqué : l'utilisateur doit être invité à nouveau.")
    return account.change_role(company, membership, ROLE_EMPLOYER, actor, ip=ip)


def resend_access(company: Company, membership: Membership, actor, *, ip: str | None = None) -> None:
    """Mail the user a single-use login code (the same as "mot de passe oublié")."""
    if membership.revoked_at is not None:
        raise MemberError("Cet accès est révoqué : l'utilisateur doit être invité à nouveau.")
    user = db.session.get(User, membership.user_id)
    if user is None or not user.active:
        raise MemberError("Ce compte est désactivé.")
    accounts.request_reset(user.email, ip=ip)
    audit.record("service.access_resent", actor=actor, company=company, target=membership, ip=ip, user_id=user.id)
    db.session.flush()


# --------------------------------------------------------------------------- register


@dataclass(slots=True, frozen=True)
class RegisterRow:
    id: int
    name: str
    job_title: str
    site_code: str
    entry_date: date
    exit_date: date | None
    category: str
    reasons: list[str]
    due_date: date | None
    due_kind: str | None
    due_article: str | None
    badge: str

    @property
    def due_label(self) -> str:
        from models.planning import VISIT_TYPES

        return VISIT_TYPES.get(self.due_kind, self.due_kind or "")

    @property
    def badge_class(self) -> str:
        return follow_up.BADGE_CLASSES.get(self.badge, "badge--info")


def register(company: Company, page: int, today: date) -> Page:
    """The employee register of the member and its sites, by name (two queries + scope)."""
    ids = scope_ids(company)
    where = (Employee.company_id.in_(ids),)
    total = db.session.execute(select(func.count()).select_from(Employee).where(*where)).scalar_one()
    page = max(1, min(page, max(1, -(-total // PER_PAGE))))
    rows = db.session.execute(
        select(Employee, Company.code)
        .join(Company, Company.id == Employee.company_id)
        .where(*where)
        .order_by(Employee.birth_name, Employee.first_names, Employee.id)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    items = []
    for e, code in rows:
        category, reasons, _ = follow_up.derive_category(e.risks, e.other_risk_justification, e.night_work, e.rqth)
        badge = follow_up.visit_status_badge(e.next_due_date, today) if e.next_due_date else follow_up.BADGE_OK
        items.append(
            RegisterRow(
                e.id,
                e.display_name,
                e.job_title,
                code,
                e.entry_date,
                e.exit_date,
                e.category,
                reasons,
                e.next_due_date,
                e.next_due_kind,
                e.next_due_article,
                badge,
            )
        )
    return Page(items, total, page, PER_PAGE)


# --------------------------------------------------------------------------- other sections


def recent_visits(company: Company, limit: int = SECTION_ROWS) -> list[tuple]:
    """(visit id, starts_at, employee name, type label, status label), newest first."""
    rows = db.session.execute(
        select(Visit, Employee.birth_name, Employee.usage_name, Employee.first_names)
        .join(Employee, Employee.id == Visit.employee_id)
        .where(Visit.company_id.in_(scope_ids(company)))
        .order_by(Visit.starts_at.desc(), Visit.id.desc())
        .limit(limit)
    ).all()
    return [(v.id, v.starts_at, f"{(u or b).upper()} {f}", v.type_label, v.status_label) for v, b, u, f in rows]


def balance(company: Company) -> tuple[Decimal, int]:
    """(amount still due TTC on the member's invoices, number of invoices not fully paid)."""
    from models.billing import CREDIT_NOTE, Invoice, Payment

    paid = (
        select(Payment.invoice_id, func.coalesce(func.sum(Payment.amount), 0).label("paid"))
        .group_by(Payment.invoice_id)
        .subquery()
    )
    due = Invoice.total_ttc - func.coalesce(paid.c.paid, 0)
    row = db.session.execute(
        select(func.coalesce(func.sum(due), 0), func.count())
        .select_from(Invoice)
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .where(Invoice.company_id.in_(scope_ids(company)), Invoice.kind != CREDIT_NOTE, due > 0)
    ).one()
    return Decimal(str(row[0])).quantize(Decimal("0.01")), int(row[1])


def recent_messages(company: Company, limit: int = SECTION_ROWS) -> list[tuple]:
    """(message id, created_at, subject label, status label), newest first."""
    from models.support import ContactMessage
    from services.support.contact import subject_label

    rows = db.session.execute(
        select(ContactMessage)
        .where(ContactMessage.company_id.in_(scope_ids(company)))
        .order_by(ContactMessage.created_at.desc(), ContactMessage.id.desc())
        .limit(limit)
    ).scalars()
    return [(m.id, m.created_at, subject_label(m.subject), m.status_label) for m in rows]


def recent_documents(company: Company, limit: int = SECTION_ROWS) -> list:
    from models.billing import Document

    return list(
        db.session.execute(
            select(Document.id, Document.title, Document.created_at, Document.kind)
            .where(Document.company_id.in_(scope_ids(company)))
            .order_by(Document.created_at.desc(), Document.id.desc())
            .limit(limit)
        ).all()
    )


def member_audit(company: Company, limit: int = 20) -> list[tuple]:
    """(created_at, action, actor e-mail or label), newest first: what happened on this member."""
    rows = db.session.execute(
        select(AuditEvent.created_at, AuditEvent.action, User.email, AuditEvent.actor_label)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.company_id.in_(scope_ids(company)))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    return [(r[0], r[1], r[2] or r[3] or "—") for r in rows]
