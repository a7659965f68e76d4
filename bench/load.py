"""Measure the portal under load: gunicorn as in the Procfile, wrk at 16 connections, each
scenario against the bare Flask ceiling (bench/hello.py on the same gunicorn command) and the
portal's own /healthz; results written to docs/PERFORMANCE.md.

Usage (after bench/generate.py --json summary.json):
    python bench/load.py --summary /tmp/bench.json [--duration 10] [--write-docs]

Logging in: each bench user logs in once through the real login form (e-mail step, then the
password step, as a browser does); the session cookie it gets is reused by every request. The
login itself (argon2 on purpose) is timed once per user and reported, not part of the
throughput numbers.
The staff agent of the convocation scenarios needs a second factor: its session is opened
directly (services.auth.sessions, as tests/conftest.py browser_login does) with the factor
marked done.
A scenario whose route is not in this deployment is reported "not available".
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import http.client
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOC = ROOT / "docs" / "PERFORMANCE.md"
HX = {"HX-Request": "true"}

# ---------------------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    key: str
    label: str
    kind: str  # page | fragment | ceiling
    user: str  # employer | accountant | staff | none
    # Regex matched against "endpoint rule" of the URL map; the first GET rule that matches
    # (and whose only arguments are `code`) is used.
    route: str
    query: str = ""
    htmx: bool = False
    # filled at run time
    path: str | None = None
    status: str = ""
    result: dict = field(default_factory=dict)


SCENARIOS = [
    Scenario("healthz", "/healthz (ceiling)", "ceiling", "none", r"^public\.healthz "),
    Scenario("home", "Member home", "page", "employer", r"^companies\.home "),
    Scenario("employees", "Mes salariés (page)", "page", "employer", r" /entreprises/<[^>]*code>/salaries/?$"),
    Scenario(
        "employee_search",
        "Employee search (fragment)",
        "fragment",
        "employer",
        r" /entreprises/<[^>]*code>/salaries/?$",
        query="q=MART",
        htmx=True,
    ),
    Scenario(
        "switcher",
        "Switcher search, 300 companies (fragment)",
        "fragment",
        "accountant",
        r"(/changer/recherche|switch[^ ]*search|selecteur[^ ]*recherche)",
        query="q=Bou",
        htmx=True,
    ),
    Scenario("my_companies", "Mes entreprises (page)", "page", "accountant", r" /mes-entreprises/?$"),
    Scenario("planning_week", "Planning week (page)", "page", "employer", r" /entreprises/<[^>]*code>/planning/?$"),
    Scenario(
        "free_slots",
        "Free slots (fragment)",
        "fragment",
        "employer",
        r" /entreprises/<[^>]*code>/planning/.*(creneaux|disponib|libres|slots)",
        htmx=True,
    ),
    # The service's convocation list: every member's employees due, by date (stored next due
    # visit, ix_employees_next_due); a staff agent with the second factor done.
    Scenario("convocations", "Convocation list, all members (page)", "page", "staff", r"^service\.convocations "),
    Scenario(
        "convocations_late",
        "Convocation list, one kind (fragment)",
        "fragment",
        "staff",
        r"^service\.convocations ",
        query="type=vip_initial",
        htmx=True,
    ),
    Scenario("documents", "Documents list (page)", "page", "employer", r" /entreprises/<[^>]*code>/documents/?$"),
    Scenario(
        "declaration",
        "Declaration, 5,000 employees (page)",
        "page",
        "employer",
        r" /entreprises/<[^>]*code>/(cotisation|declaration)/?$",
        # The review of the 5,000 employees, also once a declaration exists (a correction).
        query="corriger=1",
    ),
]
EXPORT_ROUTE = r" /entreprises/<[^>]*code>/salaries/.*(export|csv)"
CONFIRM_ENDPOINT = "billing.confirm"  # POST: confirm the declaration (attest), then snapshot + invoice
TARGETS = {"fragment": (0.20, 50.0), "page": (0.12, 100.0)}


def resolve(app, scenario_route: str, code: str) -> str | None:
    """The path of the first GET rule matching the regex, with <code> filled in."""
    pattern = re.compile(scenario_route)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()):
            continue
        if not pattern.search(f"{rule.endpoint} {rule.rule}"):
            continue
        if set(rule.arguments) - {"code"}:
            continue
        return re.sub(r"<[^>]*code>", code, rule.rule)
    return None


# ---------------------------------------------------------------------------- server


PORTAL_APP = "app:create_app()"
BARE_APP = "bench.hello:create_app()"


def procfile_web_command(port: int, app_spec: str = PORTAL_APP) -> list[str]:
    """The Procfile's `web` command on `port`; `app_spec` replaces the portal's app (the bare
    ceiling runs the same gunicorn, workers and gunicorn.conf.py)."""
    line = next(ln for ln in (ROOT / "Procfile").read_text().splitlines() if ln.startswith("web:"))
    command = line.split(":", 1)[1].strip().replace("${PORT:-8000}", str(port)).replace("$PORT", str(port))
    argv = shlex.split(command)
    venv_bin = Path(sys.executable).parent
    if (venv_bin / argv[0]).exists():
        argv[0] = str(venv_bin / argv[0])
    argv = [app_spec if a == PORTAL_APP else a for a in argv]
    return [a.replace("0.0.0.0", "127.0.0.1") for a in argv]  # noqa: S104 - replaced, not bound


class Server:
    def __init__(self, port: int, env: dict[str, str], app_spec: str = PORTAL_APP, probe: str = "/healthz"):
        self.port = port
        self.env = env
        self.app_spec = app_spec
        self.probe = probe
        self.proc: subprocess.Popen | None = None
        self.log = open(f"/tmp/bench-gunicorn-{port}.log", "w")  # noqa: SIM115, S108 - closed in stop()

    def start(self, timeout: float = 60.0) -> None:
        self.proc = subprocess.Popen(
            procfile_web_command(self.port, self.app_spec),
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see /tmp/bench-gunicorn-{self.port}.log")
            try:
                status, _, _ = request(self.port, self.probe)
                if status == 200 and len(self.worker_pids()) >= 1:
                    time.sleep(1.0)  # let the second worker boot too
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer /healthz in time")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:  # kernel without /proc/.../children: scan the parent pids
            pids = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid:
                    pids.append(int(stat.parent.name))
            return pids

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"VmRSS:\s+(\d+) kB", status)
            if match:
                sizes.append(int(match.group(1)) / 1024)
        return sizes

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def request(port: int, path: str, headers: dict | None = None, method: str = "GET", body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------- load tools


def ensure_wrk() -> str | None:
    """wrk from Debian, installed like scripts/setup.sh installs Chromium; None if impossible."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(
            [*sudo, "apt-get", "install", "-y", "-qq", "wrk"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=300,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return shutil.which("wrk")


def _parse_ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(wrk: str, port: int, path: str, headers: dict, seconds: int, connections: int, threads: int) -> dict:
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _parse_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _parse_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "requests": total,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
        "timeouts": int(re.search(r"timeout (\d+)", errors.group(0)).group(1)) if errors else 0,
    }


def wait_idle(port: int, timeout: float = 120.0) -> None:
    """Wait until the server answers /healthz quickly again (its queue has drained)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        with contextlib.suppress(OSError):
            request(port, "/healthz")
        if time.perf_counter() - t0 < 0.05:
            return
        time.sleep(0.5)


def run_threads(port: int, path: str, headers: dict, seconds: int, connections: int) -> dict:
    """Fallback without wrk: keep-alive http.client connections in threads."""
    latencies: list[float] = []
    non2xx = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local, bad = [], 0
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            local.append((time.perf_counter() - t0) * 1000)
            bad += resp.status >= 400
        conn.close()
        with lock:
            latencies.extend(local)
            non2xx[0] += bad

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "rps": len(latencies) / seconds,
        "p50": q[49],
        "p99": q[98],
        "requests": len(latencies),
        "non2xx": non2xx[0],
        "socket_errors": "",
        "timeouts": 0,
    }


# ---------------------------------------------------------------------------- helpers


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram": ram,
        "python": platform.python_version(),
        "load": os.getloadavg(),
    }


def _cookie_jar(headers: list[tuple[str, str]], jar: dict[str, str]) -> None:
    for name, value in headers:
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _, val = pair.partition("=")
            jar[key.strip()] = val.strip()


def _jar_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _raw_request(port: int, path: str, headers: dict, method: str = "GET", body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def _csrf_token(html: bytes) -> str:
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(rb'"X-CSRFToken": "([^"]+)"', html)
    if match is None:
        raise RuntimeError("no CSRF token on the login page")
    return match.group(1).decode()


def form_login(port: int, login_path: str, password_path: str, email: str, password: str) -> tuple[str, float]:
    """Log in through the real form as a browser does (page, e-mail step, password step, then
    the landing page); returns the Cookie header and the seconds the two POSTs took."""
    from urllib.parse import urlencode

    jar: dict[str, str] = {}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, headers, html = _raw_request(port, login_path, {})
    _cookie_jar(headers, jar)
    if status != 200:
        raise RuntimeError(f"login page answered HTTP {status}")
    t0 = time.perf_counter()
    body = urlencode({"csrf_token": _csrf_token(html), "email": email}).encode()
    status, headers, html = _raw_request(port, login_path, {**form, "Cookie": _jar_header(jar)}, "POST", body)
    _cookie_jar(headers, jar)
    if status != 200 or b'name="password"' not in html:
        raise RuntimeError(f"e-mail step for {email} answered HTTP {status} without the password step")
    body = urlencode({"csrf_token": _csrf_token(html), "email": email, "password": password}).encode()
    status, headers, _ = _raw_request(port, password_path, {**form, "Cookie": _jar_header(jar)}, "POST", body)
    seconds = time.perf_counter() - t0
    _cookie_jar(headers, jar)
    if status not in (302, 303):
        raise RuntimeError(f"password step for {email} answered HTTP {status} (wrong bench password?)")
    location = dict((k.lower(), v) for k, v in headers).get("location", "/")
    # The first page after login puts the CSRF token in the session, as a browser's would: the
    # measured requests then never re-sign the cookie.
    status, headers, _ = _raw_request(port, location, {"Cookie": _jar_header(jar)})
    _cookie_jar(headers, jar)
    return _jar_header(jar), seconds


def login_cookie(app, email: str) -> str:
    """A signed session cookie for a fresh server-side session of `email`, without the form:
    tests/unit/test_bench.py uses it on the test client (the load run logs in with form_login)."""
    from sqlalchemy import func, select

    from extensions import db
    from models import User
    from services.auth import sessions

    with app.app_context():
        user = db.session.execute(select(User).where(func.lower(User.email) == email.lower())).scalar_one()
        with app.test_request_context("/"):
            token = sessions.open_session(user, ip="127.0.0.1", user_agent="bench/load.py")
            db.session.commit()
            serializer = app.session_interface.get_signing_serializer(app)
            # A browser keeps the CSRF token Flask-WTF put in its cookie on the first page;
            # giving it one up front keeps every measured response from re-signing the cookie.
            value = serializer.dumps({"sid": token, "csrf_token": secrets.token_hex(20)})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


STAFF_EMAIL = "agent@bench.test"


def staff_cookie(app) -> str:
    """A session cookie of a staff agent (created once) whose second factor is done."""
    from sqlalchemy import func, select

    from extensions import db
    from models import User
    from models.base import utcnow
    from models.users import KIND_STAFF, LoginSession
    from services.auth import sessions

    with app.app_context():
        user = db.session.execute(select(User).where(func.lower(User.email) == STAFF_EMAIL)).scalar_one_or_none()
        if user is None:
            user = User(
                email=STAFF_EMAIL,
                first_name="Agent",
                last_name="Bench",
                kind=KIND_STAFF,
                staff_role="agent",
                active=True,
                must_change_password=False,
                totp_enabled_at=utcnow(),
            )
            db.session.add(user)
            db.session.commit()
        with app.test_request_context("/"):
            token = sessions.open_session(user, ip="127.0.0.1", user_agent="bench/load.py")
            db.session.flush()
            row = db.session.execute(
                select(LoginSession).where(LoginSession.token_hash == sessions._token_hash(token))
            ).scalar_one()
            row.second_factor_at = utcnow()
            db.session.commit()
            serializer = app.session_interface.get_signing_serializer(app)
            value = serializer.dumps({"sid": token, "csrf_token": secrets.token_hex(20)})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def first_load(port: int, path: str) -> dict:
    """Bytes transferred (gzip accepted) for the HTML and the CSS/JS it references."""
    gz = {"Accept-Encoding": "gzip"}
    status, headers, body = request(port, path, gz)
    total = len(body)
    html = gzip.decompress(body).decode() if headers.get("Content-Encoding") == "gzip" else body.decode()
    refs = re.findall(r'<(?:link[^>]+href|script[^>]+src)="([^"]+)"', html)
    third_party = [r for r in refs if r.startswith(("http://", "https://", "//"))]
    assets = []
    for ref in refs:
        if ref in third_party or not ref.endswith((".css", ".js")):
            continue
        st, h, b = request(port, ref, gz)
        assets.append({"path": ref, "status": st, "bytes": len(b), "encoding": h.get("Content-Encoding", "")})
        total += len(b)
    gzipped = headers.get("Content-Encoding") == "gzip"
    return {
        "path": path,
        "status": status,
        "html_bytes": len(body),
        "html_gzip": gzipped,
        "assets": assets,
        "total_bytes": total,
        "third_party": third_party,
    }


def confirm_declaration(app, port: int, cookie: str, code: str) -> dict | None:
    """Time the POST that confirms the big company's declaration (snapshot of 5,000 employees,
    invoice, PDF, mail queued). A second run on the same data confirms a correction."""
    if CONFIRM_ENDPOINT not in app.view_functions:
        return None
    from flask import url_for

    with app.test_request_context():
        page = url_for("billing.cotisation", code=code)
        target = url_for(CONFIRM_ENDPOINT, code=code)
    status, _, html = request(port, page, {"Cookie": cookie})
    if status == 200 and b'name="attest"' not in html:  # already confirmed: confirm a correction
        status, _, html = request(port, page + "?corriger=1", {"Cookie": cookie})
    token = re.search(rb'"X-CSRFToken": "([^"]+)"', html)
    if status != 200 or token is None:
        return {"path": target, "status": status, "seconds": None, "note": "page unavailable"}
    correcting = b'name="correction"' in html
    body = f"attest=y&csrf_token={token.group(1).decode()}" + ("&correction=1" if correcting else "")
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true"}
    t0 = time.perf_counter()
    status, resp_headers, answer = request(port, target, headers, "POST", body.encode())
    seconds = time.perf_counter() - t0
    confirmed = status in (200, 204, 303) and (
        "HX-Redirect" in resp_headers or "HX-Location" in resp_headers or status == 303
    )
    return {"path": target, "status": status, "seconds": seconds, "confirmed": confirmed, "correction": correcting}


def fmt_ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


# ---------------------------------------------------------------------------- main run


def run(args) -> dict:
    summary = json.loads(Path(args.summary).read_text())
    database_url = args.database_url or summary["database_url"]
    creds = summary["credentials"]
    secret = secrets.token_urlsafe(48)
    env = dict(os.environ, PORTAIL_ENV="production", SECRET_KEY=secret, DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    env.pop("REDIS_URL", None)
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url

    from app import create_app

    app = create_app(
        {
            "CONFIG": "production",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": secret,
            "REDIS_URL": args.redis_url,
            "RATELIMIT_STORAGE_URI": args.redis_url or "memory://",
        }
    )
    code = creds["big_company"]
    for sc in SCENARIOS:
        if args.only and sc.key not in args.only and sc.kind != "ceiling":
            sc.path = None
            sc.status = "skipped (--only)"
            continue
        sc.path = resolve(app, sc.route, code)
        if sc.path and sc.query:
            sc.path += ("&" if "?" in sc.path else "?") + sc.query
    export_path = resolve(app, EXPORT_ROUTE, code)
    login_path = resolve(app, r"^auth\.login ", code)
    with app.test_request_context():
        from flask import url_for

        password_path = url_for("auth.password")
    with app.app_context():
        from extensions import db

        db.engine.dispose()

    wrk = None if args.no_wrk else ensure_wrk()
    tool = f"wrk ({wrk})" if wrk else "python threads (wrk unavailable)"
    server = Server(args.port, env)
    bare = Server(args.port + 1, env, BARE_APP, probe="/")
    print(f"Starting: {' '.join(procfile_web_command(args.port))}", flush=True)
    print(f"Starting the bare ceiling: {' '.join(procfile_web_command(args.port + 1, BARE_APP))}", flush=True)
    server.start()
    bare.start()
    extra: dict = {}
    try:
        cookies, extra["login_seconds"] = {}, {}
        for who in ("employer", "accountant"):
            cookies[who], extra["login_seconds"][who] = form_login(
                args.port, login_path, password_path, creds[who], creds["password"]
            )
        cookies["staff"] = staff_cookie(app)

        def measure(path, hdrs, seconds, port=args.port):
            if wrk:
                return run_wrk(wrk, port, path, hdrs, seconds, args.connections, args.threads)
            return run_threads(port, path, hdrs, seconds, args.connections)

        def measure_bare(seconds):
            return measure("/", {}, seconds, port=bare.port)

        runnable = []
        for sc in SCENARIOS:
            if sc.status == "skipped (--only)":
                continue
            if sc.path is None:
                sc.status = "not available"
                print(f"  {sc.label:<45} not available (no such route yet)", flush=True)
                continue
            headers = {"Cookie": cookies[sc.user]} if sc.user != "none" else {}
            if sc.htmx:
                headers.update(HX)
            status, resp_headers, body = request(args.port, sc.path, headers)
            sc.result["bytes"] = len(body)
            if status != 200:
                sc.status = f"HTTP {status}"
                print(f"  {sc.label:<45} {sc.path}: HTTP {status}, not measured", flush=True)
                continue
            runnable.append((sc, headers))
        # Several rounds over every scenario, each followed by the ceiling: a virtual machine's
        # speed drifts by tens of percent from one minute to the next, so one sample of 10 s
        # says little. Each round gives a ratio against the ceiling measured right after the
        # scenario; the table shows the medians over the rounds.
        rounds: dict[str, list[dict]] = {sc.key: [] for sc, _ in runnable}
        for round_no in range(1, args.rounds + 1):
            print(f"Round {round_no}/{args.rounds}", flush=True)
            for sc, headers in runnable:
                if args.warmup:
                    measure(sc.path, headers, args.warmup)
                res = measure(sc.path, headers, args.duration)
                if not res["requests"]:
                    res["p50"] = res["p99"] = None
                if sc.kind != "ceiling":
                    wait_idle(args.port)  # slow scenarios leave queued requests behind
                if sc.kind != "ceiling" and args.ceiling_each:
                    res["ceiling_rps"] = measure("/healthz", {}, args.ceiling_each)["rps"]
                if args.ceiling_each or sc.kind == "ceiling":
                    res["bare_rps"] = measure_bare(args.ceiling_each or args.duration)["rps"]
                rounds[sc.key].append(res)
                print(
                    f"  {sc.label:<45} {res['rps']:8.1f} req/s  p50 {fmt_ms(res['p50'])} ms"
                    f"  p99 {fmt_ms(res['p99'])} ms  ceiling {res.get('ceiling_rps', res['rps']):7.1f}"
                    f"  timeouts {res.get('timeouts', 0)}",
                    flush=True,
                )
        for sc, _ in runnable:
            sc.result.update(combine_rounds(rounds[sc.key]))
            non2xx = sc.result["non2xx"]
            sc.status = "measured" if not non2xx else f"measured, {non2xx} non-2xx"
        extra["rss_mb"] = server.worker_rss_mb()
        # Login page first load (or the public home while auth.login is not in the tree).
        extra["first_load"] = first_load(args.port, login_path or "/")
        extra["first_load"]["is_login_page"] = bool(login_path)
        # Every fragment's size (the target holds for each of them).
        extra["fragments"] = [
            {"label": s.label, "bytes": s.result["bytes"]}
            for s in SCENARIOS
            if s.kind == "fragment" and s.result.get("bytes")
        ]
        # CSV export of the 5,000 employees.
        if export_path:
            t0 = time.perf_counter()
            status, _, body = request(args.port, export_path, {"Cookie": cookies["employer"]})
            extra["export"] = {
                "path": export_path,
                "status": status,
                "seconds": time.perf_counter() - t0,
                "bytes": len(body),
            }
        else:
            extra["export"] = None
        extra["declaration_confirm"] = confirm_declaration(app, args.port, cookies["employer"], code)
    finally:
        server.stop()
        bare.stop()
    return {
        "database": app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0].split("+")[0],
        "database_url": re.sub(r"//[^@/]*@", "//", database_url),
        "scale": summary["scale"],
        "counts": summary["counts"],
        "load_seconds": summary["timings"]["total"],
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "tool": tool,
        "settings": {
            "connections": args.connections,
            "threads": args.threads,
            "duration": args.duration,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "ceiling_each": args.ceiling_each,
            "redis": bool(args.redis_url),
        },
        "scenarios": [
            {"key": s.key, "label": s.label, "kind": s.kind, "path": s.path, "status": s.status, **s.result}
            for s in SCENARIOS
        ],
        **extra,
    }


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def combine_rounds(samples: list[dict]) -> dict:
    """Medians over the rounds (rates, latencies, ratio to the adjacent ceiling); counts summed."""
    ratios = [s["rps"] / s["ceiling_rps"] for s in samples if s.get("ceiling_rps")]
    out = {
        "rounds": len(samples),
        "rps": _median([s["rps"] for s in samples]),
        "p50": _median([s["p50"] for s in samples]),
        "p99": _median([s["p99"] for s in samples]),
        "requests": sum(s["requests"] for s in samples),
        "non2xx": sum(s.get("non2xx", 0) for s in samples),
        "timeouts": sum(s.get("timeouts", 0) for s in samples),
        "round_rps": [s["rps"] for s in samples],
        "round_p99": [s["p99"] for s in samples],
    }
    if ratios:
        out["ceiling_rps"] = _median([s["ceiling_rps"] for s in samples if s.get("ceiling_rps")])
        out["ratio"] = statistics.median(ratios)
        out["round_ratios"] = ratios
    bare = [s["rps"] / s["bare_rps"] for s in samples if s.get("bare_rps")]
    if bare:
        out["bare_rps"] = _median([s["bare_rps"] for s in samples if s.get("bare_rps")])
        out["bare_ratio"] = statistics.median(bare)
        out["round_bare_ratios"] = bare
    return out


CEILINGS = {
    "bare": ("bare_ratio", "bare_rps", "round_bare_ratios", "the bare Flask app (`bench/hello.py`)"),
    "healthz": ("ratio", "ceiling_rps", "round_ratios", "the portal's own `/healthz`"),
}


def verdicts(result: dict, against: str = "bare") -> list[dict]:
    """Each scenario's ratio to a ceiling measured right after it, and its verdict. The
    targets are read against the bare Flask app; the /healthz table shows the same runs
    against the portal's own cheapest page (which already pays the per-request hooks)."""
    ratio_key, ceiling_key, _, _ = CEILINGS[against]
    rows = []
    for s in result["scenarios"]:
        row = dict(s)
        row["ceiling"] = s.get(ceiling_key)
        row["ratio"] = s.get(ratio_key)
        if row["ratio"] is None and row["ceiling"] and "rps" in s:  # one round: no median stored
            row["ratio"] = s["rps"] / row["ceiling"]
        if s["kind"] in TARGETS and "rps" in s:
            min_ratio, max_p99 = TARGETS[s["kind"]]
            row["target"] = f"≥ {min_ratio:.0%}, p99 < {max_p99:.0f} ms"
            if row["ratio"] is None:
                row["verdict"] = "no ceiling measured"
            else:
                ok = (
                    s["requests"] > 0
                    and row["ratio"] >= min_ratio
                    and s["p99"] is not None
                    and s["p99"] < max_p99
                    and not s.get("non2xx")
                    and not s.get("timeouts")
                )
                row["verdict"] = "pass" if ok else "FAIL"
            if s.get("timeouts"):
                row["verdict"] += f" ({s['timeouts']} requests > 10 s)"
        elif s["kind"] in TARGETS:
            min_ratio, max_p99 = TARGETS[s["kind"]]
            row["target"] = f"≥ {min_ratio:.0%}, p99 < {max_p99:.0f} ms"
            row["verdict"] = s["status"] or "not available"
        else:
            row["target"], row["verdict"] = "ceiling", "–"
        rows.append(row)
    return rows


def per_round(row: dict, against: str = "bare") -> str:
    return " / ".join(f"{x:.0%}" for x in row.get(CEILINGS[against][2], [])) or "–"


def scenario_table(result: dict, against: str) -> list[str]:
    lines = [
        f"Against {CEILINGS[against][3]}:",
        "",
        "| Scenario | Path | req/s | p50 ms | p99 ms | adjacent ceiling req/s | ratio | ratio per round"
        " | target | result |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in verdicts(result, against):
        path = f"`{r['path']}`" if r.get("path") else "–"
        if "rps" in r:
            ceiling = f"{r['ceiling']:.0f}" if r.get("ceiling") else "–"
            ratio = f"{r['ratio']:.0%}" if r.get("ratio") is not None else "–"
            lines.append(
                f"| {r['label']} | {path} | {r['rps']:.0f} | {fmt_ms(r['p50'])} | {fmt_ms(r['p99'])} |"
                f" {ceiling} | {ratio} | {per_round(r, against)} | {r['target']} | {r['verdict']} |"
            )
        else:
            lines.append(f"| {r['label']} | {path} | – | – | – | – | – | – | {r['target']} | {r['verdict']} |")
    return lines


def markdown_section(result: dict) -> str:
    db_name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(result["database"], result["database"])
    c = result["counts"]
    db_file = result["database_url"].split("/")[-1] or result["database"]
    lines = [
        f"### {db_name}",
        "",
        f"Measured {result['date']} with `bench/load.py` on `{db_file}`,"
        f" data set scale **{result['scale']}** (loaded in {result['load_seconds']:.0f} s by `bench/generate.py`):"
        f" {c.get('companies', 0):,} companies and sites, {c.get('users', 0):,} users,"
        f" {c.get('memberships', 0):,} memberships, {c.get('employees', 0):,} employees,"
        f" {c.get('visits', 0):,} visits, {c.get('slots', 0):,} slots, {c.get('invoices', 0):,} invoices.",
        f"Load: {result['tool']}, {result['settings']['connections']} connections, {result['settings']['threads']}"
        f" threads; {result['settings'].get('rounds', 1)} round(s) over every scenario, each:"
        f" {result['settings']['warmup']} s warm-up, {result['settings']['duration']} s measured, then"
        f" {result['settings'].get('ceiling_each', 0)} s of"
        f" `/healthz` and as long on the bare Flask app `bench/hello.py` (the adjacent ceilings,"
        f" same gunicorn command and workers); medians over the rounds;"
        f" gunicorn as in the Procfile (2 workers), PORTAIL_ENV=production,"
        f" Redis {'on' if result['settings']['redis'] else 'off'}. Machine load average at the end:"
        f" {', '.join(f'{x:.1f}' for x in result['machine']['load'])} (other processes included).",
        "",
    ]
    lines += scenario_table(result, "bare")
    lines += [""]
    lines += scenario_table(result, "healthz")
    logins = result.get("login_seconds") or {}
    rss = result.get("rss_mb") or []
    fl = result.get("first_load") or {}
    frags = result.get("fragments") or ([result["fragment"]] if result.get("fragment") else [])
    exp = result.get("export")
    lines += ["", "| Check | Measured | Target | Result |", "|---|---|---|---|"]
    for who, seconds in logins.items():
        lines.append(f"| Login through the form ({who}: e-mail, then password) | {seconds:.2f} s | – | measured |")
    if rss:
        lines.append(
            f"| Worker RSS after the run | {', '.join(f'{x:.0f} MB' for x in rss)} | < 150 MB each |"
            f" {'pass' if max(rss) < 150 else 'FAIL'} |"
        )
    if fl:
        what = "Login page" if fl.get("is_login_page") else "Public home (login page not in the tree yet)"
        parts = " + ".join(f"{a['path'].rsplit('/', 1)[-1]} {a['bytes'] / 1024:.1f} KB" for a in fl["assets"])
        ok = fl["total_bytes"] < 60 * 1024 and not fl["third_party"]
        lines.append(
            f"| {what} first load, gzip (`{fl['path']}`) | {fl['total_bytes'] / 1024:.1f} KB"
            f" (HTML {fl['html_bytes'] / 1024:.1f} KB + {parts}); third-party URLs:"
            f" {len(fl['third_party'])} | < 60 KB, none | {'pass' if ok else 'FAIL'} |"
        )
    for frag in frags:
        lines.append(
            f"| Fragment size ({frag['label']}) | {frag['bytes'] / 1024:.1f} KB | < 15 KB |"
            f" {'pass' if frag['bytes'] < 15 * 1024 else 'FAIL'} |"
        )
    if not frags:
        lines.append("| Fragment size | – | < 15 KB | not available |")
    if exp:
        ok = exp["status"] == 200 and exp["seconds"] < 1
        lines.append(
            f"| CSV export of 5,000 employees (`{exp['path']}`) | {exp['seconds']:.2f} s,"
            f" {exp['bytes'] / 1024:.0f} KB, HTTP {exp['status']} | < 1 s | {'pass' if ok else 'FAIL'} |"
        )
    else:
        lines.append("| CSV export of 5,000 employees | – | < 1 s | not available |")
    conf = result.get("declaration_confirm")
    if conf and conf.get("seconds") is not None:
        ok = conf["confirmed"] and conf["seconds"] < 2
        what = "correction" if conf.get("correction") else "first confirmation"
        lines.append(
            f"| Confirming the 5,000-employee declaration (`POST {conf['path']}`, {what}) |"
            f" {conf['seconds']:.2f} s, HTTP {conf['status']} | < 2 s | {'pass' if ok else 'FAIL'} |"
        )
    else:
        lines.append("| Confirming the 5,000-employee declaration | – | < 2 s | not available |")
    return "\n".join(lines) + "\n"


def write_block(name: str, key: str, section: str, before: str) -> None:
    """Put `section` between `<!-- name:key:start -->` and its end marker in docs/PERFORMANCE.md,
    replacing the previous run's, or before the heading `before` the first time."""
    start, end = f"<!-- {name}:{key}:start -->", f"<!-- {name}:{key}:end -->"
    text = DOC.read_text()
    block = f"{start}\n{section}{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _m: block, text, flags=re.S)
    else:
        text = text.replace(before, f"{block}\n\n{before}", 1)
    DOC.write_text(text)


def write_docs(result: dict) -> None:
    key = result["database"]
    start, end = f"<!-- bench:{key}:start -->", f"<!-- bench:{key}:end -->"
    text = DOC.read_text() if DOC.exists() else "# Performance\n\n## Results\n\n## Findings\n"
    block = f"{start}\n{markdown_section(result)}{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _m: block, text, flags=re.S)
    else:
        text = text.replace("## Findings", f"{block}\n\n## Findings", 1)
    m = result["machine"]
    machine_line = (
        f"<!-- bench:machine -->Machine: {m['nproc']} cores ({m['cpu']}), {m['ram']} RAM, Python"
        f" {m['python']}; last run {result['date']}.<!-- /bench:machine -->"
    )
    if "<!-- bench:machine -->" in text:
        text = re.sub(r"<!-- bench:machine -->.*?<!-- /bench:machine -->", lambda _m: machine_line, text)
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", help="the --json file written by bench/generate.py (required to measure)")
    parser.add_argument("--database-url", help="default: the one in the summary")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per scenario and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over every scenario; medians are reported")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--ceiling-each", type=int, default=4, help="seconds of /healthz after each scenario (0: only once)"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-wrk", action="store_true", help="use the Python client even if wrk exists")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="KEY",
        help="measure only these scenarios (keys: " + ", ".join(s.key for s in SCENARIOS if s.kind != "ceiling") + ")",
    )
    parser.add_argument("--write-docs", action="store_true", help="update docs/PERFORMANCE.md")
    parser.add_argument("--json", help="write the raw results here")
    parser.add_argument(
        "--from-json",
        metavar="FILE",
        help="measure nothing: print (and with --write-docs, write) a saved --json result",
    )
    args = parser.parse_args(argv)
    if not args.summary and not args.from_json:
        parser.error("--summary is required (or --from-json to reuse a saved result)")
    if args.only and args.write_docs:
        parser.error("--only is for quick iterations; --write-docs needs every scenario")
    result = json.loads(Path(args.from_json).read_text()) if args.from_json else run(args)
    print()
    print(markdown_section(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    if args.write_docs:
        write_docs(result)
        print(f"Updated {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
