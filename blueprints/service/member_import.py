"""Back office: upload of the member CSV, with the same whole-file check as the CLI."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import BooleanField

from blueprints.base_form import PortailForm
from blueprints.htmx import render
from blueprints.service import bp
from blueprints.service.access import staff_required
from extensions import db
from services.staff.member_import import apply_member_import, parse_member_csv

MAX_FILE_BYTES = 5 * 1024 * 1024


class MemberImportForm(PortailForm):
    file = FileField("Fichier CSV des adhérents")
    dry_run = BooleanField("Vérifier seulement (ne rien enregistrer)")

    def validate_file(self, field):
        from wtforms.validators import ValidationError

        upload = field.data
        if not upload or not getattr(upload, "filename", ""):
            raise ValidationError("Choisissez le fichier CSV à importer.")


@bp.get("/adherents/import")
@staff_required()
def member_import():
    """The upload form."""
    return render("service/member_import.html", "service/_member_import.html", form=MemberImportForm())


@bp.post("/adherents/import")
@staff_required()
def member_import_post():
    """Check the whole file; import nothing on any error, else apply it in one transaction."""
    form = MemberImportForm()
    if not form.validate_on_submit():
        return render("service/member_import.html", "service/_member_import.html", form=form, status=422)
    data = form.file.data.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        form.file.errors.append("Le fichier dépasse 5 Mo.")
        return render("service/member_import.html", "service/_member_import.html", form=form, status=422)
    parsed = parse_member_csv(data)
    if parsed.errors:
        return render(
            "service/member_import.html", "service/_member_import.html", form=form, errors=parsed.errors, status=422
        )
    filename = (form.file.data.filename or "adherents.csv")[:100]
    summary = apply_member_import(parsed.rows, current_user, dry_run=form.dry_run.data, source=f"upload:{filename}")
    if form.dry_run.data:
        db.session.rollback()
    else:
        db.session.commit()
    current_app.logger.info("member import by staff %s: %s", current_user.id, summary)
    return render("service/member_import.html", "service/_member_import.html", form=MemberImportForm(), summary=summary)
