#!/usr/bin/env bash
# Set everything up and run the whole test suite (unit, web, real-model and browser tests).
# Database: a fresh SQLite file, or PostgreSQL when MATCHMAKER_TEST_DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-debian-packages.sh --if-root
scripts/setup.sh
echo "==> running the tests on ${MATCHMAKER_TEST_DATABASE_URL:-SQLite}"
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
