"""`flask outbox run [--once] [--interval S]`: the worker that delivers the mail outbox."""

from __future__ import annotations

import signal

import click
from flask import current_app
from flask.cli import AppGroup

from services.core.outbox import default_worker_id, run_worker

outbox = AppGroup("outbox", help="Boîte d'envoi des courriels.")


@outbox.command("run")
@click.option("--once", is_flag=True, help="Envoie ce qui est en attente puis s'arrête.")
@click.option(
    "--interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Pause (s) quand rien n'est à envoyer.",
)
@click.option(
    "--batch", default=100, show_default=True, type=click.IntRange(min=1, max=1000), help="Messages pris par tour."
)
def run_command(once: bool, interval: float, batch: int) -> None:
    """Deliver pending messages, retrying failures with a growing delay."""
    stopping = {"flag": False}

    def _stop(_signum, _frame):
        stopping["flag"] = True

    # SIGTERM (Procfile/systemd stop) ends the loop after the current batch, never mid-message.
    signal.signal(signal.SIGTERM, _stop)
    worker_id = default_worker_id()
    transport = current_app.config.get("MAIL_TRANSPORT", "smtp")
    click.echo(f"Outbox worker {worker_id} ({transport}) started.", err=True)
    try:
        total = run_worker(
            once=once, interval=interval, limit=batch, worker_id=worker_id, stop=lambda: stopping["flag"]
        )
    except KeyboardInterrupt:
        click.echo("Outbox worker stopped.", err=True)
        return
    click.echo(f"Envoyés : {total.sent}, à réessayer : {total.retried}, en échec définitif : {total.failed}.", err=True)
