"""Issue 15's small defects: the demo refused in production, CSV Content-Type, no inline style
in page templates (the CSP forbids them), SESSION_COOKIE_SECURE documented."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from extensions import db
from models import User
from tests.conftest import login
from tests.factories import make_company, make_member

ROOT = Path(__file__).resolve().parents[2]


def test_flask_demo_refuses_in_production(app, runner):
    old = app.config["ENV_NAME"]
    app.config["ENV_NAME"] = "production"
    try:
        result = runner.invoke(args=["demo"])
    finally:
        app.config["ENV_NAME"] = old
    assert result.exit_code != 0
    assert "refusées en production" in result.output
    assert db.session.execute(select(func.count(User.id))).scalar_one() == 0


def test_csv_export_content_type_has_one_charset(client):
    company = make_company("00010")
    user = make_member(company)
    db.session.commit()
    login(client, user)
    response = client.get("/entreprises/00010/salaries/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_csv_writers_never_repeat_the_charset():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "blueprints").rglob("*.py")
        if re.search(r"mimetype=\"text/[a-z]+; charset", path.read_text())
    ]
    assert offenders == []


def test_page_templates_have_no_inline_style():
    """The CSP (style-src 'self') blocks style attributes and <style> elements: pages use the
    classes of static/css. E-mail bodies (templates/email/) are exempt: mail clients need inline
    CSS and the CSP does not apply to them."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        if "email" in path.relative_to(ROOT / "templates").parts:
            continue
        text = path.read_text()
        if re.search(r"\sstyle\s*=|<style\b|\son[a-z]+\s*=", text, re.IGNORECASE):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_readme_lists_session_cookie_secure():
    readme = (ROOT / "README.md").read_text()
    assert "| `SESSION_COOKIE_SECURE` |" in readme
