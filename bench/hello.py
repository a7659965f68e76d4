"""The bare ceiling: a Flask app that answers "hello", started by bench/load.py on the same
gunicorn command as the portal (Procfile `web` line, same workers, same gunicorn.conf.py).

Each scenario's throughput is compared with this app's, measured right after it: what the
framework, gunicorn and the machine allow at best. The portal's own `/healthz` is measured
too, but it already runs the portal's per-request hooks and costs a share of the ceiling
(docs/PERFORMANCE.md).
"""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def hello():
        return "hello"

    return app
