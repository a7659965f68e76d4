"""Back-office convocation list: who is due, across every member, and calling them in."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from blueprints.htmx import hx_redirect, render
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.forms import iso_date, small_int
from blueprints.service.operations import ActionForm
from extensions import db
from models.base import utcnow
from services.employees.next_due import today as paris_today
from services.planning.common import PARIS
from services.staff import convocations as svc


def _filters(args) -> tuple[svc.Filters, dict, dict]:
    """Filters from the query string, the values to keep in links, and the errors (French)."""
    errors = {}
    group = args.get("type", "")
    if group not in svc.GROUPS:
        group = ""
    due_from, due_to = iso_date(args.get("du")), iso_date(args.get("au"))
    if args.get("du") and due_from is None:
        errors["du"] = "Saisissez une date valide (jj/mm/aaaa)."
    if args.get("au") and due_to is None:
        errors["au"] = "Saisissez une date valide (jj/mm/aaaa)."
    if due_from and due_to and due_to < due_from:
        errors["au"] = "La date de fin précède la date de début."
        due_to = None
    code = "".join(c for c in args.get("adherent", "") if c.isdigit() or c == "-")[:9]
    page = small_int(args.get("page")) or 1
    filters = svc.Filters(group, due_from, due_to, small_int(args.get("centre")), code, page)
    params = {
        "type": group,
        "du": due_from.isoformat() if due_from else "",
        "au": due_to.isoformat() if due_to else "",
        "centre": filters.centre_id or "",
        "adherent": code,
    }
    return filters, {k: v for k, v in params.items() if v}, errors


def _page(*, status: int = 200, errors: dict | None = None, selected=(), form_values=None, fragment=True):
    filters, params, filter_errors = _filters(request.args)
    today = paris_today()
    results = svc.due_list(filters, today, svc.department_of(filters.centre_id))
    return render(
        "service/convocations/list.html",
        "service/convocations/_results.html" if fragment else None,
        status=status if not filter_errors else 422,
        results=results,
        filters=filters,
        params=params,
        filter_errors=filter_errors,
        errors=errors or {},
        groups=svc.GROUPS,
        centres=svc.centre_choices(),
        selected={int(s) for s in selected if str(s).isdigit()},
        form=ActionForm(formdata=None),
        values=form_values or {"a_partir_du": (today + timedelta(days=1)).isoformat()},
        today=today,
        endpoint="service.convocations",
        cap=svc.COUNT_CAP,
    )


@bp.get("/convocations")
@staff_required()
def convocations():
    """Employees whose next visit is due or late, by due date, across every member."""
    return _page()


@bp.post("/convocations")
@staff_required()
def convocations_send():
    """Propose the next free slots of a centre to the employers of the checked employees, or
    convoke them directly. All or nothing."""
    form = ActionForm()
    selected = request.form.getlist("salarie")
    values = {
        "centre_creneaux": request.form.get("centre_creneaux", ""),
        "a_partir_du": request.form.get("a_partir_du", ""),
    }
    if not form.validate_on_submit():
        return _page(
            status=400,
            errors={"salarie": "La page a expiré : rechargez-la et recommencez."},
            selected=selected,
            form_values=values,
        )
    mode = request.form.get("action")
    if mode not in ("proposer", "convoquer"):
        return _page(
            status=422,
            errors={"salarie": "Choisissez « Proposer » ou « Convoquer »."},
            selected=selected,
            form_values=values,
        )
    first_day = iso_date(values["a_partir_du"])
    if first_day is None:
        return _page(
            status=422,
            errors={"a_partir_du": "Saisissez une date valide (jj/mm/aaaa)."},
            selected=selected,
            form_values=values,
        )
    now = utcnow()
    ids = [int(s) for s in selected if s.isdigit() and len(s) < 10]
    try:
        placements = svc.plan(ids, small_int(values["centre_creneaux"]), first_day, now)
        visits = svc.convoke(placements, propose=mode == "proposer", actor=current_user, now=now)
        db.session.commit()
    except svc.ConvocationError as exc:
        db.session.rollback()
        field = {"centre": "centre_creneaux"}.get(exc.field, exc.field or "salarie")
        return _page(status=422, errors={field: str(exc)}, selected=selected, form_values=values)
    except IntegrityError:
        db.session.rollback()
        return _page(
            status=409,
            errors={"salarie": "Un des créneaux vient d'être pris : recommencez."},
            selected=selected,
            form_values=values,
        )
    verb = "Créneaux proposés aux employeurs" if mode == "proposer" else "Salariés convoqués"
    details = ", ".join(
        f"{v.employee.display_name} le {v.starts_at.astimezone(PARIS):%d/%m/%Y à %H:%M}" for v in visits
    )
    flash(f"{verb} : {details}.", "success")
    return hx_redirect(url_for("service.convocations", **request.args))
