"""Per-request cost of the foundation (issue #10): the session and its user in one query, and
the remembered company written once, not on every visit."""

from sqlalchemy import select

from extensions import db
from models import User
from tests.conftest import count_queries, login
from tests.factories import make_company, make_member


def test_session_user_is_loaded_with_the_session_and_repeat_visits_do_not_write(client):
    company = make_company("00010")
    user = make_member(company)
    db.session.commit()
    login(client, user)

    with count_queries() as first:
        assert client.get("/entreprises/00010/").status_code == 200
    assert any(s.lstrip().upper().startswith("UPDATE USERS") for s in first)  # remembered once
    db.session.expire_all()
    assert db.session.execute(select(User.last_company_id).where(User.id == user.id)).scalar_one() == company.id

    with count_queries() as second:
        assert client.get("/entreprises/00010/").status_code == 200
    writes = [s for s in second if s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
    assert writes == []
    sessions = [s for s in second if "FROM login_sessions" in s]
    assert len(sessions) == 1 and "JOIN users" in sessions[0]  # the user comes with the session
    lazy_user_loads = [s for s in second if s.lstrip().startswith("SELECT users.") and "WHERE users.id" in s]
    assert lazy_user_loads == []
