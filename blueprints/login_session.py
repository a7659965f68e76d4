"""Starting and ending a login: the cookie carries only the server-side session's token."""

from __future__ import annotations

from flask import g, request, session
from flask_login import current_user

from extensions import db
from models.users import LoginSession
from services.auth import sessions
from services.core.database import write_intent


def client_ip() -> str | None:
    # ProxyFix (configured with the number of trusted proxies) has already set remote_addr.
    return request.remote_addr


def start_login_session(user) -> None:
    """Drop everything from before login, open a new server-side session (new id, new CSRF
    token) and put its token in the signed cookie. The caller commits."""
    session.clear()
    token = sessions.open_session(user, ip=client_ip(), user_agent=request.user_agent.string)
    session["sid"] = token
    session.permanent = False


def end_login_session() -> None:
    """Revoke the current server-side session and clear the cookie. The caller commits."""
    row = g.get("login_session")
    if row is not None:
        sessions.revoke(row)
    session.clear()


def load_request_user(req):
    """Flask-Login request_loader: the user of a live server-side session, else None."""
    token = session.get("sid")
    row = sessions.load_session(token)
    if row is None:
        if token:
            session.pop("sid", None)
        return None
    if sessions.needs_touch(row):
        # End the read transaction first: on SQLite a read that turns into a write can fail
        # when another writer committed meanwhile; a fresh BEGIN IMMEDIATE waits its turn.
        row_id = row.id
        db.session.commit()
        with write_intent():
            sessions.touch(row_id)
            db.session.commit()
        row = db.session.get(LoginSession, row_id)
    g.login_session = row
    return row.user


def current_login_session():
    _ = current_user.is_authenticated  # make Flask-Login load the user
    return g.get("login_session")
