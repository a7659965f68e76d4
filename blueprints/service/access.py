"""Who may open a /service page: staff only (404 for everyone else), second factor confirmed
on the current login session, and the admin role where asked (403 for agents)."""

from __future__ import annotations

from functools import wraps

from flask import abort, g, request, url_for
from flask_login import current_user, login_required

from blueprints.htmx import hx_redirect
from blueprints.navigation import safe_next_path

STAFF_ROLES = ("agent", "admin")


def second_factor_done() -> bool:
    row = g.get("login_session")
    return row is not None and row.second_factor_at is not None


def staff_required(role: str | None = None, *, second_factor: bool = True):
    """Decorate a back-office view. `role="admin"` keeps agents out (403). Views of the second
    factor itself pass `second_factor=False`."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            # Employers and accountants never learn that the back office exists.
            if not current_user.is_staff or current_user.staff_role not in STAFF_ROLES:
                abort(404)
            if second_factor and not second_factor_done():
                target = url_for("service.two_factor", next=safe_next_path(request.full_path))
                return hx_redirect(target)
            if role is not None and current_user.staff_role != role:
                abort(403)
            return view(*args, **kwargs)

        wrapped.staff_role = role or "agent"
        return wrapped

    return decorator


def is_admin() -> bool:
    return bool(current_user.is_authenticated and current_user.is_staff and current_user.staff_role == "admin")
