"""Mon DUERP (L4121-3-1): versions kept and listed, checked by content, employer only, the
staff see and download them."""

import io

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, DuerpVersion
from models.companies import ROLE_ACCOUNTANT
from tests.conftest import csrf_token, login
from tests.duerp_samples import PDF, docx, odt, plain_zip, xlsx
from tests.factories import make_company, make_member
from tests.web.service_helpers import staff_logged_in

PAGE = "/entreprises/00010/duerp"


def upload(client, content: bytes, name="duerp.pdf", path=PAGE):
    token = csrf_token(client, path)
    return client.post(
        path, data={"csrf_token": token, "file": (io.BytesIO(content), name)}, content_type="multipart/form-data"
    )


@pytest.fixture
def employer(client):
    company = make_company("00010", name="Boulangerie Le Goff")
    user = make_member(company, first_name="Yann", last_name="Morvan")
    db.session.commit()
    login(client, user)
    return user


def test_duerp_versions_are_kept_and_listed(client, employer):
    page = client.get(PAGE).get_data(as_text=True)
    assert "<h1>Mon DUERP</h1>" in page and "L4121-3-1" in page and "40 ans" in page
    for content, name in ((PDF, "DUERP 2025.pdf"), (odt(), "duerp.odt"), (docx(), "x.docx"), (xlsx(), "x.xlsx")):
        assert upload(client, content, name).status_code == 303
    rows = db.session.scalars(select(DuerpVersion).order_by(DuerpVersion.version)).all()
    assert [(v.version, v.kind) for v in rows] == [(1, "pdf"), (2, "odt"), (3, "docx"), (4, "xlsx")]
    html = client.get(PAGE).get_data(as_text=True)
    assert "4 (en vigueur)" in html and "DUERP 2025.pdf" in html and "Yann Morvan" in html
    download = client.get(f"{PAGE}/{rows[0].id}/telecharger")
    assert download.data == PDF and 'filename="duerp-00010-v1.pdf"' in download.headers["Content-Disposition"]
    actions = list(db.session.scalars(select(AuditEvent.action)))
    assert actions.count("duerp.uploaded") == 4 and "duerp.downloaded" in actions


@pytest.mark.parametrize(
    "content, name, message",
    [
        (b"", "vide.pdf", "Choisissez le fichier"),
        (b"MZ\x90\x00 not a pdf", "duerp.pdf", "Ce fichier n&#39;est ni un PDF"),  # the name lies
        (plain_zip(), "duerp.docx", "Ce fichier n&#39;est ni un PDF"),
        (b"%PDF-" + b"0" * (7 * 1024 * 1024), "gros.pdf", "dépasse 7 Mo"),
    ],
)
def test_duerp_refused_files_write_nothing(client, employer, content, name, message):
    response = upload(client, content, name)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html
    assert db.session.scalar(select(func.count(DuerpVersion.id))) == 0


def test_duerp_is_the_employers_and_company_scoped(client):
    company = make_company("00010")
    accountant = make_member(company, role=ROLE_ACCOUNTANT)
    other = make_member(make_company("00020"))
    db.session.commit()
    login(client, accountant)
    assert client.get(PAGE).status_code == 403
    login(client, other)
    assert client.get(PAGE).status_code == 404
    owner = make_member(company)
    db.session.commit()
    login(client, owner)
    upload(client, PDF)
    version = db.session.scalars(select(DuerpVersion)).one()
    login(client, other)
    assert client.get(f"/entreprises/00020/duerp/{version.id}/telecharger").status_code == 404


def test_staff_see_and_download_the_versions(client, employer):
    upload(client, PDF, "DUERP 2026.pdf")
    version = db.session.scalars(select(DuerpVersion)).one()
    staff_logged_in(client)
    html = client.get("/service/adherents/00010").get_data(as_text=True)
    assert "Document unique (DUERP)" in html and "Version 1 – DUERP 2026.pdf" in html
    assert client.get(f"/service/adherents/00010/duerp/{version.id}").data == PDF
    assert client.get(f"/service/adherents/00020/duerp/{version.id}").status_code == 404
