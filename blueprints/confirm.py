"""The confirmation step before a destructive action (cancel a visit, remove an access, declare a
departure): a page without JavaScript, the same markup as a fragment in place of the button
with htmx. The action itself stays a POST with its CSRF token."""

from __future__ import annotations

from blueprints.htmx import render


def confirmation(
    company,
    *,
    title: str,
    question: str,
    action: str,
    confirm_label: str,
    back_url: str,
    back_label: str = "Non, revenir en arrière",
    details: list[str] | None = None,
    warning: str | None = None,
    hidden: dict | None = None,
    confirm_id: str | None = None,
    status: int = 200,
):
    return render(
        "confirm.html",
        "_confirm.html",
        status=status,
        company=company,
        title=title,
        question=question,
        action=action,
        confirm_label=confirm_label,
        back_url=back_url,
        back_label=back_label,
        details=details or [],
        warning=warning,
        hidden=hidden or {},
        confirm_id=confirm_id,
    )
