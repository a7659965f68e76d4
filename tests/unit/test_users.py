"""User e-mail addresses are unique without regard to case (enforced by the database)."""

import pytest
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import User


def test_email_unique_without_regard_to_case():
    db.session.add(User(email="claire@example.test", last_name="A", first_name="B"))
    db.session.commit()
    db.session.add(User(email="Claire@Example.test", last_name="A", first_name="B"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
