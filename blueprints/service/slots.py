"""Back-office slots: the week per centre and professional, series creation, removal of free slots."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from flask import flash, redirect, request, url_for
from flask_login import current_user
from wtforms import SelectField, SelectMultipleField, StringField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from blueprints.base_form import PortailForm
from blueprints.htmx import hx_redirect, render
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.forms import REQUIRED, FrenchDateField, single_line
from extensions import db
from models.base import utcnow
from models.planning import PROFESSIONAL_KINDS, Centre, Professional
from services.core.input_limits import iso_week_monday
from services.planning import slot_series
from services.planning.slot_series import PARIS, SeriesError
from services.staff import dashboard as staff_dashboard

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")
DAY_NAMES = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche")
MAX_REMOVAL = 1000


def _to_int(value) -> int:
    """Coerce a select value; anything odd becomes -1, which no choice carries (French error)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class FrenchTimeField(TimeField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Saisissez une heure valide (hh:mm).") from None


class SeriesForm(PortailForm):
    centre = SelectField("Centre", coerce=_to_int, validate_choice=False)
    new_centre_name = StringField("Nom du nouveau centre", validators=[Optional(), Length(max=120), single_line])
    new_centre_address = StringField("Adresse du nouveau centre", validators=[Optional(), Length(max=300), single_line])
    professional = SelectField("Professionnel de santé", coerce=_to_int, validate_choice=False)
    new_professional_name = StringField(
        "Nom du nouveau professionnel", validators=[Optional(), Length(max=120), single_line]
    )
    new_professional_kind = SelectField(
        "Fonction du nouveau professionnel",
        choices=[SelectChoice("", "—"), *(SelectChoice(k, v) for k, v in PROFESSIONAL_KINDS.items())],
        validate_choice=False,
    )
    first_date = FrenchDateField("Du", validators=[InputRequired(REQUIRED)], format="%Y-%m-%d")
    last_date = FrenchDateField("Au", validators=[InputRequired(REQUIRED)], format="%Y-%m-%d")
    weekdays = SelectMultipleField(
        "Jours de la semaine",
        coerce=_to_int,
        choices=[SelectChoice(i, name) for i, name in enumerate(slot_series.WEEKDAYS)],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
        validators=[DataRequired("Cochez au moins un jour de la semaine.")],
    )
    start_time = FrenchTimeField("Heure de début", validators=[InputRequired(REQUIRED)])
    end_time = FrenchTimeField("Heure de fin", validators=[InputRequired(REQUIRED)])
    duration = SelectField(
        "Durée (minutes)",
        coerce=_to_int,
        choices=[SelectChoice(d, f"{d} min") for d in slot_series.DURATIONS],
        default=30,
        validate_choice=False,
    )
    reserved_code = StringField(
        "Réservé à l'adhérent (code)", validators=[Optional(), Length(max=10, message="Code trop long."), single_line]
    )

    def __init__(self, *args, centres=(), professionals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.centre.choices = [SelectChoice(c.id, c.name) for c in centres] + [SelectChoice(0, "Nouveau centre")]
        self.professional.choices = [SelectChoice(p.id, f"{p.name} ({p.kind_label})") for p in professionals] + [
            SelectChoice(0, "Nouveau professionnel")
        ]
        self.centre_ids = {c.id for c in centres}
        self.professional_ids = {p.id for p in professionals}
        self.reserved_company = None

    def validate_centre(self, field):
        if field.data != 0 and field.data not in self.centre_ids:
            raise ValidationError("Choisissez un centre de la liste.")

    def validate_professional(self, field):
        if field.data != 0 and field.data not in self.professional_ids:
            raise ValidationError("Choisissez un professionnel de la liste.")

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then the "new centre / new professional" fields when asked for (after
        the fields' own validation, which would otherwise clear these errors)."""
        ok = super().validate(extra_validators)
        missing = []
        if self.centre.data == 0:
            if not (self.new_centre_name.data or "").strip():
                missing.append((self.new_centre_name, "Indiquez le nom du nouveau centre."))
            if not (self.new_centre_address.data or "").strip():
                missing.append((self.new_centre_address, "Indiquez l'adresse du nouveau centre."))
        if self.professional.data == 0:
            if not (self.new_professional_name.data or "").strip():
                missing.append((self.new_professional_name, "Indiquez le nom du nouveau professionnel."))
            if self.new_professional_kind.data not in PROFESSIONAL_KINDS:
                missing.append((self.new_professional_kind, "Choisissez la fonction du nouveau professionnel."))
        for field, message in missing:
            field.errors = [*field.errors, message]
        return ok and not missing

    def validate_weekdays(self, field):
        if any(day not in range(len(slot_series.WEEKDAYS)) for day in field.data or []):
            raise ValidationError("Jour de la semaine inconnu.")

    def validate_duration(self, field):
        if field.data not in slot_series.DURATIONS:
            raise ValidationError("Choisissez une durée proposée.")

    def validate_reserved_code(self, field):
        code = (field.data or "").strip()
        if not code:
            return
        company = slot_series.active_member(code)
        if company is None:
            raise ValidationError("Aucun adhérent actif ne porte ce code.")
        self.reserved_company = company


class RemoveSlotsForm(PortailForm):
    """Only the CSRF token; the slot ids come as repeated `creneau` values."""


# --------------------------------------------------------------------------- helpers


@bp.app_template_filter("service_hour")
def service_hour(value) -> str:
    """A UTC timestamp as a Paris wall-clock hour: 09:30."""
    return value.astimezone(PARIS).strftime("%H:%M") if value else ""


def _current_monday() -> date:
    today = utcnow().astimezone(PARIS).date()
    return today - timedelta(days=today.weekday())


def _monday_arg(value: str | None) -> date:
    match = WEEK_PATTERN.match(value or "")
    monday = iso_week_monday(int(match.group(1)), int(match.group(2))) if match else None
    return monday or _current_monday()


def week_key(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _int_arg(name: str) -> int | None:
    value = request.values.get(name, "")
    return int(value) if value.isdecimal() and len(value) < 10 else None


def _week_context(monday: date, centre_id: int | None, professional_id: int | None) -> dict:
    centres = slot_series.centres()
    professionals = slot_series.professionals()
    rows = slot_series.week_slots(monday, centre_id, professional_id)
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        days.append({"date": day, "name": DAY_NAMES[offset], "slots": []})
    for row in rows:
        local = row.slot.starts_at.astimezone(PARIS)
        days[(local.date() - monday).days]["slots"].append(row)
    if not days[6]["slots"]:
        days.pop()  # Sunday only when it has slots
    filters = {k: v for k, v in (("centre", centre_id), ("professionnel", professional_id)) if v}
    return {
        "monday": monday,
        "sunday": monday + timedelta(days=6),
        "week": week_key(monday),
        "previous_week": week_key(monday - timedelta(days=7)),
        "next_week": week_key(monday + timedelta(days=7)),
        "centres": centres,
        "professionals": professionals,
        "centre_id": centre_id,
        "professional_id": professional_id,
        "filters": filters,
        "days": days,
        "slot_count": len(rows),
        "free_count": sum(1 for r in rows if not r.taken),
        "now": utcnow(),
        "remove_form": RemoveSlotsForm(),
    }


# --------------------------------------------------------------------------- routes


@bp.get("/creneaux")
@staff_required()
def slots_week():
    """The slots of a week, by centre and professional, taken or free."""
    context = _week_context(_monday_arg(request.args.get("semaine")), _int_arg("centre"), _int_arg("professionnel"))
    return render("service/slots/week.html", "service/slots/_week.html", **context)


@bp.post("/creneaux/supprimer")
@staff_required()
def slots_remove():
    """Remove the checked free slots; taken ones are never deleted."""
    monday = _monday_arg(request.form.get("semaine"))
    centre_id, professional_id = _int_arg("centre"), _int_arg("professionnel")
    form = RemoveSlotsForm()
    raw = request.form.getlist("creneau")[:MAX_REMOVAL]
    ids = [int(v) for v in raw if v.isdecimal() and len(v) < 10]
    error = None
    if not form.validate_on_submit():
        error = "La page a expiré : validez à nouveau."
    else:
        try:
            count = slot_series.remove_free_slots(ids, current_user)
        except SeriesError as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
            flash(f"{count} créneau{'x' if count > 1 else ''} supprimé{'s' if count > 1 else ''}.", "success")
            params = {"semaine": week_key(monday)}
            params.update({k: v for k, v in (("centre", centre_id), ("professionnel", professional_id)) if v})
            return redirect(url_for("service.slots_week", **params), code=303)
    context = _week_context(monday, centre_id, professional_id)
    return render("service/slots/week.html", "service/slots/_week.html", status=409, remove_error=error, **context)


def _series_form(formdata=None):
    centres = slot_series.centres()
    professionals = slot_series.professionals()
    if formdata is None:
        form = SeriesForm(formdata=None, centres=centres, professionals=professionals)
        form.duration.data = 30
        if centres:
            form.centre.data = centres[0].id
        if professionals:
            form.professional.data = professionals[0].id
        return form
    return SeriesForm(centres=centres, professionals=professionals)


def _series_page(form, *, status=200, preview=None):
    return render(
        "service/slots/series.html",
        "service/slots/_series_form.html",
        status=status,
        form=form,
        preview=preview,
        max_slots=slot_series.MAX_SLOTS_PER_SERIES,
    )


@bp.get("/creneaux/serie")
@staff_required()
def slots_series():
    """The form to create a series of slots."""
    return _series_page(_series_form())


@bp.post("/creneaux/serie")
@staff_required()
def slots_series_create():
    """Create a series of slots (or only count them with the preview button)."""
    form = _series_form(request.form)
    if not form.validate_on_submit():
        return _series_page(form, status=422)
    weekdays = set(form.weekdays.data)
    args = (form.first_date.data, form.last_date.data, weekdays, form.start_time.data, form.end_time.data)
    try:
        starts = slot_series.series_starts(*args, form.duration.data)
    except SeriesError as exc:
        _field_error(form, exc)
        return _series_page(form, status=422)
    now = utcnow()
    future = sum(1 for s in starts if s > now)
    if request.form.get("action") == "apercu":
        return _series_page(form, preview=future)
    if future == 0:
        form.first_date.errors = [*form.first_date.errors, "Aucun créneau à venir dans cette période."]
        return _series_page(form, status=422, preview=0)
    try:
        if form.centre.data:
            centre = db.session.get(Centre, form.centre.data)
        else:
            centre = slot_series.get_or_create_centre(form.new_centre_name.data, form.new_centre_address.data)
        if form.professional.data:
            professional = db.session.get(Professional, form.professional.data)
        else:
            professional = slot_series.get_or_create_professional(
                form.new_professional_name.data, form.new_professional_kind.data
            )
        result = slot_series.create_series(
            centre, professional, *args, form.duration.data, form.reserved_company, current_user, now=now
        )
    except SeriesError as exc:
        db.session.rollback()
        _field_error(form, exc)
        return _series_page(form, status=422)
    db.session.commit()
    flash(f"{result.created} créneaux créés ({result.existing} existaient déjà).", "success")
    monday = result.first_start.astimezone(PARIS).date()
    monday -= timedelta(days=monday.weekday())
    return hx_redirect(
        url_for("service.slots_week", semaine=week_key(monday), centre=centre.id, professionnel=professional.id)
    )


def _field_error(form, exc: SeriesError) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    target = target if target is not None else form.first_date
    target.errors = [*target.errors, exc.message]


# --------------------------------------------------------------------------- dashboard


@staff_dashboard.register
def free_slots_next_week() -> staff_dashboard.DashboardItem:
    """Free slots in the next 7 days."""
    now = datetime.now(UTC)
    return staff_dashboard.DashboardItem(
        "free_slots",
        "Créneaux libres dans les 7 prochains jours",
        slot_series.free_slots_between(now, now + timedelta(days=7)),
        endpoint="service.slots_week",
        order=25,
    )
