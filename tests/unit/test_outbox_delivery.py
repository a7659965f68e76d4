"""Outbox delivery: real SMTP, SMTP down then back, retries and give-up, expired leases, two workers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from extensions import db
from models.base import utcnow
from models.outbox import STATUS_FAILED, STATUS_PENDING, STATUS_SENDING, STATUS_SENT, OutboxMessage
from services.core.outbox import backoff_delay, deliver_pending, queue_mail
from tests.conftest import free_port


def add_message(n: int = 0, **fields) -> OutboxMessage:
    message = OutboxMessage(
        sender="noreply@aist22.fr",
        recipients=fields.pop("recipients", [f"dest{n}@exemple.fr"]),
        subject=fields.pop("subject", f"Message {n}"),
        body_text=fields.pop("body_text", f"Bonjour, message {n}.\nhttp://portail.test/"),
        **fields,
    )
    db.session.add(message)
    return message


def statuses() -> dict[str, int]:
    db.session.expire_all()
    return dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())


@pytest.fixture
def smtp_down(app):
    """Point Flask-Mail at a port where nothing listens."""
    state = app.extensions["mail"]
    old = state.port
    state.port = free_port()
    yield
    state.port = old


def test_delivers_text_html_and_attachments_over_real_smtp(smtp_server):
    message = add_message(
        1,
        subject="Votre attestation de suivi",
        body_html="<p>Bonjour, <strong>message 1</strong>.</p>",
        reply_to="rendez-vous@aist22.fr",
        attachments=[{"filename": "attestation é.pdf", "content_type": "application/pdf", "data_b64": "JVBERi0xLjQK"}],
    )
    db.session.commit()
    report = deliver_pending()
    assert (report.claimed, report.sent) == (1, 1)
    [received] = smtp_server.wait_for(1)
    mail = received["message"]
    assert received["to"] == ["dest1@exemple.fr"]
    assert mail["Subject"] == "Votre attestation de suivi"
    assert mail["Reply-To"] == "rendez-vous@aist22.fr"
    assert mail["Message-ID"].startswith(f"<outbox.{message.id}.")
    assert "message 1" in mail.get_body(preferencelist=("plain",)).get_content()
    assert "<strong>message 1</strong>" in mail.get_body(preferencelist=("html",)).get_content()
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "attestation é.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == b"%PDF-1.4\n"
    db.session.refresh(message)
    assert message.status == STATUS_SENT and message.sent_at is not None and message.locked_by is None
    # Nothing left: a second run sends nothing again.
    assert deliver_pending().claimed == 0
    assert len(smtp_server.messages) == 1


def test_queue_mail_then_deliver(smtp_server):
    queue_mail("gerant@boulangerie-legoff.fr", "Bienvenue", "demo_welcome", first_name="Maëlle", code="00010")
    db.session.commit()
    assert deliver_pending().sent == 1
    [received] = smtp_server.wait_for(1)
    body = received["message"].get_body(preferencelist=("plain",)).get_content()
    assert "Bonjour Maëlle" in body and "http://portail.test/" in body


def test_smtp_down_keeps_messages_queued_then_delivers_when_back(app, smtp_server):
    for n in range(3):
        add_message(n)
    db.session.commit()
    state = app.extensions["mail"]
    state.port = free_port()  # the server is "down"
    try:
        report = deliver_pending()
    finally:
        state.port = smtp_server.port
    assert (report.claimed, report.retried, report.sent) == (3, 3, 0)
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert all(m.status == STATUS_PENDING and m.attempts == 1 and m.last_error for m in rows)
    assert all(m.next_attempt_at > utcnow() + timedelta(seconds=20) for m in rows)
    assert all(m.locked_by is None for m in rows)
    # Not due yet: nothing is retried before the delay.
    assert deliver_pending().claimed == 0
    assert smtp_server.messages == []

    # The server is back; pretend the delay has passed.
    db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    report = deliver_pending()
    assert report.sent == 3
    assert len(smtp_server.wait_for(3)) == 3
    assert statuses() == {STATUS_SENT: 3}
    assert all(m.last_error is None for m in db.session.scalars(select(OutboxMessage)))


def test_gives_up_after_max_attempts(app, smtp_down):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    try:
        message = add_message(1, attempts=2)
        db.session.commit()
        report = deliver_pending()
    finally:
        app.config["OUTBOX_MAX_ATTEMPTS"] = 12
    assert report.failed == 1
    db.session.refresh(message)
    assert message.status == STATUS_FAILED and message.attempts == 3
    assert "Error" in message.last_error or "refused" in message.last_error.lower()


def test_backoff_grows_and_is_capped():
    assert [backoff_delay(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_delay(20) == 3600


def test_expired_lease_is_retaken_but_a_live_one_is_not(smtp_server):
    crashed = add_message(
        1, status=STATUS_SENDING, locked_by="dead-worker", locked_until=utcnow() - timedelta(seconds=5)
    )
    busy = add_message(2, status=STATUS_SENDING, locked_by="live-worker", locked_until=utcnow() + timedelta(minutes=4))
    db.session.commit()
    report = deliver_pending(worker_id="me")
    assert (report.claimed, report.sent) == (1, 1)
    db.session.expire_all()
    assert db.session.get(OutboxMessage, crashed.id).status == STATUS_SENT
    assert db.session.get(OutboxMessage, busy.id).status == STATUS_SENDING
    assert [m["message"]["Subject"] for m in smtp_server.wait_for(1)] == ["Message 1"]


def test_console_transport_prints(app, capsys):
    app.config["MAIL_TRANSPORT"] = "console"
    try:
        add_message(7, subject="Code de connexion")
        db.session.commit()
        assert deliver_pending().sent == 1
    finally:
        app.config["MAIL_TRANSPORT"] = "smtp"
    out = capsys.readouterr().out
    assert "Objet : Code de connexion" in out and "dest7@exemple.fr" in out


def test_outbox_run_once_command(runner, smtp_server):
    for n in range(5):
        add_message(n)
    db.session.commit()
    result = runner.invoke(args=["outbox", "run", "--once", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "Envoyés : 5" in result.output
    assert len(smtp_server.wait_for(5)) == 5


@pytest.mark.slow
def test_two_workers_deliver_a_thousand_messages_exactly_once(app, smtp_server):
    db.session.add_all(
        OutboxMessage(
            sender="noreply@aist22.fr", recipients=[f"dest{n}@exemple.fr"], subject=f"Message {n}", body_text=str(n)
        )
        for n in range(1000)
    )
    db.session.commit()
    sent = {}
    errors = []
    start = threading.Barrier(2)

    def worker(name):
        try:
            with app.app_context():
                start.wait()
                total = 0
                while True:
                    report = deliver_pending(limit=25, worker_id=name)
                    total += report.sent
                    assert report.retried == report.failed == 0, report
                    if report.claimed == 0:
                        break
                sent[name] = total
        except Exception as exc:  # reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"worker-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sum(sent.values()) == 1000
    assert all(count > 0 for count in sent.values()), sent  # both workers took part
    subjects = [m["message"]["Subject"] for m in smtp_server.wait_for(1000, timeout=30)]
    assert len(subjects) == 1000
    assert len(set(subjects)) == 1000  # exactly once each
    assert statuses() == {STATUS_SENT: 1000}


def test_batch_is_given_back_when_the_lease_runs_short(monkeypatch, smtp_server):
    import services.core.outbox as outbox

    for n in range(2):
        add_message(n)
    db.session.commit()
    monkeypatch.setattr(outbox, "LEASE_MARGIN_SECONDS", outbox.LEASE_SECONDS + 1)
    report = deliver_pending()
    assert (report.claimed, report.sent, report.released) == (2, 0, 2)
    assert statuses() == {STATUS_PENDING: 2}
    assert smtp_server.messages == []
