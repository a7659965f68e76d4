"""Issue 15's input cases: one guard in the base form of every form, form encodings only,
dates in a plausible range. The property test over every POST route is test_post_routes_fuzz.py."""

from __future__ import annotations

import importlib
import json
import pkgutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import select

import blueprints
from blueprints.base_form import PortailForm
from extensions import db
from models import AppointmentRequest, Employee, Membership
from services import billing
from tests.conftest import csrf_token, login
from tests.factories import (
    make_company,
    make_declaration_company,
    make_employee,
    make_member,
    make_slot,
    make_tariff,
    make_visit,
)

ROOT = Path(__file__).resolve().parents[2]


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_every_form_class_derives_from_the_guarded_base():
    for module in pkgutil.walk_packages(blueprints.__path__, "blueprints."):
        importlib.import_module(module.name)
    forms = [c for c in _all_subclasses(FlaskForm) if c is not PortailForm and c.__module__.startswith("blueprints")]
    assert len(forms) > 40
    assert [f"{c.__module__}.{c.__name__}" for c in forms if not issubclass(c, PortailForm)] == []
    # And no route builds a bare FlaskForm inline.
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "blueprints").rglob("*.py")
        if path.name != "base_form.py" and "FlaskForm" in path.read_text()
    ]
    assert offenders == []


def test_json_body_on_a_form_route_answers_415_in_french(client):
    response = client.post("/connexion", data=json.dumps({"email": [1]}), content_type="application/json")
    assert response.status_code == 415
    assert "n'accepte que l'envoi d'un formulaire" in response.get_data(as_text=True).replace("&#39;", "'")
    for content_type in ("text/plain", "application/xml", "application/octet-stream"):
        assert client.post("/connexion", data="email=a", content_type=content_type).status_code == 415


def test_form_encodings_and_empty_posts_pass_the_guard(client):
    token = csrf_token(client, "/connexion")
    data = {"email": "a@b.fr", "csrf_token": token}
    assert client.post("/connexion", data=data).status_code == 200
    assert client.post("/connexion", data=data, content_type="multipart/form-data").status_code == 200
    # No body at all: not refused as a format (CSRF then answers, as for any form without token).
    assert client.post("/connexion").status_code == 400


def test_nul_in_the_add_company_code_is_refused_beside_the_field(client):
    company = make_company("00010")
    user = make_member(company)
    db.session.commit()
    login(client, user)
    token = csrf_token(client, "/entreprises/ajouter")
    response = client.post("/entreprises/ajouter", data={"code": "000\x0020", "number": "x", "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "une seule ligne" in html and 'name="code"' in html
    assert db.session.execute(select(Membership).where(Membership.user_id == user.id)).scalars().all()[1:] == []


def test_nul_in_another_date_reason_is_refused_and_nothing_is_written(client):
    company = make_company("00010")
    user = make_member(company)
    employee = make_employee(company)
    start = (datetime.now(UTC) + timedelta(days=11)).replace(hour=9, minute=0, second=0, microsecond=0)
    visit = make_visit(employee, make_slot(start), status="proposee")
    db.session.commit()
    login(client, user)
    url = f"/entreprises/00010/planning/visites/{visit.id}/autre-date"
    token = csrf_token(client, url)
    response = client.post(url, data={"reason": "En congés\x00 cette semaine", "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "caractère de contrôle" in html
    assert "En congés" in html  # what was typed stays
    assert db.session.execute(select(AppointmentRequest)).first() is None


@pytest.fixture
def declaration(client):
    company = make_declaration_company("00010", name="Boulangerie Le Goff")
    make_tariff()
    user = make_member(company)
    db.session.commit()
    login(client, user)
    return company


@pytest.mark.parametrize("birth_date", ["9999-12-31", "0001-01-01", "1899-12-31"])
def test_out_of_range_birth_date_on_the_declaration_hire_form_is_422(client, declaration, birth_date):
    token = csrf_token(client, "/entreprises/00010/cotisation")
    data = {
        "csrf_token": token,
        "birth_name": "Oublie",
        "first_names": "Marie",
        "sex": "F",
        "birth_date": birth_date,
        "entry_date": f"{billing.today().year - 1}-09-01",
        "contract_nature": "01",
        "job_title": "Vendeuse",
        "category": "SI",
    }
    response = client.post("/entreprises/00010/cotisation/salaries", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Saisissez une date comprise entre le 01/01/1900 et le 31/12/2100." in html
    assert birth_date in html  # input kept
    assert db.session.execute(select(Employee).where(Employee.birth_name == "Oublie")).first() is None


def test_hire_and_exit_dates_out_of_range_are_422_in_mes_salaries(client):
    company = make_company("00010")
    user = make_member(company)
    db.session.commit()
    login(client, user)
    url = "/entreprises/00010/salaries/nouveau"
    token = csrf_token(client, url)
    base = {
        "csrf_token": token,
        "birth_name": "Durand",
        "first_names": "Louis",
        "sex": "M",
        "birth_date": "1990-01-01",
        "entry_date": "2026-01-05",
        "contract_nature": "01",
        "job_title": "Vendeur",
    }
    for field, value in (("birth_date", "9999-12-31"), ("entry_date", "9999-12-31"), ("entry_date", "0001-01-01")):
        response = client.post(url, data={**base, field: value})
        assert response.status_code == 422, (field, value)
        assert "01/01/1900" in response.get_data(as_text=True)
    assert db.session.execute(select(Employee)).first() is None


def test_every_field_has_a_length_limit_with_its_message(client):
    long = "é" * 10_000
    token = csrf_token(client, "/connexion/reinitialiser")
    response = client.post("/connexion/reinitialiser", data={"email": long, "csrf_token": token})
    assert response.status_code == 422
    assert "254 caractères au plus." in response.get_data(as_text=True)
    company = make_company("00010")
    user = make_member(company)
    db.session.commit()
    login(client, user)
    token = csrf_token(client, "/compte")
    response = client.post(
        "/compte", data={"csrf_token": token, "last_name": "a", "first_name": "b", "job_title": long}
    )
    assert response.status_code == 422
    assert "100" in response.get_data(as_text=True)


def test_guard_unit_rules():
    from wtforms import StringField, TextAreaField

    from blueprints.base_form import MSG_CONTROL, MSG_LINE, max_length, text_problem

    class Probe(PortailForm):
        class Meta:
            csrf = False

        line = StringField()
        text = TextAreaField()

    from werkzeug.datastructures import MultiDict

    form = Probe(formdata=MultiDict({"line": "a\tb", "text": "ligne 1\r\n\tligne 2"}), meta={"csrf": False})
    assert not form.validate()
    assert form.line.errors == [MSG_LINE]
    assert form.text.errors == []
    form = Probe(formdata=MultiDict({"line": "ok", "text": "a\x00b"}), meta={"csrf": False})
    assert not form.validate() and form.text.errors == [MSG_CONTROL] and form.text.data == "ab"
    assert max_length(form.line) == 255 and max_length(form.text) == 5000
    assert text_problem(form.line, "x" * 256) == "255 caractères au plus."
    assert text_problem(form.line, "😀 émoji") is None
    assert date(1900, 1, 1) <= date.today()


def test_a_view_or_blueprint_can_accept_other_bodies(app):
    from flask import Blueprint

    from blueprints.security import accepts_any_body, public

    application = __import__("app").create_app("testing")
    api = Blueprint("api_probe", __name__, url_prefix="/api-probe")
    api.accepts_any_body = True

    @api.post("/x")
    @public
    def api_view():
        return {"ok": True}

    @application.post("/json-probe")
    @public
    @accepts_any_body
    def json_view():
        return {"ok": True}

    application.register_blueprint(api)
    application.config["WTF_CSRF_ENABLED"] = False
    client = application.test_client()
    assert client.post("/api-probe/x", json={"a": 1}).status_code == 200
    assert client.post("/json-probe", json={"a": 1}).status_code == 200


def test_every_date_field_of_every_form_refuses_an_out_of_range_date(app):
    """Birth, hire and exit dates, slot, absence, campaign, tariff and payment dates: the guard
    applies to each DateField of each form, before any validator does date arithmetic."""
    from werkzeug.datastructures import MultiDict
    from wtforms import DateField
    from wtforms.fields.core import UnboundField

    from blueprints.base_form import MSG_DATE

    for module in pkgutil.walk_packages(blueprints.__path__, "blueprints."):
        importlib.import_module(module.name)
    checked = []
    for form_class in _all_subclasses(PortailForm):
        names = [
            n
            for n in dir(form_class)
            if isinstance(getattr(form_class, n, None), UnboundField)
            and issubclass(getattr(form_class, n).field_class, DateField)
        ]
        for name in names:
            for value in ("9999-12-31", "0001-01-01", "31/12/9999"):
                with app.test_request_context(method="POST", data={name: value}):
                    form = form_class(formdata=MultiDict({name: value}), meta={"csrf": False})
                    form[name].validate(form)  # the field alone: the route would set choices elsewhere
                    errors = form[name].errors
                    # Refused beside the field, and no out-of-range date left for any arithmetic:
                    # either the format did not parse, or the guard emptied it with its message.
                    assert errors and form[name].data is None, (form_class.__name__, name, value, errors)
                    if value == "9999-12-31" and form[name].format == ["%Y-%m-%d"]:
                        assert MSG_DATE in errors or errors == ["Date invalide."], (form_class.__name__, name, errors)
            checked.append(f"{form_class.__name__}.{name}")
    assert len(checked) >= 15, checked
