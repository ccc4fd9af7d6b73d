#!/usr/bin/env bash
# Set up a fresh checkout: virtualenv, packages, schema, reference and demo data.
# Idempotent: running it again only brings things up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || { echo "JCM Matchmaker needs Python 3.11 (found: $("$PYTHON" --version 2>&1))" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "==> creating virtualenv .venv"
  "$PYTHON" -m venv .venv
fi
echo "==> installing packages (torch is pinned to the 2.13.0 CPU build)"
.venv/bin/python -m pip install --quiet --upgrade pip
# torch first and pinned, so nothing pulls a CUDA build.
.venv/bin/python -m pip install --quiet "torch==2.13.0"
# constraints.txt holds the versions the suite last passed with: a fresh machine gets the same set.
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[test]"

mkdir -p var
echo "==> migrating the database"
.venv/bin/matchmaker db upgrade
echo "==> loading reference and demo data"
.venv/bin/matchmaker seed
