#!/usr/bin/env bash
# Debian packages the tests need: Chromium for the browser tests, PostgreSQL 15 for the second CI run.
# --if-root: install only when running as root with apt-get (CI, fresh containers); otherwise just check.
set -euo pipefail
PACKAGES=(chromium postgresql-15)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "==> installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
elif [ "${1:-}" = "--if-root" ]; then
  echo "note: Debian packages missing (${missing[*]}); install them with: sudo apt-get install ${missing[*]}" >&2
else
  echo "install as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
