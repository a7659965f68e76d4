"""Company-scoped views: load the company from the URL, check the membership on every
request (404 when there is none), then the right (403)."""

from __future__ import annotations

from functools import wraps

from flask import abort, g, request
from flask_login import current_user, login_required

from extensions import db
from services.companies.access import get_company_for_user, has_right


def company_view(right: str | None = None):
    """Decorate a view whose URL has `<code>`; the view receives `company` instead."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, code: str, **kwargs):
            if current_user.is_staff:
                abort(404)
            found = get_company_for_user(current_user, code)
            if found is None:
                abort(404)
            company, membership = found
            if right is not None and not has_right(membership, right):
                abort(403)
            g.company = company
            g.membership = membership
            if current_user.last_company_id != company.id:
                # Remembered so that the next login opens on the last company used.
                current_user.last_company_id = company.id
                g.remember_company = True
            return view(*args, company=company, **kwargs)

        # Read by the switcher (same page for another company) and by the URL-map tests.
        wrapped.required_right = right
        wrapped.company_scoped = True
        return wrapped

    return decorator


def commit_remembered_company() -> None:
    """Persist last_company_id for read-only requests (write requests commit it anyway)."""
    # Not `session.dirty`: a query run after the view (e.g. the header switcher) autoflushes
    # the change, which empties `dirty` while the change still awaits its commit.
    if g.pop("remember_company", False) and request.method in ("GET", "HEAD"):
        db.session.commit()
