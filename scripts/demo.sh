#!/usr/bin/env bash
# Set everything up and serve the demo at http://127.0.0.1:8000 on the SQLite file var/matchmaker.db.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# A stable key for the demo so logins survive a restart; production sets its own secret.
if [ ! -f var/secret_key ]; then
  .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))' > var/secret_key
  chmod 600 var/secret_key
fi
export MATCHMAKER_SECRET_KEY="${MATCHMAKER_SECRET_KEY:-$(cat var/secret_key)}"
# No SMTP server in the demo: mails (password reset links too) are kept as .eml files to open.
export MATCHMAKER_MAIL_DEBUG_DIR="${MATCHMAKER_MAIL_DEBUG_DIR:-var/mail}"
echo "==> building match recommendations (first run embeds every profile)"
.venv/bin/matchmaker reindex || echo "reindex failed: Pre-Matching may be empty until it runs" >&2
echo "==> serving http://127.0.0.1:8000 (Ctrl+C to stop)"
exec .venv/bin/matchmaker serve --host 127.0.0.1 --port 8000
