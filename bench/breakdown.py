"""Where each millisecond of a scenario goes, in process: SQL, templates, the per-request
hooks (before and after the view), and the rest (the view's own Python, Flask, Werkzeug).

Usage (after bench/generate.py --json summary.json):
    python bench/breakdown.py --summary /tmp/bench.json [--requests 30] [--write-docs]

Each scenario of bench/load.py is requested by its user through the Flask test client, after
a warm-up, --requests times; the split is the mean per request. SQL is timed by SQLAlchemy's
cursor events (statements counted too); templates between `before_render_template` and
`template_rendered` (minus the SQL run while rendering); hooks by timing the app's
`preprocess_request` and `process_response`. A bare Flask app (bench/hello.py) on the same
test client gives what the client and Werkzeug cost on their own. In-process figures: the
ratios between the parts hold on a busy machine, the absolute times do not (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402 - the scenarios and their routes

DOC = load.DOC
PARTS = ("sql", "templates", "hooks_before", "hooks_after", "rest")


class Split:
    """Accumulates the time of each part during one request."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.sql = 0.0
        self.statements = 0
        self.templates = 0.0
        self.hooks_before = 0.0
        self.hooks_after = 0.0
        self._sql_at_render: list[tuple[float, float]] = []
        self._cursor_start = 0.0


def instrument(app, split: Split) -> None:
    from flask import before_render_template, template_rendered
    from sqlalchemy import event

    from extensions import db

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(*_args):
        split._cursor_start = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(*_args):
        split.sql += time.perf_counter() - split._cursor_start
        split.statements += 1

    def _render_start(_app, **_kw):
        split._sql_at_render.append((time.perf_counter(), split.sql))

    def _render_end(_app, **_kw):
        if split._sql_at_render:
            t0, sql0 = split._sql_at_render.pop()
            split.templates += (time.perf_counter() - t0) - (split.sql - sql0)

    before_render_template.connect(_render_start, app, weak=False)
    template_rendered.connect(_render_end, app, weak=False)

    preprocess, process_response = app.preprocess_request, app.process_response

    def timed_preprocess():
        t0, sql0 = time.perf_counter(), split.sql
        try:
            return preprocess()
        finally:
            split.hooks_before += (time.perf_counter() - t0) - (split.sql - sql0)

    def timed_process_response(response):
        t0, sql0 = time.perf_counter(), split.sql
        try:
            return process_response(response)
        finally:
            split.hooks_after += (time.perf_counter() - t0) - (split.sql - sql0)

    app.preprocess_request = timed_preprocess
    app.process_response = timed_process_response


@contextmanager
def client_for(app, cookie: str | None):
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    if cookie:
        name, value = cookie.split("=", 1)
        client.set_cookie(name, value, domain="localhost")
    yield client


def measure(client, path: str, headers: dict, split: Split, requests: int, warmup: int) -> dict:
    for _ in range(warmup):
        client.get(path, headers=headers)
    totals, parts = [], {p: [] for p in PARTS}
    statements = []
    for _ in range(requests):
        split.reset()
        t0 = time.perf_counter()
        resp = client.get(path, headers=headers)
        total = time.perf_counter() - t0
        if resp.status_code != 200:
            raise RuntimeError(f"{path} answered HTTP {resp.status_code}")
        totals.append(total)
        known = split.sql + split.templates + split.hooks_before + split.hooks_after
        for p, v in (
            ("sql", split.sql),
            ("templates", split.templates),
            ("hooks_before", split.hooks_before),
            ("hooks_after", split.hooks_after),
            ("rest", total - known),
        ):
            parts[p].append(v)
        statements.append(split.statements)
    return {
        "total_ms": statistics.mean(totals) * 1000,
        **{f"{p}_ms": statistics.mean(v) * 1000 for p, v in parts.items()},
        "statements": statistics.mean(statements),
        "bytes": len(resp.data),
    }


def run(args) -> dict:
    summary = json.loads(Path(args.summary).read_text())
    database_url = args.database_url or summary["database_url"]
    creds = summary["credentials"]
    from app import create_app

    app = create_app(
        {
            "CONFIG": "production",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "p" * 64,
            "REDIS_URL": None,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    split = Split()
    instrument(app, split)
    cookies = {who: load.login_cookie(app, creds[who]) for who in ("employer", "accountant")}
    cookies["staff"] = load.staff_cookie(app)
    code = creds["big_company"]
    rows = []
    import hello  # bench/hello.py, on sys.path like load.py

    bare = hello.create_app()
    bare_client = bare.test_client()
    for _ in range(args.warmup):
        bare_client.get("/")
    t0 = time.perf_counter()
    for _ in range(args.requests * 10):
        bare_client.get("/")
    bare_ms = (time.perf_counter() - t0) / (args.requests * 10) * 1000
    for sc in load.SCENARIOS:
        path = load.resolve(app, sc.route, code)
        if path is None:
            continue
        if sc.query:
            path += ("&" if "?" in path else "?") + sc.query
        headers = dict(load.HX) if sc.htmx else {}
        with client_for(app, cookies.get(sc.user)) as client:
            res = measure(client, path, headers, split, args.requests, args.warmup)
        rows.append({"key": sc.key, "label": sc.label, "kind": sc.kind, "path": path, **res})
        print(
            f"  {sc.label:<45} {res['total_ms']:6.2f} ms: SQL {res['sql_ms']:5.2f} ({res['statements']:.0f} st.),"
            f" templates {res['templates_ms']:5.2f}, hooks {res['hooks_before_ms']:5.2f}"
            f" + {res['hooks_after_ms']:5.2f}, rest {res['rest_ms']:5.2f}",
            flush=True,
        )
    with app.app_context():
        from extensions import db

        db.engine.dispose()
    return {
        "database": database_url.split(":", 1)[0].split("+")[0],
        "scale": summary["scale"],
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": load.machine(),
        "requests": args.requests,
        "bare_ms": bare_ms,
        "rows": rows,
    }


def markdown_section(result: dict) -> str:
    db_name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(result["database"], result["database"])
    lines = [
        f"#### {db_name}",
        "",
        f"Measured {result['date']} with `bench/breakdown.py`, data set scale **{result['scale']}**, mean of"
        f" {result['requests']} requests after a warm-up, Flask test client (the bare Flask app costs"
        f" {result['bare_ms']:.2f} ms a request on it). Machine load average:"
        f" {', '.join(f'{x:.1f}' for x in result['machine']['load'])}.",
        "",
        "| Scenario | total ms | SQL ms (statements) | templates ms | hooks before ms | hooks after ms"
        " | rest ms (view, Flask, Werkzeug) | SQL share |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        share = r["sql_ms"] / r["total_ms"] if r["total_ms"] else 0
        lines.append(
            f"| {r['label']} | {r['total_ms']:.2f} | {r['sql_ms']:.2f} ({r['statements']:.0f}) |"
            f" {r['templates_ms']:.2f} | {r['hooks_before_ms']:.2f} | {r['hooks_after_ms']:.2f} |"
            f" {r['rest_ms']:.2f} | {share:.0%} |"
        )
    return "\n".join(lines) + "\n"


def write_docs(result: dict) -> None:
    load.write_block("profile", result["database"], markdown_section(result), "### Remaining gaps and their causes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", help="the --json file written by bench/generate.py")
    parser.add_argument("--database-url", help="default: the one in the summary")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--json", help="write the raw results here")
    parser.add_argument("--from-json", metavar="FILE")
    args = parser.parse_args(argv)
    if not args.summary and not args.from_json:
        parser.error("--summary is required (or --from-json)")
    result = json.loads(Path(args.from_json).read_text()) if args.from_json else run(args)
    print()
    print(markdown_section(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    if args.write_docs:
        write_docs(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
