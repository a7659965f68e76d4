#!/usr/bin/env bash
# Installs everything, then runs the whole test suite (unit, web and browser tests).
# SQLite by default; set TEST_DATABASE_URL=postgresql+psycopg://user@host:5432/name for
# PostgreSQL (a fresh database per test worker is created on that server).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --browser
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
