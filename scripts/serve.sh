#!/usr/bin/env bash
# Installs eschat into ./.venv and serves it on the embedded default
# (SQLite in ./data/, port 4000). Extra arguments go to `eschat serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e .
exec .venv/bin/eschat serve "$@"
