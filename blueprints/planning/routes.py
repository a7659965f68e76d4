"""Mon planning routes: every page is company-scoped and needs the `planning` right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app, flash, make_response, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from blueprints.errors import render_error
from blueprints.htmx import hx_redirect, render, wants_fragment
from blueprints.navigation import page_arg
from blueprints.planning import bp
from blueprints.planning.forms import AnotherDateForm, BookSlotForm, RequestForm, choices
from blueprints.scoping import company_view
from blueprints.security import public
from extensions import db
from models.base import utcnow
from models.planning import VISIT_TYPES
from services import scope
from services.core import audit
from services.core.input_limits import parse_iso_date
from services.employees import follow_up_law
from services.planning import appointment_requests, booking, common, reading
from services.planning import calendar_feed as feeds
from services.planning.convocation import build_convocation_pdf, build_visit_ics, file_stem
from services.staff import visit_changes

PREFIX = "/entreprises/<code>/planning"
LIST_PAGE_SIZE = 10  # a card is ~1.6 KB and ~0.06 ms to render; the pager and `?du=` go on
WEEK_DAY_LIMIT = 8


def _service() -> dict:
    cfg = current_app.config
    return {
        "name": cfg["SERVICE_NAME"],
        "short_name": cfg["SERVICE_SHORT_NAME"],
        "address": cfg["SERVICE_ADDRESS"],
        "phone": cfg["SERVICE_PHONE"],
        "planning_email": cfg["SERVICE_PLANNING_EMAIL"],
        "domain": cfg["SERVICE_DOMAIN"],
        "notice_hours": cfg["VISIT_CANCEL_NOTICE_HOURS"],
        "no_show_fee": cfg["NO_SHOW_FEE"],
    }


def _notice_hours() -> int:
    return current_app.config["VISIT_CANCEL_NOTICE_HOURS"]


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdecimal() and len(value) < 10 else None


def _words_arg(name: str) -> str:
    """A search text: whitespace collapsed, at most 100 characters."""
    return " ".join((request.args.get(name) or "").replace("\x00", "").split())[:100]


def _date_arg(name: str):
    """A YYYY-MM-DD date argument, None when absent or invalid."""
    return parse_iso_date(request.args.get(name, ""))


def _common(company) -> dict:
    planning_prefix = url_for("planning.index", code=company.code)
    visits_prefix = planning_prefix + "visites/"
    notice_hours = _notice_hours()
    now = utcnow()
    return {
        "company": company,
        "paris": common.to_paris,
        "day_label": common.day_label,
        "visits_prefix": visits_prefix,
        "notice_hours": notice_hours,
        "no_show_fee": current_app.config["NO_SHOW_FEE"],
        "visit_types": VISIT_TYPES,
        "now": now,
        "can_change": lambda v: booking.can_change(v, now, notice_hours),
        # Per-row links, one prefix per page (a url_for per row of a 50-visit page cost ~1 ms,
        # docs/PERFORMANCE.md): visits_prefix ~ id ~ "/convocation.pdf" is
        # url_for("planning.convocation", code=..., visit_id=id); slots_prefix ~ id ~ "/reserver"
        # is url_for("planning.book", code=..., slot_id=id). Every other link uses url_for.
        "slots_prefix": planning_prefix + "creneaux/",
    }


# --------------------------------------------------------------------------- planning page


@bp.get(f"{PREFIX}/")
@company_view(right="planning")
def index(company):
    """Coming visits as a list grouped by day, or one week; filters; requests; feed."""
    now = utcnow()
    today = common.to_paris(now).date()
    sites = common.scope_companies(company)
    scope_ids = [c.id for c in sites]
    filters = reading.VisitFilters(
        employee_id=_int_arg("salarie"),
        site_id=_int_arg("site") if _int_arg("site") in scope_ids else None,
        visit_type=request.args.get("type") if request.args.get("type") in VISIT_TYPES else None,
        name=_words_arg("q"),
    )
    # The employee filter is a name search (a select of every employee weighed 190 KB for a
    # 5,000-employee company); `?salarie=<id>` still narrows to one employee, shown by name.
    chosen = None
    if filters.employee_id:
        try:
            chosen = scope.employee(company, filters.employee_id)
        except scope.NotFound:
            filters.employee_id = None
    view = "semaine" if request.args.get("vue") == "semaine" or request.args.get("semaine") else "liste"
    ctx = _common(company)
    filter_args = {
        k: v
        for k, v in (
            ("salarie", filters.employee_id),
            ("q", filters.name),
            ("site", filters.site_id),
            ("type", filters.visit_type),
        )
        if v
    }
    if view == "semaine":
        monday = common.parse_iso_week(request.args.get("semaine"), today)
        start, _ = common.paris_day_bounds(monday)
        end, _ = common.paris_day_bounds(monday + timedelta(days=7))
        visits = reading.visit_rows_between(scope_ids, filters, start, end)
        by_day = dict(reading.group_by_day(visits))
        # A large company has ~45 visits a day: the week shows the first WEEK_DAY_LIMIT of each
        # day and links to the list from that day for the others (230 cards weighed 170 KB).
        days = [monday + timedelta(days=i) for i in range(7)]
        ctx.update(
            week_days=[(day, by_day.get(day, [])[:WEEK_DAY_LIMIT], len(by_day.get(day, []))) for day in days],
            week=common.iso_week(monday),
            prev_week=common.iso_week(monday - timedelta(days=7)),
            next_week=common.iso_week(monday + timedelta(days=7)),
            this_week=common.iso_week(today - timedelta(days=today.weekday())),
            monday=monday,
        )
    else:
        page = page_arg(most=1000)
        from_day = _date_arg("du")
        since = max(now, common.paris_day_bounds(from_day)[0]) if from_day else now
        rows = reading.coming_visit_rows(
            scope_ids, filters, since, limit=LIST_PAGE_SIZE + 1, offset=(page - 1) * LIST_PAGE_SIZE
        )
        ctx.update(
            days=reading.group_by_day(rows[:LIST_PAGE_SIZE]),
            page_number=page,
            has_next=len(rows) > LIST_PAGE_SIZE,
            from_day=from_day if since > now else None,
        )
    ctx.update(
        view=view,
        filters=filters,
        filter_args=filter_args,
        sites=sites,
        chosen_employee=chosen,
        all_employees_url=url_for(
            "planning.index",
            code=company.code,
            vue="semaine" if view == "semaine" else None,
            **{k: v for k, v in filter_args.items() if k != "salarie"},
        ),
    )
    if wants_fragment():  # the filters and the view switch swap #planning-resultats only
        return render("planning/index.html", "planning/_results.html", **ctx)
    ctx.update(
        to_confirm=reading.proposal_rows(scope_ids, now),
        requests=reading.pending_requests(scope_ids),
        service_changes=visit_changes.recent_changes(scope_ids, now),
        feed=feeds.has_active_feed(company),
        feed_url=None,
    )
    return render("planning/index.html", **ctx)


# --------------------------------------------------------------------------- slots


SLOTS_PAGE_SIZE = 20


def _cursor_arg() -> tuple[datetime, int] | None:
    """`?apres=<epoch seconds>-<slot id>`: the last slot shown, for "Voir plus de créneaux"."""
    value = request.args.get("apres", "")
    moment, _, slot_id = value.partition("-")
    if not (moment.isdecimal() and slot_id.isdecimal() and len(moment) < 12 and len(slot_id) < 10):
        return None
    return datetime.fromtimestamp(int(moment), UTC), int(slot_id)


def cursor_of(slot) -> str:
    return f"{int(slot.starts_at.timestamp())}-{slot.id}"


def _slots_context(company, *, form=None, slot=None, message=None):
    """One week of free slots, SLOTS_PAGE_SIZE at a time ("Voir plus de créneaux" goes on after
    the last one shown: `apres`), optionally of one centre (`centre`). A week holds up to ~2,000
    free slots at scale: listing them all weighed 165 KB."""
    now = utcnow()
    today = common.to_paris(now).date()
    this_monday = today - timedelta(days=today.weekday())
    # The centre filter is on the page, outside the fragment: an htmx request reads the centres
    # only to check a `centre` it was given (an unknown id would walk every future slot).
    centre_id = _int_arg("centre")
    centres = [] if wants_fragment() and centre_id is None else reading.centre_choices()
    if centre_id is not None and all(c[0] != centre_id for c in centres):
        centre_id = None
    after = _cursor_arg()
    if request.args.get("semaine"):
        monday = max(common.parse_iso_week(request.args.get("semaine"), today), this_monday)
        start, _ = common.paris_day_bounds(monday)
        end, _ = common.paris_day_bounds(monday + timedelta(days=7))
        slots = reading.free_slot_page(
            company, start, end, now, after=after, centre_id=centre_id, limit=SLOTS_PAGE_SIZE + 1
        )
    else:  # open on the week of the next free slot rather than on an empty week (one query)
        slots = reading.free_slot_page(
            company, now, None, now, after=after, centre_id=centre_id, limit=SLOTS_PAGE_SIZE + 1
        )
        first_day = common.to_paris(slots[0].starts_at).date() if slots else today
        monday = max(first_day - timedelta(days=first_day.weekday()), this_monday)
        end, _ = common.paris_day_bounds(monday + timedelta(days=7))
        slots = [s for s in slots if s.starts_at < end]
    has_more = len(slots) > SLOTS_PAGE_SIZE
    slots = slots[:SLOTS_PAGE_SIZE]
    week = common.iso_week(monday)
    ctx = _common(company)
    ctx.update(_booking_for(company))
    ctx.update(
        slots=slots,
        days=_group_slots(slots),
        week=week,
        monday=monday,
        prev_week=common.iso_week(monday - timedelta(days=7)) if monday > this_monday else None,
        next_week=common.iso_week(monday + timedelta(days=7)),
        message=message,
        move_visit=None,
        centres=centres,
        centre_id=centre_id,
        after=after,
        # the first day continues the one the previous batch ended with ("(suite)")
        continued_day=common.to_paris(after[0]).date() if after else None,
        more_cursor=cursor_of(slots[-1]) if has_more else None,
        # htmx "Voir plus": only the next batch, appended in place of the link
        more_only=after is not None and wants_fragment(),
    )
    return ctx


def _booking_for(company) -> dict:
    """ "Prendre rendez-vous" from an employee's page: `?salarie=<id>` follows the slot links and
    pre-selects the employee on the booking form (no list of every employee to scroll)."""
    employee_id = _int_arg("salarie")
    employee = None
    if employee_id:
        try:
            employee = scope.employee(company, employee_id)
        except scope.NotFound:  # another company's id: ignored, the form asks as usual
            employee = None
    return {"for_employee": employee, "for_employee_id": employee.id if employee else None}


def _group_slots(slots):
    """[(day, [(slot, "HH:MM", place, professional)])]: the strings computed once per slot, and
    once per centre or professional, rather than in the template."""
    groups: dict = {}
    places: dict = {}
    people: dict = {}
    for slot in slots:
        local = common.to_paris(slot.starts_at)
        centre, pro = slot.centre, slot.professional
        place = places.get(centre.id)
        if place is None:
            place = places[centre.id] = ", ".join(p for p in (centre.name, centre.address, centre.city) if p)
        who = people.get(pro.name)
        if who is None:
            who = people[pro.name] = f"{pro.name} ({pro.kind_label})"
        groups.setdefault(local.date(), []).append((slot, local.strftime("%H:%M"), place, who))
    return list(groups.items())


@bp.get(f"{PREFIX}/creneaux")
@company_view(right="planning")
def slots(company):
    """Free slots open to the company, one week per page."""
    return render("planning/slots.html", "planning/_slots.html", **_slots_context(company))


def _book_form(company):
    today = common.to_paris(utcnow()).date()
    due = reading.employees_due_first(scope.company_ids(company), today)
    form = BookSlotForm()
    form.employee_id.choices = choices(
        [("", "Choisissez un salarié")]
        + [
            (
                d.employee.id,
                f"{d.employee.display_name} – {VISIT_TYPES[d.visit_type]}"
                + (f" (à prévoir avant le {d.due_date:%d/%m/%Y})" if d.due_date and not d.has_active_visit else "")
                + (" – visite déjà planifiée" if d.has_active_visit else ""),
            )
            for d in due
        ]
    )
    suggestions = {d.employee.id: d.visit_type for d in due}
    return form, suggestions


@bp.route(f"{PREFIX}/creneaux/<int:slot_id>/reserver", methods=["GET", "POST"])
@company_view(right="planning")
def book(company, slot_id: int):
    """Place an employee on a free slot; a slot taken meanwhile answers 409 with the list."""
    now = utcnow()
    slot = reading.get_open_slot_or_none(company, slot_id, now)
    if slot is None:
        return render_error(404)
    form, suggestions = _book_form(company)
    ctx = _common(company)
    ctx.update(
        slot=slot,
        form=form,
        slot_visit_types=follow_up_law.visit_types_for(slot.professional.kind),
        **_booking_for(company),
    )
    if request.method == "GET":
        if ctx["for_employee_id"] in suggestions:
            form.employee_id.data = ctx["for_employee_id"]
        return render("planning/book.html", "planning/_book.html", **ctx)
    if not form.validate_on_submit():
        return render("planning/book.html", "planning/_book.html", status=422, **ctx)
    visit_type = form.visit_type.data or suggestions[form.employee_id.data]
    try:
        visit = booking.book_slot(company, slot, form.employee_id.data, visit_type, current_user, now)
        db.session.commit()
    except (IntegrityError, common.SlotTaken) as exc:
        db.session.rollback()
        message = (
            str(exc)
            if isinstance(exc, common.SlotTaken)
            else ("Ce créneau vient d'être réservé par une autre entreprise. Choisissez-en un autre.")
        )
        return render(
            "planning/slots.html", "planning/_slots.html", status=409, **_slots_context(company, message=message)
        )
    except common.PlanningError as exc:
        db.session.rollback()
        form.visit_type.errors = [*form.visit_type.errors, str(exc)]
        return render("planning/book.html", "planning/_book.html", status=422, **ctx)
    flash(
        f"Rendez-vous enregistré pour {visit.employee.display_name} le "
        f"{common.to_paris(visit.starts_at):%d/%m/%Y à %H:%M}.",
        "success",
    )
    return hx_redirect(url_for("planning.index", code=company.code))


# --------------------------------------------------------------------------- visit actions


@bp.post(f"{PREFIX}/visites/<int:visit_id>/confirmer")
@company_view(right="planning")
def confirm(company, visit_id: int):
    """Confirm a visit proposed by the service."""
    visit = scope.visit(company, visit_id)
    try:
        booking.confirm_proposal(company, visit, current_user)
    except common.PlanningError as exc:
        db.session.rollback()
        return render_error(409, str(exc))
    db.session.commit()
    flash("La visite est confirmée.", "success")
    return hx_redirect(url_for("planning.index", code=company.code))


@bp.route(f"{PREFIX}/visites/<int:visit_id>/autre-date", methods=["GET", "POST"])
@company_view(right="planning")
def another_date(company, visit_id: int):
    """Ask the service for another date (reason required); the proposal is cancelled."""
    visit = scope.visit(company, visit_id)
    if visit.status != "proposee":
        return render_error(404)
    form = AnotherDateForm()
    ctx = _common(company)
    ctx.update(visit=visit, form=form)
    if request.method == "POST":
        if not form.validate_on_submit():
            return render("planning/another_date.html", "planning/_another_date.html", status=422, **ctx)
        booking.decline_proposal(company, visit, form.reason.data.strip(), current_user, utcnow())
        db.session.commit()
        flash("Votre demande d'une autre date a été transmise au service.", "success")
        return hx_redirect(url_for("planning.index", code=company.code))
    return render("planning/another_date.html", "planning/_another_date.html", **ctx)


@bp.route(f"{PREFIX}/visites/<int:visit_id>/annuler", methods=["GET", "POST"])
@company_view(right="planning")
def cancel(company, visit_id: int):
    """Cancel a visit, until the notice period."""
    visit = scope.visit(company, visit_id)
    if request.method == "GET":
        return _confirm_cancel(company, visit)
    try:
        booking.cancel_visit(company, visit, current_user, utcnow(), _notice_hours())
    except common.PlanningError as exc:
        db.session.rollback()
        return render_error(409, str(exc))
    db.session.commit()
    flash("Le rendez-vous est annulé.", "success")
    return hx_redirect(url_for("planning.index", code=company.code))


def _confirm_cancel(company, visit):
    from blueprints.confirm import confirmation
    from services.core.french import long_date

    if not booking.can_change(visit, utcnow(), _notice_hours()):
        return render_error(
            409, f"Moins de {_notice_hours()} heures avant la visite : prévenez le service par téléphone."
        )
    local = common.to_paris(visit.starts_at)
    when = f"{long_date(local, weekday=True)} à {local:%H:%M}"
    return confirmation(
        company,
        title="Annuler le rendez-vous",
        question=f"Annuler le rendez-vous de {visit.employee.display_name} ?",
        details=[f"{VISIT_TYPES.get(visit.visit_type, visit.visit_type)}, le {when}"],
        warning="Le créneau sera rendu au service ; pour une autre date, choisissez plutôt « Déplacer ».",
        action=url_for("planning.cancel", code=company.code, visit_id=visit.id),
        confirm_label="Oui, annuler le rendez-vous",
        back_url=url_for("planning.index", code=company.code),
        back_label="Non, garder le rendez-vous",
        confirm_id=f"annuler-{visit.id}",
    )


@bp.route(f"{PREFIX}/visites/<int:visit_id>/deplacer", methods=["GET", "POST"])
@company_view(right="planning")
def move(company, visit_id: int):
    """Choose another free slot for a visit, until the notice period."""
    visit = scope.visit(company, visit_id)
    now = utcnow()
    if not booking.can_change(visit, now, _notice_hours()):
        return render_error(
            409,
            f"Ce rendez-vous ne peut plus être déplacé en ligne (délai de "
            f"{_notice_hours()} heures). Contactez le service.",
        )
    if request.method == "POST":
        from blueprints.base_form import PortailForm

        slot_id = request.form.get("slot_id", "")
        valid_id = slot_id.isdecimal() and len(slot_id) < 10
        slot = reading.get_open_slot_or_none(company, int(slot_id), now) if valid_id else None
        if not PortailForm().validate_on_submit() or slot is None:
            ctx = _slots_context(company, message="Choisissez un créneau de la liste.")
            ctx["move_visit"] = visit
            return render("planning/move.html", "planning/_slots.html", status=422, **ctx)
        try:
            booking.move_visit(company, visit, slot, current_user, now, _notice_hours())
            db.session.commit()
        except (IntegrityError, common.PlanningError) as exc:
            db.session.rollback()
            message = (
                str(exc)
                if isinstance(exc, common.PlanningError)
                else ("Ce créneau vient d'être réservé par une autre entreprise. Choisissez-en un autre.")
            )
            visit = scope.visit(company, visit_id)
            ctx = _slots_context(company, message=message)
            ctx["move_visit"] = visit
            return render("planning/move.html", "planning/_slots.html", status=409, **ctx)
        flash(f"Le rendez-vous est déplacé au {common.to_paris(visit.starts_at):%d/%m/%Y à %H:%M}.", "success")
        return hx_redirect(url_for("planning.index", code=company.code))
    ctx = _slots_context(company)
    ctx["move_visit"] = visit
    return render("planning/move.html", "planning/_slots.html", **ctx)


def _download(company, visit, data: bytes, filename: str, mimetype: str, kind: str):
    audit.record(
        "planning.download", actor=current_user, company=company, target=visit, document=kind, ip=request.remote_addr
    )
    db.session.commit()
    response = make_response(data)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get(f"{PREFIX}/visites/<int:visit_id>/convocation.pdf")
@company_view(right="planning")
def convocation(company, visit_id: int):
    """The convocation PDF (file name without personal data); the download is audited."""
    visit = scope.visit(company, visit_id)
    if visit.status not in ("proposee", "confirmee"):
        return render_error(404)
    data = build_convocation_pdf(visit, _service(), compress=not current_app.testing)
    return _download(company, visit, data, f"{file_stem(visit, 'convocation')}.pdf", "application/pdf", "convocation")


@bp.get(f"{PREFIX}/visites/<int:visit_id>/rendez-vous.ics")
@company_view(right="planning")
def visit_ics(company, visit_id: int):
    """The visit as an .ics file for the employer's calendar; the download is audited."""
    visit = scope.visit(company, visit_id)
    if visit.status not in ("proposee", "confirmee"):
        return render_error(404)
    data = build_visit_ics(visit, _service())
    return _download(company, visit, data, f"{file_stem(visit, 'visite')}.ics", "text/calendar; charset=utf-8", "ics")


# --------------------------------------------------------------------------- requests


@bp.route(f"{PREFIX}/demande", methods=["GET", "POST"])
@company_view(right="planning")
def new_request(company):
    """Demander un rendez-vous: employee, reason, absence, wished dates, comment."""
    today = common.to_paris(utcnow()).date()
    employees = reading.present_employees(scope.company_ids(company), today)
    form = RequestForm()
    form.employee_id.choices = choices([("", "Choisissez un salarié")] + [(e.id, e.display_name) for e in employees])
    ctx = _common(company)
    ctx.update(form=form)
    if request.method == "POST":
        if not form.validate_on_submit():
            return render("planning/request.html", "planning/_request.html", status=422, **ctx)
        data = {name: getattr(form, name).data for name in form._fields if name != "csrf_token"}
        for key in ("motivation", "comment"):
            data[key] = (data.get(key) or "").strip()
        try:
            appointment_requests.create_request(company, data, current_user)
        except common.PlanningError as exc:
            db.session.rollback()
            form.employee_id.errors = [str(exc)]
            return render("planning/request.html", "planning/_request.html", status=422, **ctx)
        db.session.commit()
        flash(
            "Votre demande de rendez-vous a été transmise au service. Elle apparaît « En attente » "
            "jusqu'à sa planification.",
            "success",
        )
        return hx_redirect(url_for("planning.index", code=company.code))
    return render("planning/request.html", "planning/_request.html", **ctx)


# --------------------------------------------------------------------------- calendar feed


@bp.post(f"{PREFIX}/calendrier/renouveler")
@company_view(right="planning")
def feed_renew(company):
    """Create (or renew) the private calendar feed; the URL is shown once."""
    token = feeds.renew_feed(company, current_user, utcnow())
    db.session.commit()
    url = current_app.config["PORTAL_BASE_URL"] + url_for("planning.feed", token=token)
    ctx = _common(company)
    ctx.update(feed_url=url, feed=True)
    return render("planning/feed.html", "planning/_feed.html", **ctx)


@bp.post(f"{PREFIX}/calendrier/revoquer")
@company_view(right="planning")
def feed_revoke(company):
    """Revoke the private calendar feed: its URL stops working at once."""
    feeds.revoke_feed(company, current_user, utcnow())
    db.session.commit()
    ctx = _common(company)
    ctx.update(feed_url=None, feed=None)
    return render("planning/feed.html", "planning/_feed.html", **ctx)


@bp.get("/calendrier/<token>.ics")
@public
def feed(token: str):
    """The company's private feed (secret URL): coming visits with employee initials only."""
    company = feeds.company_for_token(token)
    if company is None:
        return render_error(404)
    response = make_response(feeds.build_feed(company, _service(), utcnow()))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="planning.ics"'
    return response
