"""Back-office statistics: charts (server-side SVG), their tables and CSV, for a year and a centre."""

from __future__ import annotations

from flask import Response, abort, request

from blueprints.htmx import render
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.forms import small_int
from services.employees.next_due import today as paris_today
from services.staff import statistics as svc
from services.staff.convocations import centre_choices

# The chart is an image: its own inline styles only, nothing else (docs/SERVICE.md).
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _params() -> tuple[int, int | None, dict]:
    this_year = paris_today().year
    year = small_int(request.args.get("annee"))
    if year is None or not 2000 <= year <= this_year + 1:
        year = this_year
    centre_id = small_int(request.args.get("centre"))
    return year, centre_id, {k: v for k, v in (("annee", year), ("centre", centre_id)) if v}


@bp.get("/statistiques")
@staff_required()
def statistics():
    """Each indicator: its chart, its table, its CSV."""
    year, centre_id, params = _params()
    this_year = paris_today().year
    return render(
        "service/statistics.html",
        tables=svc.indicators(year, centre_id),
        year=year,
        years=list(range(this_year, this_year - 6, -1)),
        centre_id=centre_id,
        centres=centre_choices(),
        params=params,
    )


def _table(key: str):
    year, centre_id, _ = _params()
    table = svc.indicator(key, year, centre_id)
    if table is None:
        abort(404)
    return table, year


@bp.get("/statistiques/<key>.svg")
@staff_required()
def statistics_svg(key: str):
    table, _ = _table(key)
    response = Response(svc.svg(table), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_CSP
    return response


@bp.get("/statistiques/<key>.csv")
@staff_required()
def statistics_csv(key: str):
    table, year = _table(key)
    response = Response(svc.csv_text(table), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="statistiques-{key}-{year}.csv"'
    return response
