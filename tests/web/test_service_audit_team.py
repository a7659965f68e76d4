"""Back office: the audit trail (filters, pagination, CSV export), the « Équipe » screen and
the `flask staff create` command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from extensions import db
from models.audit import AuditEvent
from models.users import User
from services.auth.passwords import verify_password
from services.core import audit
from tests.conftest import count_queries, csrf_token
from tests.factories import make_company, make_staff, make_user
from tests.web.service_helpers import login_staff, staff_logged_in


def _events():
    a = make_company("00010")
    b = make_company("00020")
    alice = make_user("alice@goff.test")
    bob = make_user("bob@morvan.test")
    audit.record("employee.created", actor=alice, company=a)
    audit.record("employee.updated", actor=alice, company=a)
    audit.record("login.failed", actor_label="bob@morvan.test")
    old = audit.record("employee.created", actor=bob, company=b)
    old.created_at = datetime(2025, 1, 15, 10, tzinfo=UTC)
    db.session.flush()
    return a, b


def test_service_audit_filters(client):
    _events()
    staff_logged_in(client, role="admin")

    def rows(**params):
        html = client.get("/service/audit", query_string=params).get_data(as_text=True)
        return html.count("<tr>") - 1  # header row

    assert rows(code="00010") == 2
    assert rows(email="ALICE@goff.test") == 2
    assert rows(email="bob@morvan.test") == 2  # the failed login carries the address tried
    assert rows(action="employee.") == 3
    assert rows(action="employee.created", code="00020") == 1
    assert rows(start="2025-01-01", end="2025-01-31") == 1
    assert rows(start="2025-01-16") >= 3
    bad = client.get("/service/audit", query_string={"start": "2025-02-30"})
    assert bad.status_code == 422 and "Saisissez une date valide" in bad.get_data(as_text=True)
    reversed_range = client.get("/service/audit", query_string={"start": "2025-02-01", "end": "2025-01-01"})
    assert reversed_range.status_code == 422
    fragment = client.get("/service/audit?code=00010", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "employee.updated" in fragment


def test_service_audit_fixed_query_count_and_pagination(client):
    staff_logged_in(client, role="admin")
    company = make_company("00010")
    audit.record("x.one", company=company)
    db.session.commit()
    with count_queries() as few:
        client.get("/service/audit")
    for i in range(120):
        audit.record(f"x.{i}", actor=make_user(f"u{i}@x.test") if i % 10 == 0 else None, company=company)
    db.session.commit()
    with count_queries() as many:
        html = client.get("/service/audit").get_data(as_text=True)
    assert len(many) == len(few)
    assert "Page 1 sur 3" in html
    assert "Page 3 sur 3" in client.get("/service/audit?page=3").get_data(as_text=True)


def test_service_audit_export_csv(client):
    _events()
    audit.record("note", actor_label="=HYPERLINK(1)")
    admin = staff_logged_in(client, role="admin")
    response = client.get("/service/audit/export.csv", query_string={"code": "00010"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    lines = text.strip().split("\r\n")
    assert lines[0].startswith("date;action;utilisateur")
    assert len(lines) == 3 and all(";00010;" in line for line in lines[1:])
    everything = client.get("/service/audit/export.csv").get_data().decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in everything
    exported = db.session.execute(select(AuditEvent).where(AuditEvent.action == "audit.exported")).scalars().all()
    assert exported[0].actor_id == admin.id and exported[0].details == {"filters": {"code": "00010"}}


def test_service_team_create_change_role_deactivate(client):
    admin = staff_logged_in(client, role="admin")
    token = csrf_token(client, "/service/equipe")
    created = client.post(
        "/service/equipe",
        data={
            "csrf_token": token,
            "email": "Yann@AIST22.fr",
            "first_name": "Yann",
            "last_name": "Kerboul",
            "role": "agent",
        },
    )
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and "Mot de passe temporaire" in html
    user = db.session.execute(select(User).where(User.email == "yann@aist22.fr")).scalar_one()
    assert user.is_staff and user.staff_role == "agent" and user.must_change_password
    temporary = html.split('<code class="secret">')[1].split("</code>")[0]
    assert verify_password(user.temp_secret_hash, temporary)
    assert temporary not in str(db.session.execute(select(AuditEvent.details)).scalars().all())
    duplicate = client.post(
        "/service/equipe",
        data={"csrf_token": token, "email": "yann@aist22.fr", "first_name": "Y", "last_name": "K", "role": "agent"},
    )
    assert duplicate.status_code == 422 and "existe déjà" in duplicate.get_data(as_text=True)
    bad = client.post("/service/equipe", data={"csrf_token": token, "email": "pas-une-adresse", "role": "chef"})
    assert bad.status_code == 422
    assert (
        client.post(f"/service/equipe/{user.id}/role", data={"csrf_token": token, "role": "admin"}).status_code == 302
    )
    db.session.expire_all()
    assert db.session.get(User, user.id).staff_role == "admin"
    assert client.post(f"/service/equipe/{user.id}/desactivation", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).active is False
    # An admin cannot deactivate themselves, nor can the last admin be demoted.
    client.post(f"/service/equipe/{admin.id}/desactivation", data={"csrf_token": token})
    client.post(f"/service/equipe/{admin.id}/role", data={"csrf_token": token, "role": "agent"})
    db.session.expire_all()
    me = db.session.get(User, admin.id)
    assert me.active and me.staff_role == "admin"
    actions = set(db.session.execute(select(AuditEvent.action)).scalars())
    assert {"staff.created", "staff.role_changed", "staff.deactivated"} <= actions


def test_service_team_targets_only_staff_accounts(client):
    member = make_user("claire@goff.test")
    staff_logged_in(client, role="admin")
    token = csrf_token(client, "/service/equipe")
    assert client.post(f"/service/equipe/{member.id}/desactivation", data={"csrf_token": token}).status_code == 404
    assert client.post("/service/equipe/999999/role", data={"csrf_token": token, "role": "agent"}).status_code == 404


def test_service_deactivated_staff_is_logged_out(client):
    agent = make_staff("agent@aist22.test")
    login_staff(client, agent)
    assert client.get("/service/").status_code == 200
    from services.staff import team_and_members as staff

    admin = make_staff("admin@aist22.test", role="admin")
    staff.set_active(agent, False, actor=admin)
    db.session.commit()
    assert client.get("/service/").status_code in (302, 401)


def test_staff_create_command(runner):
    result = runner.invoke(
        args=[
            "staff",
            "create",
            "Nolwenn@AIST22.fr",
            "--role",
            "admin",
            "--first-name",
            "Nolwenn",
            "--last-name",
            "Le Gall",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.execute(select(User).where(User.email == "nolwenn@aist22.fr")).scalar_one()
    assert user.staff_role == "admin" and user.is_staff and user.must_change_password
    assert user.temp_secret_expires_at - datetime.now(UTC) > timedelta(hours=71)
    temporary = result.output.split("une seule fois) : ")[1].split()[0]
    assert verify_password(user.temp_secret_hash, temporary)
    again = runner.invoke(args=["staff", "create", "nolwenn@aist22.fr", "--role", "agent"])
    assert again.exit_code != 0 and "existe déjà" in again.output
    bad = runner.invoke(args=["staff", "create", "x@aist22.fr", "--role", "chef"])
    assert bad.exit_code != 0
    invalid = runner.invoke(args=["staff", "create", "pas-une-adresse", "--role", "agent"])
    assert invalid.exit_code != 0
