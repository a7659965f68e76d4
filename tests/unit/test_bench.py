"""The benchmark scripts keep working: a tiny data set loads, every scenario answers 200 for
its user, and the verdicts follow the issue's targets (docs/PERFORMANCE.md)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_data_set(tmp_path_factory):
    generate = _module("generate")
    folder = tmp_path_factory.mktemp("bench")
    url = f"sqlite:///{folder / 'bench.db'}"
    summary_file = folder / "summary.json"
    assert generate.main(["--database-url", url, "--scale", "0.004", "--json", str(summary_file)]) == 0
    return json.loads(summary_file.read_text())


def test_generate_writes_the_counts_and_the_known_users(tiny_data_set):
    counts = tiny_data_set["counts"]
    assert counts["companies"] >= 100
    # The big company keeps its 5,000 employees whatever the scale: it is a scenario of its own.
    assert counts["employees"] >= 5_000
    assert counts["visits"] > 0 and counts["slots"] > 0 and counts["invoices"] > 0
    creds = tiny_data_set["credentials"]
    assert creds["big_company"] == "00010"
    assert creds["employer"].endswith("@banc-essai.fr") and creds["accountant"].endswith("@banc-essai.fr")


def test_the_stored_next_due_visit_matches_the_rules_on_the_bench_data(tiny_data_set):
    from sqlalchemy import create_engine

    from services.employees import next_due

    engine = create_engine(tiny_data_set["database_url"])
    try:
        with engine.connect() as conn:
            report = next_due.recompute(conn, fix=False)
            due = conn.exec_driver_sql("SELECT COUNT(*) FROM employees WHERE next_due_date IS NOT NULL").scalar()
    finally:
        engine.dispose()
    assert report.checked == tiny_data_set["counts"]["employees"]
    assert report.differences == 0, report.examples
    assert due > 0


def test_every_scenario_answers_for_its_user(tiny_data_set):
    load = _module("load")
    from app import create_app

    url = tiny_data_set["database_url"]
    app = create_app(
        {
            "CONFIG": "production",
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "k" * 64,
            "REDIS_URL": None,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    creds = tiny_data_set["credentials"]
    code = creds["big_company"]
    cookies = {
        "employer": load.login_cookie(app, creds["employer"]),
        "accountant": load.login_cookie(app, creds["accountant"]),
        "staff": load.staff_cookie(app),
    }
    try:
        for sc in load.SCENARIOS:
            path = load.resolve(app, sc.route, code)
            assert path, f"{sc.key}: no route matches {sc.route!r}"
            if sc.query:
                path += ("&" if "?" in path else "?") + sc.query
            client = app.test_client()
            client.environ_base["wsgi.url_scheme"] = "https"
            if sc.user != "none":
                name, value = cookies[sc.user].split("=", 1)
                client.set_cookie(name, value, domain="localhost")
            headers = dict(load.HX) if sc.htmx else {}
            resp = client.get(path, headers=headers)
            assert resp.status_code == 200, f"{sc.key}: {path} answered {resp.status_code}"
            if sc.kind == "fragment":
                assert b"<html" not in resp.data, f"{sc.key}: a fragment answered a full page"
        assert load.resolve(app, load.EXPORT_ROUTE, code)
    finally:
        with app.app_context():
            from extensions import db

            db.engine.dispose()


def _result(**scenario):
    base = {"key": "healthz", "label": "/healthz", "kind": "ceiling", "path": "/healthz", "status": "measured"}
    ceiling = {**base, "rps": 1200.0, "p50": 5.0, "p99": 9.0, "requests": 12_000, "non2xx": 0, "bare_rps": 2000.0}
    s = {"key": "x", "label": "X", "path": "/x", "status": "measured", "requests": 1000, "non2xx": 0}
    s.setdefault("bare_rps", 2000.0)
    s.update(scenario)
    return {"scenarios": [ceiling, s]}


@pytest.mark.parametrize(
    ("kind", "rps", "p99", "verdict"),
    [
        ("fragment", 420.0, 40.0, "pass"),  # 21 % of the ceiling, p99 under 50 ms
        ("fragment", 380.0, 40.0, "FAIL"),  # 19 %
        ("fragment", 420.0, 55.0, "FAIL"),  # p99 too high
        ("page", 250.0, 90.0, "pass"),  # 12.5 %
        ("page", 230.0, 90.0, "FAIL"),  # 11.5 %
        ("page", 250.0, 120.0, "FAIL"),
    ],
)
def test_verdicts_follow_the_targets(kind, rps, p99, verdict):
    load = _module("load")
    rows = load.verdicts(_result(kind=kind, rps=rps, p50=p99 / 2, p99=p99))
    assert rows[1]["verdict"] == verdict


def test_the_adjacent_ceiling_is_used_when_measured():
    load = _module("load")
    result = _result(kind="page", rps=250.0, p50=10.0, p99=50.0, ceiling_rps=1000.0, bare_rps=2500.0)
    rows = load.verdicts(result)
    assert rows[1]["ratio"] == pytest.approx(0.10)
    assert rows[1]["verdict"] == "FAIL"
    # The same run against the portal's /healthz: a quarter of that ceiling.
    assert load.verdicts(result, "healthz")[1]["ratio"] == pytest.approx(0.25)
    # /healthz itself is reported against the bare app: what the per-request hooks cost.
    assert rows[0]["ratio"] == pytest.approx(0.60)


def test_without_a_bare_ceiling_there_is_no_verdict():
    load = _module("load")
    rows = load.verdicts(_result(kind="page", rps=250.0, p50=10.0, p99=50.0, bare_rps=None))
    assert rows[1]["verdict"] == "no ceiling measured"


def test_the_bare_app_runs_on_the_procfile_command():
    load = _module("load")
    portal = load.procfile_web_command(9000)
    bare = load.procfile_web_command(9000, load.BARE_APP)
    assert "app:create_app()" in portal and "bench.hello:create_app()" in bare
    assert [a for a in portal if a != "app:create_app()"] == [a for a in bare if a != "bench.hello:create_app()"]
    from bench.hello import create_app

    assert create_app().test_client().get("/").data == b"hello"


def test_bench_users_log_in_through_the_real_form(tiny_data_set):
    """The known users log in with the login form (e-mail, then password) on a real server."""
    import threading

    from werkzeug.serving import make_server

    load = _module("load")
    from app import create_app

    app = create_app(
        {
            "CONFIG": "production",
            "SQLALCHEMY_DATABASE_URI": tiny_data_set["database_url"],
            "SECRET_KEY": "k" * 64,
            "REDIS_URL": None,
            "RATELIMIT_STORAGE_URI": "memory://",
            "SESSION_COOKIE_SECURE": False,
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        creds = tiny_data_set["credentials"]
        cookie, seconds = load.form_login(
            server.port, "/connexion", "/connexion/mot-de-passe", creds["employer"], creds["password"]
        )
        assert seconds > 0
        with app.test_request_context():
            from flask import url_for

            page = url_for("employees.index", code=creds["big_company"])
        status, _, body = load.request(server.port, page, {"Cookie": cookie})
        assert status == 200 and "Mes salariés" in body.decode()
        with pytest.raises(RuntimeError, match="password step"):
            load.form_login(server.port, "/connexion", "/connexion/mot-de-passe", creds["employer"], "faux")
    finally:
        server.shutdown()
        with app.app_context():
            from extensions import db

            db.engine.dispose()


def test_rounds_are_combined_by_their_medians():
    load = _module("load")
    samples = [
        {"rps": 300.0, "p50": 40.0, "p99": 80.0, "requests": 2400, "non2xx": 0, "ceiling_rps": 2000.0},
        {"rps": 200.0, "p50": 60.0, "p99": 130.0, "requests": 1600, "non2xx": 0, "ceiling_rps": 2500.0},
        {"rps": 260.0, "p50": 45.0, "p99": 90.0, "requests": 2080, "non2xx": 1, "ceiling_rps": 2000.0},
    ]
    combined = load.combine_rounds(samples)
    assert combined["rps"] == 260.0 and combined["p99"] == 90.0 and combined["p50"] == 45.0
    assert combined["ratio"] == pytest.approx(0.13)  # median of 15 %, 8 %, 13 %
    assert combined["requests"] == 6080 and combined["non2xx"] == 1
    rows = load.verdicts(
        {"scenarios": [_result()["scenarios"][0], {**_result()["scenarios"][1], "kind": "page", **combined}]}
    )
    assert rows[1]["ratio"] == pytest.approx(0.13)


def test_the_campaign_replays_every_journey_on_the_real_server(tiny_data_set, tmp_path):
    """A short campaign step on gunicorn: every journey's pages are requested, CPU is split."""
    campaign = _module("campaign")
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps(tiny_data_set))
    args = campaign.argparse.Namespace(
        summary=str(summary), database_url=None, port=_free_port(), rates=[2.0], step_seconds=4, all_rates=True
    )
    result = campaign.run(args)
    step = result["steps"][0]
    assert step["sessions"] > 0 and step["requests"] >= step["sessions"] * 4
    names = set(step["per_request"])
    assert {"login page", "login e-mail", "login password", "home"} <= names
    assert step["cpu"]["app"] > 0
    # Only a broken data set or a refused login would show up as an error of a journey.
    assert not [e for e in step["error_samples"] if "journey_" in e]
    text = campaign.markdown_section(result)
    assert "| 2.00 |" in text
    assert ("Headroom" in text) == step["held"] and ("No step held" in text) == (not step["held"])


def test_the_busiest_hour_estimate():
    campaign = _module("campaign")
    peak = campaign.busiest_hour({"members": 20_000, "companies": 25_000})
    # 20,000 members x 12 % on the peak day x 15 % in its busiest hour = 360 declarations;
    # accountants (20 %) declare three companies a visit: 288 + 24 = 312 visits.
    assert peak["declarations_per_hour"] == pytest.approx(360)
    assert peak["visits_per_hour"] == pytest.approx(312)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_profile_splits_every_scenario(tiny_data_set, tmp_path):
    """bench/breakdown.py: every scenario's time split into SQL, templates, hooks and the rest."""
    breakdown = _module("breakdown")
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps(tiny_data_set))
    args = breakdown.argparse.Namespace(summary=str(summary), database_url=None, requests=2, warmup=1)
    result = breakdown.run(args)
    load = _module("load")
    assert [r["key"] for r in result["rows"]] == [s.key for s in load.SCENARIOS]
    for row in result["rows"]:
        parts = sum(row[f"{p}_ms"] for p in breakdown.PARTS)
        assert parts == pytest.approx(row["total_ms"])
        if row["kind"] != "ceiling":
            assert row["statements"] >= 1 and row["sql_ms"] > 0 and row["templates_ms"] > 0
    assert "| Member home |" in breakdown.markdown_section(result)


def test_a_section_is_written_once_then_replaced(tmp_path, monkeypatch):
    load = _module("load")
    doc = tmp_path / "PERFORMANCE.md"
    doc.write_text("# Performance\n\n## Findings\n")
    monkeypatch.setattr(load, "DOC", doc)
    load.write_block("campaign", "sqlite", "first run\n", "## Findings")
    load.write_block("campaign", "sqlite", "second run\n", "## Findings")
    text = doc.read_text()
    assert "second run" in text and "first run" not in text
    assert text.index("second run") < text.index("## Findings") and text.count("campaign:sqlite:start") == 1
