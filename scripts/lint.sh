#!/usr/bin/env bash
# Lint the whole tree with ruff (settings in pyproject.toml: pyflakes, pycodestyle, 120 columns).
# Needs the virtualenv scripts/setup.sh makes.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> ruff $(.venv/bin/ruff --version | cut -d' ' -f2)"
exec .venv/bin/ruff check "$@" .
