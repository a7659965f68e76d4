"""Letters the service posts to members: the n° télédéclarant letter (PDF, fpdf2)."""

from __future__ import annotations

import os
from datetime import datetime

from fpdf import FPDF

from services.core import french
from services.core.clock import PARIS

DEJAVU_DIR = "/usr/share/fonts/truetype/dejavu"


def _french_date(moment: datetime) -> str:
    local = moment.astimezone(PARIS)
    return french.long_date(local)


class _Letter(FPDF):
    def __init__(self):
        super().__init__(format="A4", unit="mm")
        regular = os.path.join(DEJAVU_DIR, "DejaVuSans.ttf")
        bold = os.path.join(DEJAVU_DIR, "DejaVuSans-Bold.ttf")
        if os.path.exists(regular) and os.path.exists(bold):
            self.add_font("DejaVu", "", regular)
            self.add_font("DejaVu", "B", bold)
            self.family_name = "DejaVu"
            self.unicode = True
        else:  # core font: Latin-1 only
            self.family_name = "helvetica"
            self.unicode = False
        self.set_margins(20, 20, 20)
        self.set_auto_page_break(True, margin=20)

    def text_block(self, text: str, size: float = 10.5, style: str = "", height: float = 5.5) -> None:
        if not self.unicode:
            text = text.encode("latin-1", "replace").decode("latin-1")
        self.set_font(self.family_name, style, size)
        self.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")


def teledeclarant_letter(company, number: str, service: dict, *, portal_url: str, now: datetime) -> bytes:
    """The letter that carries a company's code adhérent and new n° télédéclarant, with the
    connection procedure of the seed. `service` holds name, address, phone, support_email."""
    return teledeclarant_letters([(company, number)], service, portal_url=portal_url, now=now)


def teledeclarant_letters(letters, service: dict, *, portal_url: str, now: datetime) -> bytes:
    """One PDF with the letter of each (company, number), one page each, in the order given."""
    pdf = _Letter()
    pdf.set_title("Vos identifiants du Portail adhérents")
    pdf.set_author(service["name"])
    for company, number in letters:
        _letter_page(pdf, company, number, service, portal_url=portal_url, now=now)
    return bytes(pdf.output())


def _letter_page(pdf: _Letter, company, number: str, service: dict, *, portal_url: str, now: datetime) -> None:
    pdf.add_page()
    short = service.get("short_name") or service["name"]

    pdf.text_block(service["name"], 13, "B", 6)
    pdf.text_block(service["address"])
    pdf.text_block(f"Tél. {service['phone']} · {service['support_email']}")
    pdf.ln(8)

    recipient = [company.name]
    if company.address:
        recipient.append(company.address)
    town = " ".join(p for p in (company.postal_code, company.city) if p)
    if town:
        recipient.append(town)
    block = "\n".join(recipient)
    if not pdf.unicode:
        block = block.encode("latin-1", "replace").decode("latin-1")
    pdf.set_x(110)
    pdf.set_font(pdf.family_name, "", 10.5)
    pdf.multi_cell(80, 5.5, block, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.text_block(f"Le {_french_date(now)}")
    pdf.ln(4)
    pdf.text_block("Objet : vos identifiants du Portail adhérents", 11, "B")
    pdf.ln(2)
    pdf.text_block("Madame, Monsieur,")
    pdf.ln(1)
    pdf.text_block(
        f"Voici les identifiants qui permettent à votre entreprise d'accéder au Portail adhérents {short}. "
        "Ce nouveau n° télédéclarant remplace le précédent, qui ne fonctionne plus."
    )
    pdf.ln(3)

    pdf.set_fill_color(232, 241, 250)
    pdf.set_font(pdf.family_name, "B", 12)
    pdf.cell(0, 9, f"Code adhérent : {company.code}", new_x="LMARGIN", new_y="NEXT", fill=True)
    pdf.cell(0, 9, f"N° télédéclarant : {number}", new_x="LMARGIN", new_y="NEXT", fill=True)
    pdf.ln(4)

    pdf.text_block("Étape 1 : récupérer vos identifiants", 11, "B")
    pdf.text_block(
        "Vos identifiants sont le code adhérent et le n° télédéclarant ci-dessus. Si vous avez recours à un "
        "cabinet comptable pour vos déclarations, merci de leur communiquer ces identifiants. "
        f"L'{short} ne transmettra pas cette information aux cabinets comptables."
    )
    pdf.ln(2)
    pdf.text_block("Étape 2 : créer votre compte", 11, "B")
    pdf.text_block(
        f"1. Connectez-vous sur {portal_url}, rubrique « Portail adhérents » (avec Chrome ou Firefox).\n"
        "2. Cliquez sur « Se connecter avec son code adhérent ».\n"
        "3. Renseignez vos identifiants (code adhérent + n° télédéclarant), puis cliquez sur « Valider ».\n"
        "4. Saisissez nom, prénom, fonction et adresse e-mail du déclarant, puis cliquez sur « Créer le compte ».\n"
        "5. Vous recevrez un e-mail avec les informations de connexion au Portail. "
        "Vérifiez vos courriers indésirables !"
    )
    pdf.ln(2)
    pdf.text_block("Étape 3 : se connecter à votre espace", 11, "B")
    pdf.text_block(
        "Saisissez votre adresse e-mail puis cliquez sur « Valider », indiquez votre mot de passe "
        "puis cliquez sur « Valider »."
    )
    pdf.ln(2)
    pdf.text_block("Vous avez déjà un compte ?", 11, "B")
    pdf.text_block(
        "Pour ajouter cette entreprise à votre compte, cliquez sur votre nom en haut à droite de l'écran, "
        "puis sur « Ajouter une entreprise », et saisissez le code adhérent et le n° télédéclarant."
    )
    pdf.ln(4)
    pdf.text_block(
        "Conservez ce courrier en lieu sûr : le n° télédéclarant fonctionne comme un mot de passe. "
        f"Contactez-nous : {service['support_email']}."
    )
