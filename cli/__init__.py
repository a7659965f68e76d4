"""Command-line groups of the portal (`flask --app app <group> ...`)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach every CLI group to the app."""
    from cli.adherents import adherents
    from cli.billing import billing_cli
    from cli.demo import demo
    from cli.follow_up import follow_up_cli
    from cli.outbox import outbox
    from cli.reminders import reminders_cli
    from cli.slots import slots_cli
    from cli.staff import staff_cli

    app.cli.add_command(adherents)
    app.cli.add_command(outbox)
    app.cli.add_command(demo)
    app.cli.add_command(staff_cli)
    app.cli.add_command(billing_cli)
    app.cli.add_command(slots_cli)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(follow_up_cli)
