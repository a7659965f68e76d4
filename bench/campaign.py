"""The January campaign: the busiest hour of a service of 400,000 employees, replayed on the
Procfile's server (gunicorn, 2 workers) at rising arrival rates.

Each arriving visitor is a person doing what people do during the annual declaration
campaign, through the real pages and forms, from an address of its own (X-Forwarded-For
behind one trusted proxy, PROXY_FIX_X_FOR=1, as in production):

- an employer who declares (55 %): login form, home, "Mes salariés", the declaration's
  review ("Ma cotisation"), "Confirmer" (the declaration is snapshotted, invoiced, its PDF
  made and its mail queued), "Mon espace documentaire", the new invoice downloaded;
- an employer who looks (25 %): login form, home, "Mes salariés" and its search,
  "Mon espace documentaire";
- an accountant (20 %): login form, "Mes entreprises", then three client companies opened
  through the switcher's search, each with its home and its declaration's review.

Visitors arrive as a Poisson process at a fixed rate (an open loop: a slow server does not
slow the arrivals down, as in real life). Each step holds one rate for --step-seconds; the
rate held is the highest whose p99 over every request stays under 300 ms with no error and
no visitor started more than a second late. The CPU each side used during a step (the
gunicorn workers, the PostgreSQL backends, this load generator) is read from /proc.

Usage (after bench/generate.py --json summary.json, on a fresh data set: confirmations change it):
    python bench/campaign.py --summary /tmp/bench.json [--rates 0.5 1 2 4] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402 - the bench's shared pieces (server, login form, requests)

ROOT = load.ROOT
DOC = load.DOC
P99_LIMIT_MS = 300.0
MIX = (("declare", 0.55), ("look", 0.25), ("accountant", 0.20))

# The busiest hour, estimated from the data set (docs/PERFORMANCE.md says why these shares).
SHARE_DECLARING_ON_PEAK_DAY = 0.12  # of the members, on the last working days before the deadline
SHARE_OF_DAY_IN_PEAK_HOUR = 0.15  # office hours, with a morning peak
ACCOUNTANT_SHARE = 0.20  # of the visitors; each declares for ~3 companies


class Recorder:
    """Latencies per request name, errors, late starts, for one step."""

    def __init__(self):
        self.lock = threading.Lock()
        self.samples: list[tuple[str, float]] = []
        self.errors: list[str] = []
        self.late = 0
        self.sessions = 0

    def timed(self, name, port, path, headers, method="GET", body=None, ok=(200,)):
        t0 = time.perf_counter()
        status, resp_headers, data = load._raw_request(port, path, headers, method, body)
        ms = (time.perf_counter() - t0) * 1000
        with self.lock:
            self.samples.append((name, ms))
            if status not in ok:
                self.errors.append(f"{name} {method} {path}: HTTP {status}")
        return status, resp_headers, data


class Visitor:
    """One person's visit: its own cookie jar and its own address."""

    def __init__(self, port: int, rec: Recorder, ip: str):
        self.port, self.rec = port, rec
        self.jar: dict[str, str] = {}
        self.ip = ip

    def _headers(self, extra=None):
        h = {"X-Forwarded-For": self.ip, "Cookie": load._jar_header(self.jar)}
        h.update(extra or {})
        return h

    def get(self, name, path, htmx=False, ok=(200,)):
        status, headers, body = self.rec.timed(name, self.port, path, self._headers(load.HX if htmx else None), ok=ok)
        load._cookie_jar(headers, self.jar)
        return status, headers, body

    def post(self, name, path, fields, ok=(200, 303)):
        body = urlencode(fields).encode()
        status, headers, data = self.rec.timed(
            name,
            self.port,
            path,
            self._headers({"Content-Type": "application/x-www-form-urlencoded"}),
            "POST",
            body,
            ok=ok,
        )
        load._cookie_jar(headers, self.jar)
        return status, headers, data

    def login(self, urls, email, password) -> bool:
        _, _, html = self.get("login page", urls["login"])
        _, _, html = self.post("login e-mail", urls["login"], {"csrf_token": load._csrf_token(html), "email": email})
        if b'name="password"' not in html:
            return False
        token = load._csrf_token(html)
        status, headers, _ = self.post(
            "login password", urls["password"], {"csrf_token": token, "email": email, "password": password}
        )
        if status != 303:
            return False
        location = dict((k.lower(), v) for k, v in headers).get("location", "/")
        self.get("landing", location, ok=(200, 303))
        return True


def journey_declare(v: Visitor, urls, user, password):
    if not v.login(urls, user["email"], password):
        return
    code = user["code"]
    v.get("home", urls["home"].format(code=code))
    v.get("Mes salariés", urls["employees"].format(code=code))
    _, _, html = v.get("declaration review", urls["cotisation"].format(code=code))
    token = re.search(rb'"X-CSRFToken": "([^"]+)"', html)
    if token is not None and b'name="attest"' in html:
        v.post("declaration confirm", urls["confirm"].format(code=code), {"csrf_token": token.group(1), "attest": "y"})
        _, _, docs = v.get("documents", urls["documents"].format(code=code))
        # The invoice just made is the newest document (the bench's older ones carry no PDF).
        links = re.findall(rb'href="([^"]*/documents/(\d+)/telecharger)"', docs)
        if links:
            v.get("invoice download", max(links, key=lambda m: int(m[1]))[0].decode())
    else:
        v.get("documents", urls["documents"].format(code=code))


def journey_look(v: Visitor, urls, user, password):
    if not v.login(urls, user["email"], password):
        return
    code = user["code"]
    v.get("home", urls["home"].format(code=code))
    v.get("Mes salariés", urls["employees"].format(code=code))
    v.get("employee search", urls["employees"].format(code=code) + "?q=MAR", htmx=True)
    v.get("documents", urls["documents"].format(code=code))


def journey_accountant(v: Visitor, urls, user, password):
    if not v.login(urls, user["email"], password):
        return
    v.get("Mes entreprises", urls["my_companies"])
    for code in user["clients"][:3]:
        v.get("switcher search", urls["switcher"].format(code=user["clients"][0]) + f"?q={code}", htmx=True)
        v.get("home", urls["home"].format(code=code))
        v.get("declaration review", urls["cotisation"].format(code=code))


JOURNEYS = {"declare": journey_declare, "look": journey_look, "accountant": journey_accountant}


def people(app, employers: int, accountants: int, seed: int = 7):
    """Employers (one per member company, distinct) and accountants with their clients."""
    from sqlalchemy import select

    from extensions import db
    from models import Company, Membership, User

    rng = random.Random(seed)
    with app.app_context():
        rows = db.session.execute(
            select(User.email, Company.code, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .join(Company, Company.id == Membership.company_id)
            .where(Membership.revoked_at.is_(None), Company.parent_id.is_(None))
        ).all()
        db.engine.dispose()
    by_user: dict[str, list[str]] = {}
    roles: dict[str, str] = {}
    for email, code, role in rows:
        by_user.setdefault(email, []).append(code)
        roles[email] = role
    solo = [e for e, codes in by_user.items() if len(codes) == 1 and e.startswith("employeur")]
    multi = [e for e, codes in by_user.items() if len(codes) >= 3]
    rng.shuffle(solo)
    rng.shuffle(multi)
    return (
        [{"email": e, "code": by_user[e][0]} for e in solo[:employers]],
        [{"email": e, "clients": sorted(by_user[e])} for e in multi[:accountants]],
    )


def cpu_ticks(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip().startswith("postgres"):
                pids.append(int(comm.parent.name))
        except OSError:
            continue
    return pids


def run_step(rate, seconds, port, urls, employers, accountants, password, server, rng) -> dict:
    rec = Recorder()
    pool = ThreadPoolExecutor(max_workers=96)
    start = time.monotonic()
    app_cpu0, db_cpu0, me0 = cpu_ticks(server.worker_pids()), cpu_ticks(postgres_pids()), time.process_time()
    at = 0.0
    while True:
        at += rng.expovariate(rate)
        if at >= seconds:
            break
        kind = rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
        pool_of = accountants if kind == "accountant" else employers
        if not pool_of:
            continue
        user = pool_of.pop()
        delay = start + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -1.0:
            rec.late += 1
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        rec.sessions += 1
        pool.submit(_safe, JOURNEYS[kind], Visitor(port, rec, ip), urls, user, password, rec)
    pool.shutdown(wait=True)
    wall = time.monotonic() - start
    app_cpu = cpu_ticks(server.worker_pids()) - app_cpu0
    db_cpu = cpu_ticks(postgres_pids()) - db_cpu0
    me = time.process_time() - me0
    lat = sorted(ms for _, ms in rec.samples)
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else lat * 99
    per_name: dict[str, list[float]] = {}
    for name, ms in rec.samples:
        per_name.setdefault(name, []).append(ms)
    return {
        "rate": rate,
        "sessions": rec.sessions,
        "requests": len(lat),
        "rps": len(lat) / wall if wall else 0,
        "p50": q[49] if lat else None,
        "p99": q[98] if lat else None,
        "errors": len(rec.errors),
        "error_samples": rec.errors[:5],
        "late": rec.late,
        "wall": wall,
        "cpu": {"app": app_cpu / wall, "database": db_cpu / wall, "load generator": me / wall},
        "cpu_seconds": {"app": app_cpu, "database": db_cpu, "load generator": me},
        "per_request": {
            n: {"count": len(v), "p99": statistics.quantiles(sorted(v), n=100)[98] if len(v) > 1 else v[0]}
            for n, v in sorted(per_name.items())
        },
    }


def _safe(journey, visitor, urls, user, password, rec):
    try:
        journey(visitor, urls, user, password)
    except Exception as exc:  # noqa: BLE001 - a broken visit is an error of the step, not a crash of the run
        with rec.lock:
            rec.errors.append(f"{journey.__name__}: {exc!r}")


def held(step: dict) -> bool:
    return (
        step["requests"] > 0
        and step["p99"] is not None
        and step["p99"] < P99_LIMIT_MS
        and not step["errors"]
        and step["late"] <= max(1, step["sessions"] // 100)
    )


def busiest_hour(counts: dict) -> dict:
    members = counts.get("members") or counts.get("companies", 0)
    per_day = members * SHARE_DECLARING_ON_PEAK_DAY
    per_hour = per_day * SHARE_OF_DAY_IN_PEAK_HOUR
    # An accountant's visit declares for about three companies: fewer visits for as many declarations.
    visits = per_hour * (1 - ACCOUNTANT_SHARE) + per_hour * ACCOUNTANT_SHARE / 3
    return {"members": members, "declarations_per_hour": per_hour, "visits_per_hour": visits}


def run(args) -> dict:
    summary = json.loads(Path(args.summary).read_text())
    database_url = args.database_url or summary["database_url"]
    secret = secrets.token_urlsafe(48)
    env = dict(
        os.environ,
        PORTAIL_ENV="production",
        SECRET_KEY=secret,
        DATABASE_URL=database_url,
        PYTHONUNBUFFERED="1",
        PROXY_FIX_X_FOR="1",
        MAIL_TRANSPORT="console",
    )
    env.pop("REDIS_URL", None)
    from flask import url_for

    from app import create_app

    app = create_app({"CONFIG": "production", "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secret})
    with app.test_request_context():
        c = "CODE"
        urls = {
            "login": url_for("auth.login"),
            "password": url_for("auth.password"),
            "home": url_for("companies.home", code=c),
            "employees": url_for("employees.index", code=c),
            "cotisation": url_for("billing.cotisation", code=c),
            "confirm": url_for(load.CONFIRM_ENDPOINT, code=c),
            "documents": url_for("billing.documents", code=c),
            "my_companies": url_for("companies.overview"),
            "switcher": url_for("companies.switch_search", code=c),
        }
    urls = {k: v.replace("CODE", "{code}") for k, v in urls.items()}
    steps_needed = int(sum(args.rates) * args.step_seconds * 1.5) + 50
    employers, accountants = people(app, steps_needed, max(20, steps_needed // 3))
    server = load.Server(args.port, env)
    print(f"Starting: {' '.join(load.procfile_web_command(args.port))}", flush=True)
    server.start()
    rng = random.Random(42)
    steps = []
    try:
        for rate in args.rates:
            step = run_step(
                rate,
                args.step_seconds,
                args.port,
                urls,
                employers,
                accountants,
                summary["credentials"]["password"],
                server,
                rng,
            )
            step["held"] = held(step)
            steps.append(step)
            print(
                f"  {rate:5.2f} visitors/s: {step['sessions']} visits, {step['rps']:6.1f} req/s,"
                f" p50 {load.fmt_ms(step['p50'])} ms, p99 {load.fmt_ms(step['p99'])} ms,"
                f" errors {step['errors']}, late {step['late']},"
                f" CPU app {step['cpu']['app']:.2f} / db {step['cpu']['database']:.2f}"
                f" / generator {step['cpu']['load generator']:.2f} cores"
                f" -> {'held' if step['held'] else 'NOT held'}",
                flush=True,
            )
            for sample in step["error_samples"]:
                print(f"      {sample}", flush=True)
            load.wait_idle(args.port)
            if not step["held"] and not args.all_rates:
                break
    finally:
        server.stop()
    return {
        "database": database_url.split(":", 1)[0].split("+")[0],
        "scale": summary["scale"],
        "counts": summary["counts"],
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": load.machine(),
        "step_seconds": args.step_seconds,
        "steps": steps,
        "busiest_hour": busiest_hour(summary["counts"]),
    }


def markdown_section(result: dict) -> str:
    db_name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(result["database"], result["database"])
    best = max((s for s in result["steps"] if s["held"]), key=lambda s: s["rate"], default=None)
    peak = result["busiest_hour"]
    lines = [
        f"#### {db_name}",
        "",
        f"Measured {result['date']} with `bench/campaign.py`, data set scale **{result['scale']}**,"
        f" {result['step_seconds']} s per step. Machine load average at the end:"
        f" {', '.join(f'{x:.1f}' for x in result['machine']['load'])}.",
        "",
        "| Arrivals (visitors/s) | Visits | req/s | p50 ms | p99 ms | errors | late starts"
        " | CPU app (cores) | CPU database | CPU load generator | held |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in result["steps"]:
        cpu = s["cpu"]
        db_cpu = f"{cpu['database']:.2f}" if result["database"] == "postgresql" else "in the app (SQLite)"
        lines.append(
            f"| {s['rate']:.2f} | {s['sessions']} | {s['rps']:.1f} | {load.fmt_ms(s['p50'])} |"
            f" {load.fmt_ms(s['p99'])} | {s['errors']} | {s['late']} | {cpu['app']:.2f} | {db_cpu} |"
            f" {cpu['load generator']:.2f} | {'yes' if s['held'] else 'no'} |"
        )
    if best:
        per_hour = best["rate"] * 3600
        headroom = per_hour / peak["visits_per_hour"] if peak["visits_per_hour"] else float("inf")
        lines += [
            "",
            f"Held: **{best['rate']:.2f} visitors/s** ({per_hour:,.0f} visits an hour, {best['rps']:.0f} req/s)"
            f" with p99 {load.fmt_ms(best['p99'])} ms. Busiest hour estimated from the data set:"
            f" {peak['members']:,} members × {SHARE_DECLARING_ON_PEAK_DAY:.0%} declaring on the peak day ×"
            f" {SHARE_OF_DAY_IN_PEAK_HOUR:.0%} of that day in its busiest hour ="
            f" {peak['declarations_per_hour']:,.0f} declarations, {peak['visits_per_hour']:,.0f} visits"
            f" (accountants declare ~3 companies a visit). Headroom: **×{headroom:,.0f}**.",
        ]
    else:
        lines += ["", "No step held p99 < 300 ms without errors."]
    slowest = result["steps"][-1]["per_request"] if result["steps"] else {}
    if slowest:
        lines += [
            "",
            "p99 per request at the last step: "
            + ", ".join(f"{n} {v['p99']:.0f} ms ({v['count']})" for n, v in slowest.items())
            + ".",
        ]
    return "\n".join(lines) + "\n"


def write_docs(result: dict) -> None:
    load.write_block("campaign", result["database"], markdown_section(result), "## Findings")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", help="the --json file written by bench/generate.py")
    parser.add_argument("--database-url", help="default: the one in the summary")
    parser.add_argument("--port", type=int, default=8775)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.5, 1, 2, 3, 4, 6, 8])
    parser.add_argument("--step-seconds", type=int, default=60)
    parser.add_argument("--all-rates", action="store_true", help="go on after a step that was not held")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--json", help="write the raw results here")
    parser.add_argument("--from-json", metavar="FILE", help="measure nothing: print a saved --json result")
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
