"""Helpers shared by the back-office tests: a staff login with its second factor done."""

from __future__ import annotations

from extensions import db
from models.base import utcnow
from models.users import LoginSession
from services.auth import sessions
from tests.factories import enrol_totp, make_staff


def login_staff(client, user, *, second_factor: bool = True) -> None:
    """Open a session for a staff user, with the second factor confirmed unless asked not to."""
    if second_factor and user.totp_enabled_at is None:
        enrol_totp(user)
    token = sessions.open_session(user, ip="127.0.0.1", user_agent="pytest")
    db.session.flush()
    if second_factor:
        row = db.session.query(LoginSession).filter_by(token_hash=sessions._token_hash(token)).one()
        row.second_factor_at = utcnow()
    db.session.commit()
    with client.session_transaction() as flask_session:
        flask_session.clear()
        flask_session["sid"] = token


def staff_logged_in(client, role: str = "agent", email: str | None = None):
    user = make_staff(email or f"{role}@aist22.test", role=role, first_name="Agnès", last_name="Le Floch")
    login_staff(client, user)
    return user
