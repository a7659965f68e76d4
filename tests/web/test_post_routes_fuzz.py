"""Property test (hypothesis): every POST route of the URL map, as anonymous, employer,
accountant and staff, with odd inputs (JSON and other content types, NUL and control
characters, 10,000-character strings, emoji, CR/LF, wrong types, missing and duplicated fields,
extreme dates and numbers, huge ids) never answers 5xx. A failure names the route and the input.

The posted fields are the names of every field of every form (a plausible value each, so that
most of a form is valid and the odd values reach the deep validators and the services), some
replaced, dropped or duplicated. CSRF is switched off here so that the inputs reach the forms;
CSRF itself is tested elsewhere. FUZZ_EXAMPLES (default 4) sets the examples per route and role.
The same runs over every GET page with odd query-string arguments (role drawn among the four).
"""

from __future__ import annotations

import importlib
import io
import json
import os
import pkgutil
from datetime import UTC, datetime, timedelta

import pytest
from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    FileField,
    IntegerField,
    PasswordField,
    SelectFieldBase,
    TextAreaField,
    TimeField,
)
from wtforms.fields.core import UnboundField

import blueprints
from blueprints.base_form import PortailForm
from extensions import db
from models.companies import ROLE_ACCOUNTANT
from tests.conftest import login
from tests.factories import (
    make_company,
    make_employee,
    make_member,
    make_membership,
    make_slot,
    make_tariff,
    make_visit,
)
from tests.web.service_helpers import login_staff

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
ROLES = ("anonymous", "employer", "accountant", "staff")
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _plausible(field_class, kwargs) -> list:
    if issubclass(field_class, FileField):
        return []
    if issubclass(field_class, DateField):
        return ["2026-03-02"]
    if issubclass(field_class, DateTimeField):
        return ["2026-03-02T09:00"]
    if issubclass(field_class, TimeField):
        return ["09:00"]
    if issubclass(field_class, IntegerField):
        return ["3"]
    if issubclass(field_class, DecimalField):
        return ["12.50"]
    if issubclass(field_class, BooleanField):
        return ["y"]
    if issubclass(field_class, EmailField):
        return ["claire.martin@example.test"]
    if issubclass(field_class, PasswordField):
        return ["Correct horse battery staple 42"]
    if issubclass(field_class, TextAreaField):
        return ["Quelques mots de texte"]
    if issubclass(field_class, SelectFieldBase):
        choices = kwargs.get("choices")
        if isinstance(choices, (list, tuple)):
            values = [c[0] if isinstance(c, (list, tuple)) else getattr(c, "value", c) for c in choices]
            values = [str(v) for v in values if str(v)]
            if values:
                return values[:1]
        return ["1"]
    return ["Durand"]


def _known_fields() -> dict[str, list]:
    """Every field name of every form, with a plausible value (the last form declaring it wins)."""
    for module in pkgutil.walk_packages(blueprints.__path__, "blueprints."):
        importlib.import_module(module.name)
    fields: dict[str, list] = {}
    files: set[str] = set()
    for form in _subclasses(PortailForm):
        for name in dir(form):
            attr = getattr(form, name, None)
            if isinstance(attr, UnboundField):
                if issubclass(attr.field_class, FileField):
                    files.add(name)
                else:
                    fields[name] = _plausible(attr.field_class, attr.kwargs)
    return fields, sorted(files)


KNOWN_FIELDS, FILE_FIELDS = _known_fields()

ODD_TEXT = st.one_of(
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "\x01\x02\x1b[31m",
            "x" * 10_000,
            "9" * 10_000,
            "😀🏳️‍🌈" * 20,
            "a\r\nBcc: x@evil.test",
            "\r\n",
            "",
            " ",
            "9999-12-31",
            "0001-01-01",
            "2026-02-30",
            "31/12/9999",
            "9999-12-31T23:59",
            "-1",
            "0",
            "1e999",
            "NaN",
            "Infinity",
            "-99999999999999999999999",
            "99999999999999999999",
            "12,5",
            "[1]",
            "{}",
            "true",
            "null",
            "%00",
            "' OR 1=1 --",
            "<script>alert(1)</script>",
            "\ud7ff\ufffe\uffff",
        ]
    ),
    st.text(max_size=40),
)


@st.composite
def bodies(draw):
    """(description, kwargs for client.post)."""
    kind = draw(st.sampled_from(["form", "form", "form", "multipart", "json", "other", "empty"]))
    data = MultiDict()
    names = list(KNOWN_FIELDS)
    odd = set(draw(st.lists(st.sampled_from(names), min_size=1, max_size=6)))
    dropped = set(draw(st.lists(st.sampled_from(names), max_size=6)))
    duplicated = set(draw(st.lists(st.sampled_from(names), max_size=3)))
    for name in names:
        if name in dropped:
            continue
        values = [draw(ODD_TEXT)] if name in odd else KNOWN_FIELDS[name]
        for value in values:
            data.add(name, value)
        if name in duplicated:
            data.add(name, draw(ODD_TEXT))
    if kind == "json":
        payload = draw(
            st.one_of(
                st.just({k: [1] for k in names[:20]}),
                st.just({k: {"a": None} for k in names[:20]}),
                st.just(dict(data.items())),
                st.just([1, 2]),
                st.just("texte"),
            )
        )
        return "json", {"data": json.dumps(payload), "content_type": "application/json"}
    if kind == "other":
        content_type = draw(st.sampled_from(["text/plain", "application/xml", "application/octet-stream", "x/y"]))
        return content_type, {"data": "email=a@b.fr&code=00010", "content_type": content_type}
    if kind == "empty":
        return "empty", {}
    if kind == "multipart":
        for name in draw(st.lists(st.sampled_from(FILE_FIELDS or ["fichier"]), max_size=2)):
            content = draw(st.sampled_from([b"", b"\x00\xff\xfe", b"nom;prenom\nDurand;Louis\n", b"%PDF-1.4"]))
            filename = draw(st.sampled_from(["a.csv", "a.pdf", "\x00.csv", "x" * 300 + ".csv", ""]))
            data.add(name, (io.BytesIO(content), filename))
        return "multipart", {"data": data, "content_type": "multipart/form-data"}
    return "form", {"data": data}


@pytest.fixture
def world(client):
    """Company 00010 with an employee, a proposed visit, an open slot, a tariff, and a user of each
    role (ids used to fill the URL converters)."""
    company = make_company("00010", name="Boulangerie Le Goff")
    employer = make_member(company, email="gerante@legoff.test")
    accountant = make_member(company, role=ROLE_ACCOUNTANT, email="compta@cabinet.test")
    from tests.factories import make_staff

    staff = make_staff("admin@aist22.test", role="admin")
    employee = make_employee(company)
    start = (datetime.now(UTC) + timedelta(days=12)).replace(hour=9, minute=0, second=0, microsecond=0)
    visit = make_visit(employee, make_slot(start), status="proposee")
    slot = make_slot(start + timedelta(days=1))
    tariff = make_tariff()
    membership = make_membership(make_member(make_company(), email="autre@legoff.test"), company)
    db.session.commit()
    ids = {
        "employee_id": employee.id,
        "visit_id": visit.id,
        "slot_id": slot.id,
        "user_id": staff.id,
        "membership_id": membership.id,
        "year": getattr(tariff, "year", 2026),
    }
    users = {"employer": employer, "accountant": accountant, "staff": staff}
    return ids, users


def _post_rules():
    from app import create_app

    app = create_app("testing")
    return sorted((rule.endpoint, rule.rule) for rule in app.url_map.iter_rules() if "POST" in rule.methods)


POST_RULES = _post_rules()


def _path(rule: str, endpoint: str, ids: dict, draw) -> str:
    from flask import url_for
    from werkzeug.routing import IntegerConverter

    rule_obj = next(r for r in current_app.url_map.iter_rules(endpoint) if r.rule == rule)
    values = {}
    for arg in sorted(rule_obj.arguments):
        if isinstance(rule_obj._converters[arg], IntegerConverter):
            values[arg] = draw(st.sampled_from([ids.get(arg, 1), ids.get(arg, 1), 1, 999_999, 2**31, 2**63 + 7]))
        elif arg == "code":
            values[arg] = draw(st.sampled_from(["00010", "00010", "99999", "x"]))
        else:
            values[arg] = draw(st.sampled_from(["x", "a" * 300, "token-inconnu", "\x00"]))
    with current_app.test_request_context():
        return url_for(endpoint, **values)


def _log_in_as(client, users: dict, role: str) -> None:
    if role == "staff":
        login_staff(client, users["staff"])  # second factor done
    elif role != "anonymous":
        login(client, users[role])
    else:
        with client.session_transaction() as flask_session:
            flask_session.clear()


@pytest.fixture
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False
    yield
    app.config["WTF_CSRF_ENABLED"] = True


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "rule"), POST_RULES, ids=[e for e, _ in POST_RULES])
@FUZZ_SETTINGS
@given(data=st.data())
def test_no_post_input_answers_5xx(client, world, no_csrf, role, endpoint, rule, data):
    ids, users = world
    _log_in_as(client, users, role)
    path = _path(rule, endpoint, ids, data.draw)
    kind, kwargs = data.draw(bodies())
    headers = data.draw(st.sampled_from([{}, {"HX-Request": "true"}]))
    shown = {k: (v if k != "data" else _shorten(v)) for k, v in kwargs.items()}
    try:
        response = client.post(path, headers=headers, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported with the route and the input
        pytest.fail(f"{role} POST {path} ({kind}) raised {exc!r} with {shown}")
    assert response.status_code < 500, f"{role} POST {path} ({kind}) -> {response.status_code} with {shown}"


def _shorten(data):
    items = data.items(multi=True) if isinstance(data, MultiDict) else [("body", data)]
    out = []
    for key, value in items:
        if isinstance(data, MultiDict) and data.getlist(key) == KNOWN_FIELDS.get(key):
            continue  # the plausible value: not shown
        if isinstance(value, tuple):
            value = f"<file {value[1][:40]!r}>"
        elif isinstance(value, str) and len(value) > 60:
            value = f"{value[:30]!r}...({len(value)} chars)"
        else:
            value = repr(value)
        out.append(f"{key}={value}")
    return ", ".join(out) + " (other fields: their plausible value)"


QUERY_NAMES = [
    "a_prevoir",
    "adherent",
    "ajout",
    "annee",
    "apres",
    "au",
    "centre",
    "code",
    "contact",
    "corriger",
    "depuis",
    "du",
    "motif",
    "next",
    "objet",
    "ordre",
    "page",
    "page_nd",
    "professionnel",
    "q",
    "salarie",
    "semaine",
    "site",
    "statut",
    "sujet",
    "tri",
    "type",
    "vue",
    "format",
]
ODD_QUERY = st.one_of(
    ODD_TEXT.filter(lambda v: len(v) < 3000),
    st.sampled_from(["9999-W52", "0001-W01", "2026-W99", "9999-12-31T23:59:59", "2026-13-01", "-5", "0", "10" * 30]),
)


def _get_rules():
    from app import create_app

    app = create_app("testing")
    return sorted(
        (rule.endpoint, rule.rule)
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint != "static" and not rule.endpoint.startswith("devmail.")
    )


GET_RULES = _get_rules()


@pytest.mark.slow
@pytest.mark.parametrize(("endpoint", "rule"), GET_RULES, ids=[e for e, _ in GET_RULES])
@FUZZ_SETTINGS
@given(data=st.data())
def test_no_query_string_answers_5xx(client, world, endpoint, rule, data):
    """The same for every GET page and its query-string arguments (filters, pages, weeks, dates),
    the role drawn among the four."""
    from urllib.parse import urlencode

    role = data.draw(st.sampled_from(ROLES))
    ids, users = world
    _log_in_as(client, users, role)
    path = _path(rule, endpoint, ids, data.draw)
    names = data.draw(st.lists(st.sampled_from(QUERY_NAMES), min_size=1, max_size=5))
    query = [(name, data.draw(ODD_QUERY)) for name in names]
    url = f"{path}?{urlencode(query)}"
    try:
        response = client.get(url, headers=data.draw(st.sampled_from([{}, {"HX-Request": "true"}])))
    except Exception as exc:  # noqa: BLE001 - reported with the route and the input
        pytest.fail(f"{role} GET {url[:300]} raised {exc!r}")
    assert response.status_code < 500, f"{role} GET {url[:500]} -> {response.status_code}"
