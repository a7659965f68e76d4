#!/usr/bin/env bash
# Installs everything, loads the demo data into SQLite and starts the portal on
# http://localhost:5000 with the mail worker. Mail is printed here and shown on the
# demo mailbox page (http://localhost:5000/dev/mailbox); nothing leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PORTAIL_ENV=development MAIL_TRANSPORT=console
export PORTAL_BASE_URL=${PORTAL_BASE_URL:-http://localhost:${PORT:-5000}}
.venv/bin/flask --app app db upgrade
.venv/bin/flask --app app demo
.venv/bin/flask --app app outbox run &
WORKER=$!
trap 'kill $WORKER 2>/dev/null' EXIT
echo "Portail adhérents : ${PORTAL_BASE_URL}  (Ctrl+C pour arrêter)"
.venv/bin/gunicorn --workers 2 --bind "127.0.0.1:${PORT:-5000}" "app:create_app()"
