"""« Intégrations »: the API clients of the service's business software (admins only), their
tokens shown once, revocation, last use, and the webhook deliveries with their status."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from blueprints.base_form import PortailForm
from blueprints.employees.forms import MultiCheckboxField, choices
from blueprints.htmx import render
from blueprints.login_session import client_ip
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.forms import ActionForm, single_line
from extensions import db
from models.integration import SCOPES, WEBHOOK_EVENTS
from services.integration import clients as api_clients


class IntegrationClientForm(PortailForm):
    name = StringField(
        "Nom du logiciel",
        validators=[
            DataRequired("Indiquez le nom du logiciel."),
            Length(max=120, message="120 caractères au plus."),
            single_line,
        ],
    )
    scopes = MultiCheckboxField(
        "Droits du client",
        choices=choices(SCOPES.items()),
        validators=[DataRequired("Cochez au moins un droit.")],
    )


def _page(form=None, status=200, **extra):
    return render(
        "service/integrations.html",
        status=status,
        clients=api_clients.list_clients(),
        deliveries=api_clients.recent_deliveries(),
        form=form or IntegrationClientForm(),
        action_form=ActionForm(),
        scopes=SCOPES,
        events=WEBHOOK_EVENTS,
        **extra,
    )


@bp.get("/integrations")
@staff_required(role="admin")
def integrations():
    """List the API clients and the latest webhook deliveries."""
    return _page()


@bp.post("/integrations")
@staff_required(role="admin")
def integrations_create():
    """Create a client; its token and webhook secret are shown once, here."""
    form = IntegrationClientForm()
    if form.validate_on_submit():
        try:
            new = api_clients.create_client(form.name.data, form.scopes.data, current_user, ip=client_ip())
        except api_clients.ClientError as exc:
            db.session.rollback()
            getattr(form, exc.field or "name").errors = [str(exc)]
        else:
            db.session.commit()
            return _page(IntegrationClientForm(formdata=None), created=new)
    return _page(form, status=422)


@bp.post("/integrations/<int:client_id>/revocation")
@staff_required(role="admin")
def integrations_revoke(client_id: int):
    """Revoke a client: its token stops working at the next call."""
    form = ActionForm()
    client = api_clients.get_client(client_id)
    if client is None:
        abort(404)
    if form.validate_on_submit():
        try:
            api_clients.revoke_client(client, current_user, ip=client_ip())
        except api_clients.ClientError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"Client « {client.name} » révoqué : son jeton ne fonctionne plus.", "success")
    return redirect(url_for("service.integrations"))
