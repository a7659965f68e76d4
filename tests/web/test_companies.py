"""The member space across companies: switcher, "Ajouter une entreprise", roles, "Mes entreprises"."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from blueprints import navigation
from blueprints.navigation import Rubrique
from extensions import db
from models import AuditEvent, Company, Membership, OutboxMessage
from models.base import utcnow
from models.companies import ROLE_ACCOUNTANT
from services.companies import attention
from tests.conftest import count_queries, csrf_token, login
from tests.factories import make_company, make_employee, make_member, make_membership, make_user

NUMBER = "ABCD-EFGH-JKMN"


@pytest.fixture
def member_group():
    """00010 with its sites 00010-2 (Paimpol) and 00010-5 (Dinan), and another member 00020."""
    parent = make_company("00010", name="Boulangerie Le Goff", city="Saint-Brieuc")
    make_company("00010-2", parent=parent, name="Boulangerie Le Goff", city="Paimpol")
    make_company("00010-5", parent=parent, name="Boulangerie Le Goff", city="Dinan")
    other = make_company("00020", name="Garage Morvan", city="Lannion", teledeclarant="WXYZ-2345-6789")
    user = make_member(parent, first_name="Anne", last_name="Le Goff")
    db.session.commit()
    return parent, other, user


@pytest.fixture
def test_rubriques():
    """Rubriques registered only for the test (the real ones come with later features)."""
    added = [
        Rubrique("t_salaries", "Mes salariés", "companies.home", "Test", "employees", 30),
        Rubrique("t_planning", "Mon planning", "companies.home", "Test", "planning", 40),
        Rubrique("t_cotisation", "Ma cotisation", "companies.home", "Test", "declaration", 50),
    ]
    before = dict(navigation._RUBRIQUES)
    for r in added:
        navigation.register(r)
    yield added
    navigation._RUBRIQUES.clear()
    navigation._RUBRIQUES.update(before)


def _post_add(client, app, data):
    token = csrf_token(client, "/entreprises/ajouter")
    return client.post("/entreprises/ajouter", data={**data, "csrf_token": token})


# --------------------------------------------------------------------------- switcher


def _menu(client, code: str, depuis: str = "companies.home") -> str:
    """The switcher menu's content as htmx loads it on first open."""
    response = client.get(f"/entreprises/{code}/changer/menu?depuis={depuis}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_switcher_lists_member_then_sites_then_others(client, member_group):
    parent, other, user = member_group
    make_membership(user, other)
    db.session.commit()
    login(client, user)
    page = client.get("/entreprises/00010/").get_data(as_text=True)
    assert 'aria-controls="switcher-menu"' in page and "/entreprises/00010/changer?depuis" in page
    assert 'hx-trigger="switcher:open once"' in page and "Vos succursales" not in page
    html = _menu(client, "00010")
    assert "<html" not in html and "00010 - Boulangerie Le Goff" in html
    head = html.index('href="/entreprises/00010/"')
    sites = html.index("Vos succursales")
    dinan = html.index("00010-5 - Boulangerie Le Goff (Dinan)")
    paimpol = html.index("00010-2 - Boulangerie Le Goff (Paimpol)")
    garage = html.index("00020 - Garage Morvan")
    add = html.index("Ajouter une entreprise")
    assert head < sites < paimpol < dinan < garage < add
    assert "Toutes mes entreprises" in html
    assert 'aria-label="Changer d\'entreprise"' in html


def test_switcher_links_open_the_same_page_for_the_other_company(client, member_group):
    parent, other, user = member_group
    make_membership(user, other)
    db.session.commit()
    login(client, user)
    html = client.get("/entreprises/00010/changer?depuis=companies.home").get_data(as_text=True)
    assert 'href="/entreprises/00020/"' in html and 'href="/entreprises/00010-5/"' in html
    # An unknown or non-company endpoint falls back to the home page.
    html = client.get("/entreprises/00010/changer?depuis=public.home").get_data(as_text=True)
    assert 'href="/entreprises/00020/"' in html and "/changer?depuis=companies.home" in html


def test_switch_page_search_without_javascript(client, member_group):
    parent, other, user = member_group
    make_membership(user, other)
    db.session.commit()
    login(client, user)
    html = client.get("/entreprises/00010/changer?q=lannion").get_data(as_text=True)
    assert "<h1>Changer d'entreprise</h1>" in html
    assert "Résultats pour « lannion »" in html and 'href="/entreprises/00020/"' in html


def test_switch_widget_fragment_for_htmx(client, member_group):
    _parent, _other, user = member_group
    login(client, user)
    response = client.get("/entreprises/00010/changer?depuis=companies.home", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert 'id="company-switcher"' in body and "/entreprises/00010/changer/menu?depuis=companies.home" in body
    assert "Vos succursales" not in body  # the refreshed widget loads its menu on the next open


def _accountant_with(n: int):
    user = make_user(first_name="Paul", last_name="Comptable")
    now = utcnow()
    for i in range(n):
        company = make_company(
            f"{30000 + i:05d}", name=f"Client {i:03d}", city="Rennes" if i % 2 else "Brest", teledeclarant=None
        )
        db.session.add(Membership(user=user, company=company, role=ROLE_ACCOUNTANT, created_at=now))
    db.session.flush()
    db.session.commit()
    return user


def test_switcher_for_many_companies_shows_ten_and_a_search(client):
    user = _accountant_with(30)
    login(client, user)
    menu = _menu(client, "30000")
    assert "Rechercher une entreprise" in menu
    assert menu.count('<li><a href="/entreprises/3') == 11  # the active member and the 10 most recent
    assert "autres entreprises" in menu


def test_switcher_search_filters_by_code_name_or_town(client):
    user = _accountant_with(30)
    login(client, user)
    html = client.get("/entreprises/30000/changer/recherche?q=Client 007", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert "Client 007" in html and "Client 008" not in html
    html = client.get("/entreprises/30000/changer/recherche?q=30012").get_data(as_text=True)
    assert "30012 - Client 012" in html
    html = client.get("/entreprises/30000/changer/recherche?q=rennes").get_data(as_text=True)
    assert html.count("<li>") == 15
    html = client.get("/entreprises/30000/changer/recherche?q=client").get_data(as_text=True)
    assert html.count("<li>") == 20 and "10 autres résultats" in html
    html = client.get("/entreprises/30000/changer/recherche?q=%25").get_data(as_text=True)
    assert "Aucune entreprise ne correspond" in html


@pytest.mark.parametrize("q", ["x" * 5000, "\x00", "'; DROP TABLE companies; --", "<script>alert(1)</script>", "😀"])
def test_switcher_search_odd_input_never_fails(client, q):
    user = _accountant_with(2)
    login(client, user)
    response = client.get("/entreprises/30000/changer/recherche", query_string={"q": q})
    assert response.status_code == 200
    assert "<script>alert" not in response.get_data(as_text=True)


def test_switcher_search_query_count_is_fixed(client):
    user = _accountant_with(300)
    login(client, user)
    client.get("/entreprises/30000/changer/recherche?q=client")  # warm up
    with count_queries() as few:
        client.get("/entreprises/30000/changer/recherche?q=client")
    make_company("39999", name="Client 999", teledeclarant=None)
    db.session.commit()
    with count_queries() as many:
        assert client.get("/entreprises/30000/changer/recherche?q=client").status_code == 200
    assert len(few) == len(many) <= 10


def test_page_with_switcher_query_count_is_fixed(client):
    big = _accountant_with(300)
    small = make_user()
    for code in ("30000", "30001", "30002"):
        from models import Company

        make_membership(
            small, db.session.execute(select(Company).where(Company.code == code)).scalar_one(), ROLE_ACCOUNTANT
        )
    db.session.commit()
    counts = []
    for user in (small, big):
        login(client, user)
        client.get("/entreprises/30000/")
        with count_queries() as queries:
            assert client.get("/entreprises/30000/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_switcher_queries_run_only_in_the_menu_fragment(client, member_group, app):
    """The header renders the toggle alone: the switcher's queries run when the menu opens."""
    from services.companies.switcher import switcher_menu

    parent, other, user = member_group
    make_membership(user, other)
    db.session.commit()
    assert user.email and parent.code  # load the expired rows outside the count
    with app.test_request_context(), count_queries() as menu_queries:
        switcher_menu(user, parent)
    db.session.rollback()
    assert len(menu_queries) >= 2  # the member and its sites, the other companies
    login(client, user)
    client.get("/entreprises/00010/")
    with count_queries() as page:
        assert client.get("/entreprises/00010/").status_code == 200
    with count_queries() as fragment:
        _menu(client, "00010")
    assert not set(menu_queries) & set(page)  # none of the switcher's queries on the page
    assert set(menu_queries) <= set(fragment)
    # (No length comparison with the home any more: the home reads its "À faire" items, a fixed
    # number of queries counted by tests/web/test_todo.py.)


def test_switcher_menu_fragment_other_company_is_404(client, member_group):
    _parent, other, user = member_group
    login(client, user)
    response = client.get("/entreprises/00020/changer/menu", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert client.get("/entreprises/99999/changer/menu", headers={"HX-Request": "true"}).status_code == 404


def test_switcher_menu_fragment_without_htmx_is_the_switch_page(client, member_group):
    _parent, _other, user = member_group
    login(client, user)
    html = client.get("/entreprises/00010/changer/menu?depuis=companies.home").get_data(as_text=True)
    assert "<h1>Changer d'entreprise</h1>" in html and "Vos succursales" in html


def test_switcher_menu_fragment_query_count_is_fixed(client):
    big = _accountant_with(300)
    small = make_user()
    for code in ("30000", "30001", "30002"):
        from models import Company

        make_membership(
            small, db.session.execute(select(Company).where(Company.code == code)).scalar_one(), ROLE_ACCOUNTANT
        )
    db.session.commit()
    counts = []
    for user in (small, big):
        login(client, user)
        _menu(client, "30000")
        with count_queries() as queries:
            menu = _menu(client, "30000")
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 12
    assert menu.count('<li><a href="/entreprises/3') == 11 and "Rechercher une entreprise" in menu


# --------------------------------------------------------------------------- adding a company


def test_add_company_page_without_javascript(client, member_group, smtp_server):
    parent, other, user = member_group
    colleague = make_member(other, email="garage@example.test")
    db.session.commit()
    login(client, user)
    page = client.get("/entreprises/ajouter").get_data(as_text=True)
    for label in (
        "Connexion à votre espace",
        "Code adhérent",
        "N° télédéclarant",
        "Je suis tiers déclarant de l&#39;entreprise",
        "Valider",
        "Annuler",
    ):
        assert label in page
    response = _post_add(
        client, None, {"code": "00020", "number": "wxyz 2345 6789".replace(" ", "-"), "accountant": "y"}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/entreprises/ajouter?ajout=00020")
    membership = db.session.execute(
        select(Membership).where(Membership.user_id == user.id, Membership.company_id == other.id)
    ).scalar_one()
    assert membership.role == ROLE_ACCOUNTANT
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "L&#39;entreprise 00020 - Garage Morvan a été ajoutée" in follow
    assert "Ouvrir l'espace de 00020 - Garage Morvan" in follow
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "company.linked")).scalar_one()
    assert event.company_id == other.id and event.actor_id == user.id
    assert "WXYZ" not in str(event.details)
    mail = db.session.execute(select(OutboxMessage)).scalar_one()
    assert mail.recipients == [colleague.email]
    assert "Anne Le Goff" in mail.body_text and "tiers déclarant" in mail.body_text
    assert "http://portail.test/espace" in mail.body_text
    assert client.get("/entreprises/00020/").status_code == 200


def test_add_company_htmx_answers_fragment_and_triggers_switcher_refresh(client, member_group):
    parent, other, user = member_group
    login(client, user)
    token = csrf_token(client, "/entreprises/ajouter")
    response = client.post(
        "/entreprises/ajouter",
        data={"code": "00020", "number": "WXYZ-2345-6789", "csrf_token": token},
        headers={"HX-Request": "true", "HX-Target": "add-company-body"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert response.headers["HX-Trigger"] == "companyLinked"
    assert "Ajouter une autre entreprise" in body and "a été ajoutée" in body
    membership = db.session.execute(select(Membership).where(Membership.company_id == other.id)).scalar_one()
    assert membership.role == "employeur"
    html = _menu(client, "00010")
    assert "00020 - Garage Morvan" in html


@pytest.mark.parametrize(
    "data,message",
    [
        ({"code": "", "number": ""}, "Saisissez le code adhérent."),
        ({"code": "00020", "number": ""}, "Saisissez le n° télédéclarant."),
        ({"code": "0002\n0", "number": "x"}, "une seule ligne"),
        ({"code": "x" * 300, "number": "x"}, "9 caractères au plus."),
        ({"code": "00020", "number": "WRONG"}, "Code adhérent et/ou n° télédéclarant incorrect"),
        ({"code": "99999", "number": "WXYZ-2345-6789"}, "Code adhérent et/ou n° télédéclarant incorrect"),
    ],
)
def test_add_company_bad_input_answers_422_with_the_form(client, member_group, data, message):
    _parent, _other, user = member_group
    login(client, user)
    response = _post_add(client, None, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html.replace("&#39;", "'")
    assert 'name="code"' in html
    assert db.session.execute(select(Membership).where(Membership.user_id == user.id)).scalars().all().__len__() == 1


def test_add_company_is_limited_per_code(client, member_group):
    _parent, _other, user = member_group
    login(client, user)
    for i in range(5):
        assert _post_add(client, None, {"code": "00020", "number": f"WRONG{i}"}).status_code == 422
    response = _post_add(client, None, {"code": "00020", "number": "WXYZ-2345-6789"})
    assert response.status_code == 429 and "Trop de tentatives" in response.get_data(as_text=True)


def test_add_company_already_member_no_duplicate(client, member_group):
    parent, _other, user = member_group
    login(client, user)
    response = _post_add(client, None, {"code": "00010", "number": NUMBER})
    assert response.status_code == 303
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Vous avez déjà accès à l&#39;entreprise 00010 - Boulangerie Le Goff" in follow
    assert db.session.query(Membership).filter_by(user_id=user.id).count() == 1
    assert db.session.query(AuditEvent).filter_by(action="company.linked").count() == 0
    assert db.session.query(OutboxMessage).count() == 0


def test_add_company_reactivates_a_revoked_membership(client, member_group):
    _parent, other, user = member_group
    old = make_membership(user, other, "employeur", revoked_at=utcnow())
    db.session.commit()
    login(client, user)
    assert client.get("/entreprises/00020/").status_code == 404
    _post_add(client, None, {"code": "00020", "number": "WXYZ-2345-6789", "accountant": "y"})
    db.session.refresh(old)
    assert old.revoked_at is None and old.role == ROLE_ACCOUNTANT
    assert db.session.query(Membership).filter_by(user_id=user.id).count() == 2
    assert client.get("/entreprises/00020/").status_code == 200


def test_staff_cannot_add_companies(client, member_group):
    from tests.factories import make_staff

    staff = make_staff()
    db.session.commit()
    login(client, staff)
    assert client.get("/entreprises/ajouter").status_code == 404
    assert client.get("/mes-entreprises").status_code == 404


# --------------------------------------------------------------------------- roles


def test_navigation_shows_only_what_the_role_allows(client, member_group, test_rubriques):
    parent, other, user = member_group
    make_membership(user, other, ROLE_ACCOUNTANT)
    db.session.commit()
    login(client, user)
    employer = client.get("/entreprises/00010/").get_data(as_text=True)
    assert "Mes salariés" in employer and "Mon planning" in employer and "Ma cotisation" in employer
    accountant = client.get("/entreprises/00020/").get_data(as_text=True)
    assert "Mes salariés" in accountant and "Ma cotisation" in accountant
    assert "Mon planning" not in accountant


def test_rights_of_each_role():
    from services.companies.access import RIGHTS

    assert {"employees", "declaration", "invoices", "documents", "planning"} <= RIGHTS["employeur"]
    assert RIGHTS["tiers_declarant"] == {"employees", "declaration", "invoices"}


def test_planning_right_is_enforced_by_the_server(app, member_group):
    """A view needing `planning` answers 403 to a tiers déclarant, 200 to the employer."""
    from flask import g
    from werkzeug.exceptions import Forbidden

    from blueprints.scoping import company_view

    parent, other, user = member_group
    make_membership(user, other, ROLE_ACCOUNTANT)
    db.session.commit()

    @company_view(right="planning")
    def planning_page(company):
        return company.code

    assert planning_page.required_right == "planning" and planning_page.company_scoped
    with app.test_request_context("/entreprises/00020/planning"):
        g._login_user = user
        with pytest.raises(Forbidden):
            planning_page(code="00020")
    with app.test_request_context("/entreprises/00010/planning"):
        g._login_user = user
        assert planning_page(code="00010") == "00010"


def test_switch_link_falls_back_to_home_when_the_role_lacks_the_right(app, member_group):
    from blueprints.companies import routes
    from services.companies.switcher import Reach

    parent, other, _user = member_group
    with app.test_request_context():
        app.extensions["company_page_endpoints"] = {"companies.home": None, "x.planning": "planning"}
        try:
            assert routes.switch_link(Reach(other, ROLE_ACCOUNTANT), "x.planning") == "/entreprises/00020/"
        finally:
            app.extensions.pop("company_page_endpoints")


# --------------------------------------------------------------------------- /espace and Mes entreprises


def test_espace_goes_to_overview_with_several_companies_and_no_last_one(client, member_group):
    parent, other, user = member_group
    make_membership(user, other)
    db.session.commit()
    login(client, user)
    response = client.get("/espace")
    assert response.status_code == 303 and response.headers["Location"].endswith("/mes-entreprises")
    client.get("/entreprises/00020/")
    assert client.get("/espace").headers["Location"].endswith("/entreprises/00020/")


def test_espace_one_member_with_sites_opens_the_member_home(client, member_group):
    """Seed step 4, "CAS PARTICULIER": the member's home, its sites in the switcher."""
    parent, _other, user = member_group
    db.session.commit()
    login(client, user)
    assert client.get("/espace").headers["Location"].endswith(f"/entreprises/{parent.code}/")


def test_espace_single_company_opens_it(client):
    user = make_member(make_company("00010"))
    db.session.commit()
    login(client, user)
    assert client.get("/espace").headers["Location"].endswith("/entreprises/00010/")


def test_overview_lists_companies_with_role_employees_and_attention(client, member_group):
    parent, other, user = member_group
    make_membership(user, other, ROLE_ACCOUNTANT)
    make_employee(parent)
    make_employee(parent)
    make_employee(parent, exit_date=date(2020, 1, 1))
    db.session.commit()
    login(client, user)
    html = client.get("/mes-entreprises").get_data(as_text=True)
    assert "<h1>Mes entreprises</h1>" in html and "4 entreprises" in html
    row = html.split('href="/entreprises/00010/"')[1].split("</tr>")[0]
    assert "Employeur" in row and ">2<" in row and "Rien à signaler" in row
    row = html.split('href="/entreprises/00020/"')[1].split("</tr>")[0]
    assert "Tiers déclarant" in row and "Aucun salarié déclaré" in row and "Lannion" in row


def test_overview_sort_search_and_pages(client):
    user = _accountant_with(60)
    login(client, user)
    html = client.get("/mes-entreprises?tri=name&ordre=desc").get_data(as_text=True)
    assert html.index("Client 059") < html.index("Client 058")
    assert 'aria-sort="descending"' in html and "Page 1 sur 3" in html
    html = client.get("/mes-entreprises?page=3").get_data(as_text=True)
    assert "Client 050" in html and "Client 010" not in html
    html = client.get("/mes-entreprises?q=client 01", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in html and "10 entreprises" in html
    for odd in ("?page=abc", "?page=-4", "?tri=evil&ordre=sideways", "?q=" + "x" * 3000):
        assert client.get("/mes-entreprises" + odd).status_code == 200


def test_overview_query_count_is_fixed(client):
    user = _accountant_with(300)
    login(client, user)
    client.get("/mes-entreprises")
    with count_queries() as queries:
        assert client.get("/mes-entreprises?tri=employees&page=5").status_code == 200
    assert len(queries) <= 10


def _row(html: str, code: str) -> str:
    return html.split(f'href="/entreprises/{code}/"')[1].split("</tr>")[0]


def test_overview_and_search_reach_sites_active_companies_and_live_links_only(client, member_group):
    """Sites come through the member's link; a direct link on a site gives its own role;
    inactive companies and revoked links are left out, in the list and in the search."""
    parent, other, user = member_group
    site = db.session.execute(select(Company).where(Company.code == "00010-5")).scalar_one()
    make_membership(user, site, ROLE_ACCOUNTANT)
    make_membership(user, make_company("00030", name="Fermée", active=False))
    make_membership(user, make_company("00040", name="Ancienne"), revoked_at=utcnow())
    db.session.commit()
    login(client, user)
    html = client.get("/mes-entreprises").get_data(as_text=True)
    assert "3 entreprises" in html
    assert "Employeur" in _row(html, "00010-2") and "Tiers déclarant" in _row(html, "00010-5")
    assert "00020" not in html and "00030" not in html and "00040" not in html
    html = client.get("/entreprises/00010/changer/recherche?q=0", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert html.count("<li>") == 3 and "00030" not in html and "00040" not in html


def test_overview_sort_by_employees_and_a_page_past_the_end(client):
    user = _accountant_with(30)
    companies = {c.code: c for c in db.session.execute(select(Company)).scalars()}
    for _ in range(3):
        make_employee(companies["30003"])
    make_employee(companies["30003"], exit_date=date(2020, 1, 1))
    make_employee(companies["30007"])
    db.session.commit()
    login(client, user)
    html = client.get("/mes-entreprises?tri=employees&ordre=desc").get_data(as_text=True)
    assert html.index("Client 003") < html.index("Client 007") < html.index("Client 000")
    assert ">3<" in _row(html, "30003") and "Rien à signaler" in _row(html, "30003")
    assert "Aucun salarié déclaré" in _row(html, "30000")
    with count_queries() as past:
        html = client.get("/mes-entreprises?page=99").get_data(as_text=True)
    assert "Page 2 sur 2" in html and "Client 029" in html and "Client 010" not in html
    with count_queries() as queries:
        client.get("/mes-entreprises?page=2")
    assert len(past) == len(queries) + 2  # the count, then the last page


def test_overview_attention_uses_the_page_counts(client, member_group):
    """ "Aucun salarié déclaré" comes from the counts the page read: no second employee query."""
    parent, other, user = member_group
    make_membership(user, other)
    make_employee(parent)
    db.session.commit()
    login(client, user)
    client.get("/mes-entreprises")
    with count_queries() as queries:
        html = client.get("/mes-entreprises").get_data(as_text=True)
    assert "Rien à signaler" in _row(html, "00010") and "Aucun salarié déclaré" in _row(html, "00020")
    assert not [s for s in queries if "GROUP BY employees.company_id" in s]
    assert attention.labels_for([other.id]) == {other.id: ["Aucun salarié déclaré"]}  # outside the page


def test_attention_registry_accepts_providers():
    company = make_company("00010")
    make_employee(company)
    db.session.commit()

    def unpaid(ids):
        return {ids[0]: ["Facture impayée"]}

    company_id = company.id
    with count_queries() as baseline:  # the providers other features registered
        attention.labels_for([company_id])
    attention.register(unpaid)
    try:
        with count_queries() as queries:
            labels = attention.labels_for([company_id])
        assert labels == {company_id: ["Facture impayée"]}
        assert len(queries) == len(baseline)  # the test provider runs no query
    finally:
        attention.unregister(unpaid)
    assert attention.labels_for([]) == {}
