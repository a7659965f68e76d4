"""50 concurrent confirmations across companies: 50 invoice numbers, no gap, no duplicate."""

import threading

from sqlalchemy import select

from extensions import db
from models import Company, Invoice, InvoiceSequence, TariffYear
from services import billing
from services.core.database import write_intent
from tests.factories import make_company, make_employee, make_tariff


def test_billing_concurrent_confirmations_get_gapless_numbers(app):
    tariff = make_tariff()
    ids = []
    for _ in range(50):
        company = make_company()
        make_employee(company)
        ids.append(company.id)
    db.session.commit()
    year, tariff_id = billing.today().year, tariff.id
    barrier = threading.Barrier(10)
    errors = []

    def confirm(company_id):
        with app.app_context():
            try:
                with write_intent():
                    company = db.session.get(Company, company_id)
                    tariff = db.session.get(TariffYear, tariff_id)
                    billing.confirm_declaration(company, tariff, None, attested=True)
                    db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    def worker(chunk):
        barrier.wait()
        for company_id in chunk:
            confirm(company_id)

    threads = [threading.Thread(target=worker, args=(ids[i::10],)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    db.session.commit()
    numbers = db.session.execute(select(Invoice.number).order_by(Invoice.number)).scalars().all()
    assert numbers == [f"{year}-{n:06d}" for n in range(1, 51)]
    assert len({n for n in numbers}) == 50
    assert db.session.execute(select(InvoiceSequence.last_number)).scalar_one() == 50
