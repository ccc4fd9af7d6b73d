#!/usr/bin/env bash
# Extract UI strings into web/translations/messages.pot and merge them into the Japanese catalog.
# Then translate the new entries in web/translations/ja/LC_MESSAGES/messages.po (no compile step:
# the app compiles catalogs in memory at start-up).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m babel.messages.frontend extract -F babel.cfg -k N_ -k _ -o web/translations/messages.pot --no-location --sort-output \
  --project "JCM Matchmaker" --copyright-holder "JCM Matchmaker contributors" . >/dev/null
if [ -f web/translations/ja/LC_MESSAGES/messages.po ]; then
  .venv/bin/python -m babel.messages.frontend update -i web/translations/messages.pot -d web/translations -l ja --no-fuzzy-matching --ignore-obsolete
else
  .venv/bin/python -m babel.messages.frontend init -i web/translations/messages.pot -d web/translations -l ja
fi
