"""The invoice and credit-note PDF (fpdf2), with every mention French law requires."""

from __future__ import annotations

import os

from flask import current_app
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from models.billing import COMPLEMENT, CREDIT_NOTE

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
TITLES = {CREDIT_NOTE: "AVOIR", COMPLEMENT: "FACTURE COMPLÉMENTAIRE"}
BLUE = (0, 74, 153)
LIGHT = (230, 239, 248)


def _eur(value) -> str:
    from services.core.french import format_eur

    return format_eur(value)


def _date(value) -> str:
    return value.strftime("%d/%m/%Y")


class _InvoicePDF(FPDF):
    def __init__(self, unicode_font: bool):
        super().__init__(format="A4")
        self.unicode_font = unicode_font
        self.family = "Helvetica"
        if unicode_font:
            self.add_font("DejaVu", "", os.path.join(FONT_DIR, "DejaVuSans.ttf"))
            self.add_font("DejaVu", "B", os.path.join(FONT_DIR, "DejaVuSans-Bold.ttf"))
            self.family = "DejaVu"
        self.set_auto_page_break(auto=True, margin=20)
        self.set_margins(18, 16, 18)

    def txt(self, value) -> str:
        """Core fonts know latin-1 only: replace what they cannot show."""
        value = "" if value is None else str(value)
        if self.unicode_font:
            return value
        value = value.replace("€", "EUR").replace("–", "-").replace("’", "'").replace("\u202f", " ")
        return value.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def line_text(
        self, text: str, size: float = 9, bold: bool = False, h: float = 4.6, align: str = "L", w: float = 0
    ) -> None:
        self.font(size, bold)
        self.cell(w, h, self.txt(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align=align)

    def footer(self) -> None:
        self.set_y(-14)
        self.font(7)
        self.set_text_color(100, 100, 100)
        self.cell(0, 4, self.txt(f"Page {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0, 0, 0)


def _fonts_available() -> bool:
    return all(os.path.exists(os.path.join(FONT_DIR, name)) for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"))


def render_invoice_pdf(invoice) -> bytes:
    """The PDF of an issued invoice, from `services.billing.invoice_render_data` (plain data: the
    rendering takes ~0.3 s and must not run inside a write transaction).

    INVOICE_PDF_PLAIN (tests only) writes uncompressed text with a core font, so that a test
    can read the numbers in the raw file."""
    cfg = current_app.config
    plain = bool(cfg.get("INVOICE_PDF_PLAIN"))
    pdf = _InvoicePDF(unicode_font=_fonts_available() and not plain)
    if plain:
        pdf.set_compression(False)
    title = TITLES.get(invoice.kind, "FACTURE")
    pdf.set_title(pdf.txt(f"{title.capitalize()} {invoice.number}"))
    pdf.set_author(pdf.txt(cfg["SERVICE_NAME"]))
    pdf.set_creator("Portail adhérents")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    top = pdf.get_y()

    # Seller (left) and document identity (right).
    pdf.set_text_color(*BLUE)
    pdf.line_text(cfg["SERVICE_NAME"], 13, bold=True, h=6, w=width / 2)
    pdf.set_text_color(0, 0, 0)
    for line in str(cfg["SERVICE_ADDRESS"]).splitlines():
        pdf.line_text(line, w=width / 2)
    pdf.line_text(f"SIRET : {cfg['SERVICE_SIRET']}", w=width / 2)
    pdf.line_text(f"N° TVA intracommunautaire : {cfg['SERVICE_VAT_NUMBER']}", w=width / 2)
    pdf.line_text(f"{cfg['SERVICE_BILLING_EMAIL']} – {cfg['SERVICE_PHONE']}", w=width / 2)
    seller_bottom = pdf.get_y()

    pdf.set_xy(pdf.l_margin + width / 2, top)
    pdf.set_text_color(*BLUE)
    pdf.font(16, bold=True)
    pdf.cell(width / 2, 8, pdf.txt(title), align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    for label, value in (
        ("N°", invoice.number),
        ("Date d'émission", _date(invoice.issue_date)),
        ("Date d'échéance", _date(invoice.due_date)),
        ("Code adhérent", invoice.buyer_code),
    ):
        pdf.set_x(pdf.l_margin + width / 2)
        pdf.font(9)
        pdf.cell(width / 2, 5, pdf.txt(f"{label} : {value}"), align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)

    # Buyer.
    pdf.set_y(max(seller_bottom, pdf.get_y()) + 6)
    box_x = pdf.l_margin + width / 2
    box_y = pdf.get_y()
    pdf.set_fill_color(*LIGHT)
    address_lines = [
        invoice.buyer_name,
        *(invoice.buyer_address or "").splitlines(),
        f"Code adhérent : {invoice.buyer_code}",
    ]
    pdf.rect(box_x, box_y, width / 2, 6 + 5 * len(address_lines), style="F")
    pdf.set_xy(box_x + 3, box_y + 2)
    pdf.font(8)
    pdf.cell(width / 2 - 6, 4, pdf.txt("Adhérent facturé"), new_x=XPos.LEFT, new_y=YPos.NEXT)
    for i, line in enumerate(address_lines):
        pdf.font(10 if i == 0 else 9, bold=i == 0)
        pdf.cell(width / 2 - 6, 5, pdf.txt(line), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_y(box_y + 6 + 5 * len(address_lines) + 6)

    # Object.
    obj = f"Appel de cotisation {invoice.year}"
    if invoice.reference_date:
        obj += f" – effectifs déclarés au {_date(invoice.reference_date)}"
    if invoice.version:
        obj += f" (déclaration version {invoice.version})"
    pdf.line_text(obj, 10, bold=True, h=6)
    if invoice.corrects_number:
        verb = "Avoir sur la facture" if invoice.kind == CREDIT_NOTE else "Complément à la facture"
        pdf.line_text(f"{verb} n° {invoice.corrects_number} du {_date(invoice.corrects_issue_date)}", 9)
    pdf.ln(3)

    # Lines.
    pdf.font(9)
    heading = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=BLUE)
    with pdf.table(
        col_widths=(width * 0.52, width * 0.12, width * 0.18, width * 0.18),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=heading,
        line_height=6,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        row = table.row()
        for head in ("Désignation", "Quantité", "Prix unitaire HT", "Montant HT"):
            row.cell(pdf.txt(head))
        for line in invoice.lines:
            row = table.row()
            row.cell(pdf.txt(line.label))
            row.cell(str(line.quantity))
            row.cell(pdf.txt(_eur(line.unit_price)))
            row.cell(pdf.txt(_eur(line.total_ht)))
    pdf.ln(3)

    # Totals.
    rate = f"{invoice.vat_rate:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    label_w, value_w = width * 0.30, width * 0.18
    for label, value, bold in (
        ("Total HT", invoice.total_ht, False),
        (f"TVA {rate} %", invoice.total_vat, False),
        ("Total TTC" if invoice.kind == CREDIT_NOTE else "Total TTC – net à payer", invoice.total_ttc, True),
    ):
        pdf.set_x(pdf.l_margin + width - label_w - value_w)
        pdf.font(10, bold)
        if bold:
            pdf.set_fill_color(*LIGHT)
        pdf.cell(label_w, 7, pdf.txt(label), fill=bold)
        pdf.cell(value_w, 7, pdf.txt(_eur(value)), align="R", fill=bold, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(5)

    # Payment and legal mentions.
    if invoice.kind != CREDIT_NOTE:
        pdf.line_text("Règlement", 10, bold=True, h=6)
        pdf.font(9)
        pdf.multi_cell(
            0,
            4.6,
            pdf.txt(
                f"À régler au plus tard le {_date(invoice.due_date)}, par virement sur le compte "
                f"IBAN {cfg['SERVICE_IBAN']} – BIC {cfg['SERVICE_BIC']}.\n"
                f"Référence à indiquer sur votre paiement : {invoice.number} / {invoice.buyer_code}."
            ),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.ln(2)
    else:
        pdf.font(9)
        pdf.multi_cell(
            0,
            4.6,
            pdf.txt(
                "Cet avoir vient en déduction des sommes dues ; il sera remboursé ou imputé "
                "sur votre prochaine facture."
            ),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.ln(2)
    pdf.font(7.5)
    pdf.set_text_color(60, 60, 60)
    pdf.multi_cell(
        0,
        3.8,
        pdf.txt(
            "Pas d'escompte pour paiement anticipé. En cas de retard de paiement, des pénalités de retard "
            "sont exigibles au taux de trois fois le taux d'intérêt légal (article L441-10 du Code de commerce), "
            "ainsi qu'une indemnité forfaitaire pour frais de recouvrement de 40 € (article D441-5 du Code "
            "de commerce)."
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(0, 0, 0)
    return bytes(pdf.output())
