"""Public home page and health checks."""

from flask import current_app, jsonify, render_template

from blueprints.public import bp
from blueprints.security import public
from services.core import database


@bp.get("/")
@public
def home():
    """The public home page of the seed: welcome, services, what the portal is for."""
    return render_template("public/home.html")


@bp.get("/healthz")
@public
def healthz():
    """The process answers (no database work): used as the load-test ceiling."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/readyz")
@public
def readyz():
    """The database (and Redis when configured) are reachable."""
    checks = {}
    try:
        database.ping()
        checks["database"] = "ok"
    except Exception as exc:  # reported, not raised: this is a probe
        checks["database"] = f"error: {type(exc).__name__}"
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        try:
            import redis

            redis.Redis.from_url(redis_url, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ok else "error", checks=checks), (200 if ok else 503)
