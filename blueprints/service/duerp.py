"""The staff side of Mon DUERP: the versions on a member's page, and their download."""

from __future__ import annotations

from blueprints.account.duerp import version_download
from blueprints.service import bp
from blueprints.service.access import staff_required
from services import scope
from services.account import duerp
from services.staff.dashboard import Link, MemberSection, SectionRow, register_member_section


@register_member_section
def duerp_section(company) -> MemberSection:
    """DUERP (L4121-3-1): every version the member uploaded, newest first."""
    rows = [
        SectionRow(
            f"Version {v.version} – {v.filename}",
            f"déposée le {v.created_at:%d/%m/%Y} par {v.uploaded_by_label}",
            Link("service.duerp_download", {"code": company.code, "version_id": v.id}),
        )
        for v in duerp.versions(company.id)
    ]
    return MemberSection("duerp", "Document unique (DUERP)", rows, empty_text="Aucun DUERP déposé.", order=60)


@bp.get("/adherents/<code>/duerp/<int:version_id>")
@staff_required()
def duerp_download(code: str, version_id: int):
    """Download a version of a member's DUERP (audited)."""
    company = scope.company_by_code(code)
    return version_download(company, scope.duerp_version(company, version_id))
