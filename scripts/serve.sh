#!/usr/bin/env bash
# Installs eschat into ./.venv and serves it on the embedded default
# (SQLite in ./data/, port 4000). Extra arguments go to `eschat serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
# The web client's build is committed (interfaces/web/static); a checkout without it
# builds it here when Node is around.
if [ ! -f interfaces/web/static/index.html ] && command -v npm >/dev/null; then
  npm ci --prefix webclient --no-audit --no-fund --loglevel=error
  npm run build --prefix webclient
fi
.venv/bin/pip install -q -e .
exec .venv/bin/eschat serve "$@"
