"""The convocation PDF handed to the employee, and the per-visit .ics file."""

from __future__ import annotations

import os
from datetime import datetime

from fpdf import FPDF
from icalendar import Calendar, Event

from models.planning import Visit
from services.core import french
from services.planning.common import to_paris

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
WHAT_TO_BRING = [
    "cette convocation ;",
    "une pièce d'identité ;",
    "vos lunettes ou lentilles si vous en portez ;",
    "la liste de vos traitements en cours et vos comptes rendus médicaux récents, si vous le souhaitez.",
]


def french_date(moment: datetime) -> str:
    local = to_paris(moment)
    return french.long_date(local, weekday=True)


def french_time(moment: datetime) -> str:
    return to_paris(moment).strftime("%H h %M")


def file_stem(visit: Visit, prefix: str) -> str:
    """`convocation-2027-01-15-1234`: the date and the visit id, no personal data."""
    return f"{prefix}-{to_paris(visit.starts_at).strftime('%Y-%m-%d')}-{visit.id}"


class _Convocation(FPDF):
    def __init__(self):
        super().__init__(format="A4")
        regular = os.path.join(FONT_DIR, "DejaVuSans.ttf")
        bold = os.path.join(FONT_DIR, "DejaVuSans-Bold.ttf")
        if os.path.exists(regular) and os.path.exists(bold):
            self.add_font("DejaVu", "", regular)
            self.add_font("DejaVu", "B", bold)
            self.family = "DejaVu"
            self.unicode = True
        else:
            self.family = "Helvetica"
            self.unicode = False

    def text_for(self, value: str) -> str:
        if self.unicode:
            return value
        return value.replace("’", "'").replace("·", "-").encode("latin-1", "replace").decode("latin-1")

    def line(self, value: str = "", *, bold: bool = False, size: int = 11, height: float = 6) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.multi_cell(0, height, self.text_for(value), align="L", new_x="LMARGIN", new_y="NEXT")


def build_convocation_pdf(visit: Visit, service: dict, *, compress: bool = True) -> bytes:
    """The convocation: service identity, employee, visit type, date, time, centre address and
    access notes, what to bring, how to cancel. `visit` has employee and slot (centre,
    professional) loaded. No medical content."""
    pdf = _Convocation()
    pdf.set_compression(compress)
    pdf.set_title("Convocation à une visite de santé au travail")
    pdf.set_author(service["name"])
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    pdf.line(service["name"], bold=True, size=14)
    for part in service["address"].splitlines():
        pdf.line(part, size=10, height=5)
    pdf.line(f"Tél. {service['phone']} – {service['planning_email']}", size=10, height=5)
    pdf.ln(8)
    pdf.line("Convocation à une visite de santé au travail", bold=True, size=16, height=8)
    pdf.ln(4)
    employee = visit.employee
    company = visit.company
    pdf.line(f"Salarié(e) : {employee.display_name}", bold=True)
    pdf.line(f"Entreprise : {company.code} - {company.name}")
    pdf.line(f"Type de visite : {visit.type_label}")
    pdf.ln(2)
    pdf.line(f"Date : {french_date(visit.starts_at)} ({to_paris(visit.starts_at).strftime('%d/%m/%Y')})", bold=True)
    pdf.line(f"Heure : {french_time(visit.starts_at)}", bold=True)
    slot = visit.slot
    if slot is not None:
        pdf.line(f"Avec : {slot.professional.name} ({slot.professional.kind_label})")
        pdf.ln(2)
        pdf.line("Lieu", bold=True, size=12)
        centre = slot.centre
        pdf.line(centre.name)
        if centre.address:
            pdf.line(centre.address)
        town = " ".join(p for p in (centre.postal_code, centre.city) if p)
        if town:
            pdf.line(town)
        if centre.access_notes:
            pdf.line(f"Accès : {centre.access_notes}", size=10)
    pdf.ln(4)
    pdf.line("À apporter", bold=True, size=12)
    for item in WHAT_TO_BRING:
        pdf.line(f"- {item}", size=10, height=5)
    pdf.ln(4)
    pdf.line("Annuler ou déplacer le rendez-vous", bold=True, size=12)
    pdf.line(
        f"Votre employeur peut annuler ou déplacer ce rendez-vous depuis le portail adhérents jusqu'à "
        f"{service['notice_hours']} heures avant la visite. Passé ce délai, prévenez le service au "
        f"{service['phone']} ; une absence non excusée peut être facturée ({service['no_show_fee']}).",
        size=10,
        height=5,
    )
    pdf.ln(4)
    pdf.line(
        "La visite a lieu pendant le temps de travail. Les informations médicales restent couvertes "
        "par le secret médical et ne sont jamais transmises à l'employeur.",
        size=9,
        height=5,
    )
    return bytes(pdf.output())


def visit_event(visit: Visit, *, summary: str, description: str, domain: str) -> Event:
    event = Event()
    event.add("uid", f"visite-{visit.id}@{domain}")
    event.add("dtstamp", visit.updated_at or visit.created_at)
    event.add("dtstart", visit.starts_at)
    duration = visit.slot.duration_minutes if visit.slot is not None else 30
    from datetime import timedelta

    event.add("dtend", visit.starts_at + timedelta(minutes=duration))
    event.add("summary", summary)
    event.add("description", description)
    if visit.slot is not None:
        centre = visit.slot.centre
        location = ", ".join(p for p in (centre.name, centre.address, centre.postal_code, centre.city) if p)
        event.add("location", location)
    event.add("status", "TENTATIVE" if visit.status == "proposee" else "CONFIRMED")
    return event


def new_calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//Portail adherents//Planning//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    return cal


def build_visit_ics(visit: Visit, service: dict) -> bytes:
    cal = new_calendar(f"{service['short_name']} – visite")
    cal.add("method", "PUBLISH")
    summary = f"{visit.type_label} – {visit.employee.display_name}"
    description = (
        f"Visite de santé au travail ({visit.type_label}) pour {visit.employee.display_name}. "
        f"Service : {service['name']}, {service['phone']}."
    )
    cal.add_component(visit_event(visit, summary=summary, description=description, domain=service["domain"]))
    return cal.to_ical()
