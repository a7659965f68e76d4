from tests.conftest import login
from tests.factories import make_company, make_member
from extensions import db

def test_smoke(client):
    c = make_company("00010"); u = make_member(c); db.session.commit(); login(client, u)
    for p in ["/entreprises/00010/compte", "/entreprises/00010/compte/entreprise", "/compte", "/entreprises/00010/utilisateurs", "/entreprises/00010/contact", "/entreprises/00010/messages", "/faq", "/faq?q=tiers"]:
        r = client.get(p)
        assert r.status_code == 200, (p, r.get_data(as_text=True)[:3000])
