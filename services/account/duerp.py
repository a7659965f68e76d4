"""Mon DUERP: upload a version of the document unique (checked by its content, never by its
name), list the versions, read one. Every version is kept: article L4121-3-1 of the Code du
travail (each version kept 40 years, sent to the service at each update)."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile

from sqlalchemy import func, select

from extensions import db
from models.companies import Company
from models.duerp import DuerpVersion
from services.core import audit

MAX_DUERP_BYTES = 7 * 1024 * 1024  # under MAX_CONTENT_LENGTH (8 MB) with the form around it
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
KIND_LABELS = {
    "pdf": "PDF",
    "odt": "Texte OpenDocument",
    "ods": "Classeur OpenDocument",
    "docx": "Word",
    "xlsx": "Excel",
}


class DuerpError(ValueError):
    """A refused upload; the message is French."""


def detect_kind(raw: bytes) -> str | None:
    """pdf, odt, ods, docx or xlsx from the bytes themselves, else None."""
    if raw.startswith(b"%PDF-"):
        return "pdf"
    if not raw.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
                return {CONTENT_TYPES["odt"]: "odt", CONTENT_TYPES["ods"]: "ods"}.get(mimetype)
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names:
                    return "docx"
                if "xl/workbook.xml" in names:
                    return "xlsx"
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return None
    return None


def _clean_filename(name: str | None, kind: str) -> str:
    """A safe display name: no path, no control characters, the right extension."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip() or "duerp"
    stem = base.rsplit(".", 1)[0][:100] if "." in base else base[:100]
    return f"{stem}.{kind}"


def upload_version(company: Company, filename: str | None, raw: bytes, actor) -> DuerpVersion:
    """Keep a new version; the caller commits. Raises DuerpError (French)."""
    if not raw:
        raise DuerpError("Choisissez le fichier de votre document unique.")
    if len(raw) > MAX_DUERP_BYTES:
        raise DuerpError("Le fichier dépasse 7 Mo : enregistrez-le en PDF ou réduisez les images.")
    kind = detect_kind(raw)
    if kind is None:
        raise DuerpError("Ce fichier n'est ni un PDF, ni un document ODT, ODS, DOCX ou XLSX (son contenu est vérifié).")
    last = db.session.execute(
        select(func.max(DuerpVersion.version)).where(DuerpVersion.company_id == company.id)
    ).scalar_one()
    version = DuerpVersion(
        company_id=company.id,
        version=(last or 0) + 1,
        filename=_clean_filename(filename, kind),
        kind=kind,
        content_type=CONTENT_TYPES[kind],
        size=len(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
        content=raw,
        uploaded_by_id=getattr(actor, "id", None),
        uploaded_by_label=f"{actor.first_name} {actor.last_name}".strip() if actor else "—",
    )
    db.session.add(version)
    db.session.flush()
    audit.record("duerp.uploaded", actor=actor, company=company, target=version, version=version.version, kind=kind)
    return version


def versions(company_id: int) -> list[DuerpVersion]:
    """Newest first, without their content (one query)."""
    return list(
        db.session.execute(
            select(DuerpVersion).where(DuerpVersion.company_id == company_id).order_by(DuerpVersion.version.desc())
        ).scalars()
    )


def attachment_name(company: Company, version: DuerpVersion) -> str:
    """ "duerp-00010-v3.pdf": no personal data in a file name."""
    return f"duerp-{company.code}-v{version.version}.{version.kind}"


def record_download(version: DuerpVersion, actor, company: Company | None = None) -> None:
    audit.record("duerp.downloaded", actor=actor, company=company, target=version, version=version.version)
