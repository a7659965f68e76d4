"""Load a deterministic data set of a large service (bulk inserts) into a fresh database.

Usage:
    python bench/generate.py --database-url sqlite:////tmp/bench.db --scale 0.05
    python bench/generate.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench --scale 1

Scale 1.0 = 20,000 members + 5,000 sites, 400,000 employees (one company with 5,000),
1,000,000 visits, 200,000 slots, 60,000 invoices (when a billing table exists), 2,000
accountants linked to 50-300 companies each. The schema comes from the Alembic migrations.
Rows are written with executemany in chunks of 5,000 on SQLite (PRAGMA synchronous=OFF while
loading) and with COPY on PostgreSQL; the ORM is not used.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import warnings
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = 20260101
CHUNK = 5_000
BENCH_PASSWORD = "Banc d'essai 2026 !"  # noqa: S105 - known benchmark password, printed at the end
BIG_COMPANY_CODE = "00010"
BIG_COMPANY_EMPLOYEES = 5_000

SURNAMES = (
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefebvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefevre",
    "Faure",
    "Andre",
    "Mercier",
    "Blanc",
    "Guerin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "Francois",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clement",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Gautier",
    "Masson",
    "Le Bihan",
    "Le Goff",
    "Le Gall",
    "Le Roux",
    "Guillou",
    "Tanguy",
    "Kerouac",
    "Riou",
    "Le Floch",
    "Quere",
    "Cadiou",
    "Le Meur",
    "Prigent",
    "Jezequel",
)
FIRST_NAMES = (
    "Louis",
    "Gabriel",
    "Léo",
    "Raphaël",
    "Arthur",
    "Jules",
    "Adam",
    "Hugo",
    "Maël",
    "Lucas",
    "Paul",
    "Nathan",
    "Tom",
    "Sacha",
    "Noah",
    "Jade",
    "Louise",
    "Emma",
    "Alice",
    "Ambre",
    "Lina",
    "Rose",
    "Chloé",
    "Mia",
    "Léa",
    "Anna",
    "Inès",
    "Julia",
    "Zoé",
    "Manon",
    "Camille",
    "Lucie",
    "Yann",
    "Gwenaël",
    "Maëlle",
    "Nolwenn",
    "Erwan",
    "Soizic",
    "Loïc",
    "Tristan",
    "Anne",
    "Claire",
    "Marie",
    "Sophie",
    "Pierre",
    "Jean",
    "Michel",
)
JOBS = (
    "Technicien",
    "Vendeur",
    "Comptable",
    "Cuisinier",
    "Maçon",
    "Aide-soignant",
    "Chauffeur",
    "Assistante de direction",
    "Électricien",
    "Agent d'entretien",
    "Serveur",
    "Infirmier",
    "Mécanicien",
    "Boulanger",
    "Commercial",
    "Plombier",
    "Magasinier",
    "Ouvrier agricole",
)
CITIES = (
    ("22000", "Saint-Brieuc"),
    ("22100", "Dinan"),
    ("22300", "Lannion"),
    ("22200", "Guingamp"),
    ("22400", "Lamballe"),
    ("22600", "Loudéac"),
    ("22500", "Paimpol"),
    ("22700", "Perros-Guirec"),
)
NAME_WORDS = (
    "Boulangerie",
    "Garage",
    "Transports",
    "Menuiserie",
    "Cabinet",
    "Ferme",
    "Hôtel",
    "Restaurant",
    "Pharmacie",
    "Atelier",
    "Bâtiment",
    "Services",
    "Conseil",
    "Imprimerie",
    "Laboratoire",
    "Coopérative",
    "Maison",
    "Société",
    "Clinique",
    "Jardins",
)
NAME_TAILS = (
    "de l'Arguenon",
    "du Trieux",
    "de la Rance",
    "du Goëlo",
    "de Penthièvre",
    "Armor",
    "Bretagne",
    "de la Baie",
    "des Côtes",
    "du Léguer",
    "de Bréhat",
    "d'Erquy",
    "du Cap Fréhel",
    "du Mené",
)


def sizes(scale: float) -> dict[str, int]:
    def s(n: int, minimum: int = 1) -> int:
        return max(minimum, round(n * scale))

    return {
        "members": s(20_000, 50),
        "sites": s(5_000, 10),
        "employees": max(s(400_000), BIG_COMPANY_EMPLOYEES + 1_000),
        "visits": s(1_000_000, 1_000),
        "slots": s(200_000, 1_000),
        "invoices": s(60_000, 100),
        "accountants": s(2_000, 5),
    }


class Writer:
    """Bulk writer for one database: executemany (SQLite) or COPY (PostgreSQL)."""

    def __init__(self, engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        self.raw = engine.raw_connection()
        self.counts: dict[str, int] = {}
        if self.dialect == "sqlite":
            cur = self.raw.cursor()
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA journal_mode=MEMORY")
            cur.execute("PRAGMA cache_size=-200000")
            cur.close()

    # Values are given as plain Python values; each dialect gets them in its own form.
    def ts(self, value: datetime):
        if self.dialect == "sqlite":
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    def day(self, value: date | None):
        if value is None:
            return None
        return value.isoformat() if self.dialect == "sqlite" else value

    def flag(self, value: bool):
        return int(value) if self.dialect == "sqlite" else value

    def _plain_indexes(self, table: str) -> list[tuple[str, list[str]]]:
        """Non-unique indexes on plain columns: dropped during the load, rebuilt after (an
        index built once over sorted data is much cheaper than one grown row by row)."""
        from sqlalchemy import inspect

        found = []
        with warnings.catch_warnings():  # expression indexes (users.email) are skipped: fine
            warnings.simplefilter("ignore")
            reflected = inspect(self.engine).get_indexes(table)
        for ix in reflected:
            columns = ix.get("column_names") or []
            if ix.get("unique") or not columns or any(c is None for c in columns) or ix.get("expressions"):
                continue
            options = ix.get("dialect_options") or {}
            if options.get("sqlite_where") is not None or options.get("postgresql_where"):
                continue  # partial indexes (visits): kept, rebuilding them here would drop the WHERE
            found.append((ix["name"], columns))
        return found

    def write(self, table: str, columns: list[str], rows) -> int:
        n = 0
        indexes = self._plain_indexes(table)
        cur = self.raw.cursor()
        for name, _cols in indexes:
            cur.execute(f"DROP INDEX {name}")
        if self.dialect == "sqlite":
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            batch = []
            for row in rows:
                batch.append(row)
                if len(batch) >= CHUNK:
                    cur.executemany(sql, batch)
                    n += len(batch)
                    batch.clear()
            if batch:
                cur.executemany(sql, batch)
                n += len(batch)
        else:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
        for name, cols in indexes:
            cur.execute(f"CREATE INDEX {name} ON {table} ({', '.join(cols)})")
        cur.close()
        self.raw.commit()
        self.counts[table] = self.counts.get(table, 0) + n
        return n

    def finish(self, tables: list[str]) -> None:
        cur = self.raw.cursor()
        if self.dialect == "postgresql":
            for table in tables:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1)) FROM {table}"
                )
            self.raw.commit()
            driver = self.raw.driver_connection
            driver.autocommit = True
            driver.execute("VACUUM ANALYZE")
            driver.autocommit = False
        else:
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("ANALYZE")
            self.raw.commit()
        cur.close()
        self.raw.close()


def company_name(rng: random.Random) -> str:
    return f"{rng.choice(NAME_WORDS)} {rng.choice(NAME_TAILS)} {rng.randint(1, 999)}"


def generate(database_url: str, scale: float, anchor: date) -> dict:
    from argon2 import PasswordHasher
    from flask_migrate import upgrade
    from sqlalchemy import inspect

    from app import create_app
    from extensions import db

    size = sizes(scale)
    rng = random.Random(SEED)
    app = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url})
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with app.app_context():
        upgrade()
        engine = db.engine
        inspector = inspect(engine)
        with engine.connect() as conn:
            if conn.exec_driver_sql("SELECT COUNT(*) FROM companies").scalar():
                raise SystemExit("The database already has companies: give an empty database.")
        timings["schema"] = time.perf_counter() - started
        w = Writer(engine)
        now = datetime.combine(anchor, datetime.min.time(), tzinfo=UTC)
        now_ts = w.ts(now)

        def step(name, fn):
            t0 = time.perf_counter()
            count = fn()
            timings[name] = time.perf_counter() - t0
            print(f"  {name:<14} {count:>10,} rows  {timings[name]:6.1f} s", flush=True)

        # ---------------------------------------------------------------- companies
        members = size["members"]
        member_ids = list(range(1, members + 1))
        site_parents = sorted(rng.sample(member_ids[1:], min(size["sites"], members - 1)))
        site_ids = list(range(members + 1, members + 1 + len(site_parents)))
        all_company_ids = member_ids + site_ids
        city_of = {}

        def companies():
            t = w.flag(True)
            for cid in member_ids:
                pc, city = CITIES[cid % len(CITIES)]
                city_of[cid] = (pc, city)
                code = f"{cid + 9:05d}"
                yield (
                    cid,
                    code,
                    None,
                    company_name(rng),
                    f"{cid:014d}",
                    "4711D",
                    f"{cid} rue du Port",
                    pc,
                    city,
                    t,
                    now_ts,
                    now_ts,
                )
            for sid, parent in zip(site_ids, site_parents, strict=True):
                pc, city = CITIES[sid % len(CITIES)]
                yield (
                    sid,
                    f"{parent + 9:05d}-1",
                    parent,
                    company_name(rng),
                    f"{sid:014d}",
                    "4711D",
                    f"{sid} avenue de la Mer",
                    pc,
                    city,
                    t,
                    now_ts,
                    now_ts,
                )

        step(
            "companies",
            lambda: w.write(
                "companies",
                [
                    "id",
                    "code",
                    "parent_id",
                    "name",
                    "siret",
                    "naf",
                    "address",
                    "postal_code",
                    "city",
                    "active",
                    "created_at",
                    "updated_at",
                ],
                companies(),
            ),
        )

        # ---------------------------------------------------------------- users + memberships
        t0 = time.perf_counter()
        pw_hash = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1).hash(BENCH_PASSWORD)
        timings["argon2 (once)"] = time.perf_counter() - t0
        accountants = size["accountants"]
        employer_ids = list(range(1, members + 1))  # user i employs member company i
        accountant_ids = list(range(members + 1, members + 1 + accountants))

        def users():
            f, t = w.flag(False), w.flag(True)
            for uid in employer_ids:
                code = f"{uid + 9:05d}"
                yield (
                    uid,
                    f"employeur{code}@banc-essai.fr",
                    rng.choice(SURNAMES),
                    rng.choice(FIRST_NAMES),
                    "Gérant",
                    "member",
                    pw_hash,
                    f,
                    0,
                    t,
                    now_ts,
                    now_ts,
                )
            for n, uid in enumerate(accountant_ids):
                yield (
                    uid,
                    f"tiers{n:04d}@banc-essai.fr",
                    rng.choice(SURNAMES),
                    rng.choice(FIRST_NAMES),
                    "Expert-comptable",
                    "member",
                    pw_hash,
                    f,
                    0,
                    t,
                    now_ts,
                    now_ts,
                )

        step(
            "users",
            lambda: w.write(
                "users",
                [
                    "id",
                    "email",
                    "last_name",
                    "first_name",
                    "job_title",
                    "kind",
                    "password_hash",
                    "must_change_password",
                    "failed_logins",
                    "active",
                    "created_at",
                    "updated_at",
                ],
                users(),
            ),
        )

        def memberships():
            mid = 0
            for uid in employer_ids:
                mid += 1
                yield (mid, uid, uid, "employeur", now_ts, 0)
            for n, uid in enumerate(accountant_ids):
                k = 300 if n == 0 else rng.randint(50, 300)
                k = min(k, members)
                # The first accountant also follows the big company.
                chosen = sorted(rng.sample(member_ids, k))
                if n == 0 and 1 not in chosen:
                    chosen[0] = 1
                for cid in sorted(set(chosen)):
                    mid += 1
                    yield (mid, uid, cid, "tiers_declarant", now_ts, 0)

        step(
            "memberships",
            lambda: w.write(
                "memberships", ["id", "user_id", "company_id", "role", "created_at", "grants"], memberships()
            ),
        )
        # Users come back to the company they used last (the portal remembers it).
        cur = w.raw.cursor()
        cur.execute(
            "UPDATE users SET last_company_id ="
            " (SELECT MIN(m.company_id) FROM memberships m WHERE m.user_id = users.id)"
        )
        cur.close()
        w.raw.commit()

        # ---------------------------------------------------------------- employees
        n_employees = size["employees"]
        others = [c for c in all_company_ids if c != 1]
        # Sorted by company so that the rows of one company sit together, as in real life.
        rest = sorted(rng.choice(others) for _ in range(n_employees - BIG_COMPANY_EMPLOYEES))
        employee_company = [1] * BIG_COMPANY_EMPLOYEES + rest

        from models.employees import fold_search  # the ORM fills search_text; these raw rows need it too

        def employees():
            f = w.flag(False)
            for eid, cid in enumerate(employee_company, start=1):
                sir = rng.random() < 0.08
                left = rng.random() < 0.1
                entry = anchor - timedelta(days=rng.randint(30, 9000))
                exit_date = anchor - timedelta(days=rng.randint(1, 25)) if left else None
                # (drawn in the same order as before search_text existed: the same data set)
                surname, first = rng.choice(SURNAMES).upper(), rng.choice(FIRST_NAMES)
                birth = date(1960, 1, 1) + timedelta(days=rng.randint(0, 16000))
                nature = "01" if rng.random() < 0.8 else "02"
                job = rng.choice(JOBS)
                yield (
                    eid,
                    cid,
                    surname,
                    first,
                    "F" if eid % 2 else "M",
                    w.day(birth),
                    w.day(entry),
                    nature,
                    f,
                    f,
                    job,
                    '["amiante"]' if sir else "[]",
                    f,
                    f,
                    "SIR" if sir else "SI",
                    w.day(exit_date),
                    "Démission" if left else None,
                    now_ts,
                    now_ts,
                    fold_search(f"{surname} {first} {job}"),
                )

        step(
            "employees",
            lambda: w.write(
                "employees",
                [
                    "id",
                    "company_id",
                    "birth_name",
                    "first_names",
                    "sex",
                    "birth_date",
                    "entry_date",
                    "contract_nature",
                    "contract_suspended",
                    "apprentice",
                    "job_title",
                    "risks",
                    "night_work",
                    "rqth",
                    "category",
                    "exit_date",
                    "exit_reason",
                    "created_at",
                    "updated_at",
                    "search_text",
                ],
                employees(),
            ),
        )

        # ---------------------------------------------------------------- centres, professionals, slots
        step(
            "centres",
            lambda: w.write(
                "centres",
                ["id", "name", "address", "postal_code", "city"],
                (
                    (i + 1, f"Centre de {city}", f"{i + 3} rue de la Santé", pc, city)
                    for i, (pc, city) in enumerate(CITIES)
                ),
            ),
        )
        n_pros = max(4, min(120, size["slots"] // 2000))
        step(
            "professionals",
            lambda: w.write(
                "professionals",
                ["id", "name", "kind"],
                (
                    (
                        i,
                        f"{'Dr' if i % 3 else 'IDEST'} {rng.choice(FIRST_NAMES)} {SURNAMES[i % len(SURNAMES)]} {i}",
                        "medecin" if i % 3 else "infirmier",
                    )
                    for i in range(1, n_pros + 1)
                ),
            ),
        )
        # 8 half-hour slots a weekday per professional, half of the days before the anchor.
        n_slots = size["slots"]
        days_needed = -(-n_slots // (n_pros * 8))
        weekdays = []
        d = anchor - timedelta(days=int(days_needed * 7 / 5 / 2) + 1)
        while len(weekdays) < days_needed:
            if d.weekday() < 5:
                weekdays.append(d)
            d += timedelta(days=1)
        slot_rows = []  # (id, starts_at, centre, pro, reserved)
        sid = 0
        for day in weekdays:
            for pro in range(1, n_pros + 1):
                for k in range(8):
                    if sid >= n_slots:
                        break
                    sid += 1
                    hour = 8 + k // 2 + (1 if k >= 6 else 0)
                    start = datetime(day.year, day.month, day.day, hour, 30 * (k % 2), tzinfo=UTC)
                    reserved = rng.choice(member_ids) if rng.random() < 0.1 else None
                    slot_rows.append((sid, start, 1 + pro % len(CITIES), pro, reserved))

        step(
            "slots",
            lambda: w.write(
                "slots",
                [
                    "id",
                    "starts_at",
                    "duration_minutes",
                    "centre_id",
                    "professional_id",
                    "reserved_company_id",
                    "created_at",
                ],
                ((s[0], w.ts(s[1]), 30, s[2], s[3], s[4], now_ts) for s in slot_rows),
            ),
        )

        # ---------------------------------------------------------------- visits
        n_visits = size["visits"]
        future = [s for s in slot_rows if s[1] >= now]
        booked = [s for s in future if rng.random() < 0.5]
        big_employees = BIG_COMPANY_EMPLOYEES
        types = ("vip_embauche", "vip_periodique", "examen_sir", "reprise", "a_la_demande")

        def visits():
            vid = 0
            f = w.flag(False)
            for s in booked[:n_visits]:
                vid += 1
                # One booked slot in ten goes to the big company, so its planning has a full week.
                eid = rng.randint(1, big_employees) if rng.random() < 0.1 else rng.randint(1, n_employees)
                cid = employee_company[eid - 1]
                yield (vid, cid, eid, s[0], s[0], w.ts(s[1]), rng.choice(types), "confirmee", f, now_ts, now_ts)
            while vid < n_visits:
                vid += 1
                eid = rng.randint(1, n_employees)
                cid = employee_company[eid - 1]
                start = now - timedelta(days=rng.randint(1, 1800), minutes=30 * rng.randint(0, 16))
                status = "realisee" if rng.random() < 0.9 else rng.choice(("annulee", "absence_excusee"))
                yield (vid, cid, eid, None, None, w.ts(start), rng.choice(types), status, f, now_ts, now_ts)

        step(
            "visits",
            lambda: w.write(
                "visits",
                [
                    "id",
                    "company_id",
                    "employee_id",
                    "slot_id",
                    "active_slot_id",
                    "starts_at",
                    "visit_type",
                    "status",
                    "proposed_by_service",
                    "created_at",
                    "updated_at",
                ],
                visits(),
            ),
        )
        slot_rows.clear()

        # ---------------------------------------------------------------- next due visit
        # The ORM keeps employees.next_due_* after every flush (services.employees.next_due); these raw
        # rows get the same function's answer, so `flask follow-up verify` finds 0 differences.
        from services.employees import next_due

        def stored_next_due():
            with engine.begin() as conn:
                return next_due.recompute(conn).fixed

        step("next_due", stored_next_due)

        # ---------------------------------------------------------------- invoices (billing feature)
        loaded = ["companies", "users", "memberships", "employees", "centres", "professionals", "slots", "visits"]
        if inspector.has_table("invoices") and inspector.has_table("documents"):
            t0 = time.perf_counter()
            try:
                n = _billing(w, size["invoices"], member_ids, now_ts)
                loaded += ["documents", "invoices"]
                timings["invoices"] = time.perf_counter() - t0
                print(f"  {'invoices+docs':<14} {n:>10,} rows  {timings['invoices']:6.1f} s", flush=True)
            except Exception as exc:  # the billing schema is another feature's: report, do not fail
                w.raw.rollback()
                print(f"  invoices       skipped: {type(exc).__name__}: {exc}", flush=True)
            tariff = _open_campaign()
            print(f"  tariff         {tariff}", flush=True)
        else:
            print("  invoices       not available (no invoices table in this schema)", flush=True)

        t0 = time.perf_counter()
        w.finish(loaded)
        timings["analyze"] = time.perf_counter() - t0
        counts = dict(w.counts)
        counts["members"] = size["members"]  # companies without their sites (bench/campaign.py)
    timings["total"] = time.perf_counter() - started
    big_accountant_email = "tiers0000@banc-essai.fr"
    return {
        "scale": scale,
        "anchor": anchor.isoformat(),
        "counts": counts,
        "timings": timings,
        "credentials": {
            "password": BENCH_PASSWORD,
            "employer": f"employeur{BIG_COMPANY_CODE}@banc-essai.fr",
            "big_company": BIG_COMPANY_CODE,
            "accountant": big_accountant_email,
        },
    }


def _billing(w: Writer, count: int, member_ids: list[int], now_ts) -> int:
    """Past invoices, each with its document in "Mon espace documentaire" (no PDF bytes: the
    lists never load them). The big company gets two invoices a year for six years."""
    big = [1] * 12
    owners = big + [member_ids[(i * 7919) % len(member_ids)] for i in range(count - len(big))]
    year_of = [2020 + (i % 12) // 2 if i < 12 else 2020 + i % 6 for i in range(count)]
    w.write(
        "documents",
        ["id", "company_id", "kind", "title", "year", "content_type", "filename", "size", "created_at"],
        (
            (
                i + 1,
                cid,
                "facture",
                f"Facture n° {year_of[i]}-{i + 1:06d}",
                year_of[i],
                "application/pdf",
                f"facture-{year_of[i]}-{i + 1:06d}.pdf",
                0,
                now_ts,
            )
            for i, cid in enumerate(owners)
        ),
    )

    def invoice_rows():
        for i, cid in enumerate(owners):
            year = year_of[i]
            ht = Decimal(94 + (i * 37) % 5000) + Decimal("0.80")
            vat = (ht * Decimal("0.20")).quantize(Decimal("0.01"))
            money = (lambda v: str(v)) if w.dialect == "sqlite" else (lambda v: v)
            yield (
                i + 1,
                f"{year}-{i + 1:06d}",
                "invoice",
                cid,
                i + 1,
                year,
                w.day(date(year, 1, 15)),
                w.day(date(year, 2, 14)),
                f"Adhérent {cid + 9:05d}",
                f"{cid + 9:05d}",
                "1 rue du Port",
                money(Decimal("20.00")),
                money(ht),
                money(vat),
                money(ht + vat),
                now_ts,
            )

    return count + w.write(
        "invoices",
        [
            "id",
            "number",
            "kind",
            "company_id",
            "document_id",
            "year",
            "issue_date",
            "due_date",
            "buyer_name",
            "buyer_code",
            "buyer_address",
            "vat_rate",
            "total_ht",
            "total_vat",
            "total_ttc",
            "created_at",
        ],
        invoice_rows(),
    )


def _open_campaign() -> str:
    """This year's tariff with its campaign open today (real today: the server decides with
    it), through the billing feature's own service; one row, so the ORM is fine here."""
    try:
        from services.billing import set_tariff, today
    except ImportError:
        return "not available (no services.billing.set_tariff)"
    from extensions import db

    now = today()
    set_tariff(
        now.year,
        {
            "mode": "per_category",
            "prices": {"SI": "94.80", "SIA": "138.00", "SIR": "162.60", "apprenti": None},
            "vat_rate": "20.00",
            "reference_date": f"{now.year}-01-01",
            "counting": {"min_contract_days": 0, "exclude_interim": True, "include_suspended": True},
            "campaign": {
                "opens_on": (now - timedelta(days=10)).isoformat(),
                "closes_on": (now + timedelta(days=60)).isoformat(),
            },
            "payment_due_days": 30,
        },
    )
    db.session.commit()
    return f"{now.year}, campaign open today"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="an EMPTY database (schema is created)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--anchor",
        type=date.fromisoformat,
        default=None,
        help="the 'today' of the data set (default: Monday of the current week)",
    )
    parser.add_argument("--json", help="write the summary (counts, timings, credentials) to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("PORTAIL_ENV", "testing")
    anchor = args.anchor or (date.today() - timedelta(days=date.today().weekday()))
    print(f"Generating scale {args.scale} into {args.database_url.split('@')[-1]} (anchor {anchor})", flush=True)
    summary = generate(args.database_url, args.scale, anchor)
    summary["database_url"] = args.database_url
    print(f"Loaded in {summary['timings']['total']:.1f} s (target at scale 1.0: < 600 s)")
    creds = summary["credentials"]
    print(f"Known credentials (password for every user: {creds['password']!r}):")
    print(f"  employer of the {BIG_COMPANY_EMPLOYEES}-employee company {creds['big_company']}: {creds['employer']}")
    print(f"  accountant with 300 companies: {creds['accountant']}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
