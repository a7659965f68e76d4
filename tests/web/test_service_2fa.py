"""Staff second factor: enrolment with a QR code, verification, replay refused, recovery
codes single use, failure limits, secret encrypted at rest."""

from __future__ import annotations

import re
import time

import pyotp
from sqlalchemy import select

from extensions import db
from models.audit import AuditEvent
from models.staff import StaffRecoveryCode
from models.users import LoginSession
from services.auth import totp
from tests.conftest import csrf_token
from tests.factories import enrol_totp, make_staff
from tests.web.service_helpers import login_staff


def _session_row():
    db.session.expire_all()
    return db.session.execute(select(LoginSession)).scalar_one()


def _enrol(client):
    page = client.get("/service/2fa")
    assert page.status_code == 200 and "Commencer" in page.get_data(as_text=True)
    token = csrf_token(client, "/service/2fa")
    assert client.post("/service/2fa/enrolement", data={"csrf_token": token}).status_code == 302
    html = client.get("/service/2fa").get_data(as_text=True)
    secret = re.search(r"data-totp-secret>([A-Z2-7 ]+)<", html).group(1).replace(" ", "")
    return html, secret, token


def test_service_2fa_enrolment_shows_qr_and_secret_then_recovery_codes(client):
    user = make_staff("agent@aist22.test")
    login_staff(client, user, second_factor=False)
    assert client.get("/service/").headers["Location"].startswith("/service/2fa")
    html, secret, token = _enrol(client)
    assert 'src="data:image/svg+xml;base64,' in html
    assert "<script" not in html.split("</head>")[1]
    db.session.expire_all()
    stored = db.session.get(type(user), user.id).totp_secret_encrypted
    assert secret not in stored and totp.decrypt_secret(stored) == secret
    # A wrong first code keeps the form (422) and does not enable anything.
    bad = client.post("/service/2fa/confirmation", data={"csrf_token": token, "code": "000000"})
    assert bad.status_code == 422 and "Code incorrect" in bad.get_data(as_text=True)
    done = client.post("/service/2fa/confirmation", data={"csrf_token": token, "code": pyotp.TOTP(secret).now()})
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and "Vos codes de secours" in body
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", body)
    assert len(codes) == 10
    assert db.session.execute(select(StaffRecoveryCode)).scalars().all()[0].code_hash not in body
    assert _session_row().second_factor_at is not None
    assert client.get("/service/").status_code == 200
    actions = set(db.session.execute(select(AuditEvent.action)).scalars())
    assert {"staff.2fa.enrolment_started", "staff.2fa.enabled"} <= actions


def test_service_2fa_verification_and_replay_refused(client):
    user = make_staff("agent@aist22.test")
    secret = enrol_totp(user)
    login_staff(client, user, second_factor=False)
    page = client.get("/service/2fa?next=/service/adherents")
    assert "Code de vérification" in page.get_data(as_text=True)
    token = csrf_token(client, "/service/2fa")
    code = pyotp.TOTP(secret).now()
    ok = client.post("/service/2fa", data={"csrf_token": token, "code": code, "next": "/service/adherents"})
    assert ok.status_code == 303 and ok.headers["Location"] == "/service/adherents"
    assert _session_row().second_factor_at is not None
    # The same code on a new session is refused: its time-step was used.
    login_staff(client, user, second_factor=False)
    token = csrf_token(client, "/service/2fa")
    replay = client.post("/service/2fa", data={"csrf_token": token, "code": code})
    assert replay.status_code == 422 and "déjà utilisé" in replay.get_data(as_text=True)
    assert client.get("/service/").status_code == 303


def test_service_2fa_rejects_open_redirect_next(client):
    user = make_staff("agent@aist22.test")
    secret = enrol_totp(user)
    login_staff(client, user, second_factor=False)
    token = csrf_token(client, "/service/2fa")
    response = client.post(
        "/service/2fa", data={"csrf_token": token, "code": pyotp.TOTP(secret).now(), "next": "//evil.example/"}
    )
    assert response.headers["Location"] == "/service/"


def test_service_2fa_previous_step_accepted_within_window(app):
    user = make_staff("agent@aist22.test")
    secret = enrol_totp(user)
    now = time.time()
    previous = pyotp.TOTP(secret).at(now - 30)
    assert totp._accept_totp(user, secret, previous, now=now)
    assert not totp._accept_totp(user, secret, previous, now=now)  # replay
    assert not totp._accept_totp(user, secret, pyotp.TOTP(secret).at(now - 120), now=now)


def test_service_2fa_recovery_code_works_once(client):
    user = make_staff("agent@aist22.test")
    enrol_totp(user)
    codes = totp.regenerate_recovery_codes(user)
    db.session.commit()
    login_staff(client, user, second_factor=False)
    token = csrf_token(client, "/service/2fa")
    used = client.post("/service/2fa", data={"csrf_token": token, "code": codes[0].upper()})
    assert used.status_code == 303
    assert "Il vous en reste 9" in client.get("/service/").get_data(as_text=True)
    login_staff(client, user, second_factor=False)
    token = csrf_token(client, "/service/2fa")
    again = client.post("/service/2fa", data={"csrf_token": token, "code": codes[0]})
    assert again.status_code == 422
    rows = db.session.execute(select(StaffRecoveryCode)).scalars().all()
    assert all(codes[0] not in (r.code_hash) for r in rows)


def test_service_2fa_failures_are_limited(client):
    user = make_staff("agent@aist22.test")
    secret = enrol_totp(user)
    login_staff(client, user, second_factor=False)
    token = csrf_token(client, "/service/2fa")
    statuses = [client.post("/service/2fa", data={"csrf_token": token, "code": "123456"}).status_code for _ in range(5)]
    assert statuses[-1] == 429
    locked = client.post("/service/2fa", data={"csrf_token": token, "code": pyotp.TOTP(secret).now()})
    assert locked.status_code == 429 and "Trop de tentatives" in locked.get_data(as_text=True)
    assert _session_row().second_factor_at is None


def test_service_2fa_bad_input_answers_422(client):
    user = make_staff("agent@aist22.test")
    enrol_totp(user)
    login_staff(client, user, second_factor=False)
    token = csrf_token(client, "/service/2fa")
    for value in ("", "x" * 500, "12\r\n34", "<script>"):
        response = client.post("/service/2fa", data={"csrf_token": token, "code": value})
        assert response.status_code in (422, 429), value


def test_service_2fa_secret_uses_configured_key(app):
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    app.config["TOTP_ENCRYPTION_KEY"] = key
    try:
        token = totp.encrypt_secret("JBSWY3DPEHPK3PXP")
        assert Fernet(key).decrypt(token.encode()) == b"JBSWY3DPEHPK3PXP"
    finally:
        app.config.pop("TOTP_ENCRYPTION_KEY")
    assert totp.decrypt_secret(token) is None  # another key cannot read it


def test_service_2fa_admin_reset(client):
    admin = make_staff("admin@aist22.test", role="admin")
    agent = make_staff("agent@aist22.test")
    enrol_totp(agent)
    login_staff(client, admin)
    token = csrf_token(client, "/service/equipe")
    assert client.post(f"/service/equipe/{agent.id}/2fa", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(type(agent), agent.id).totp_enabled_at is None
