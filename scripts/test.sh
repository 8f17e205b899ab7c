#!/usr/bin/env bash
# Installs everything the tests need into ./.venv, tests/js/node_modules and
# bench/peers/node/node_modules, then runs the whole suite. Needs PostgreSQL on 127.0.0.1:5432 (database `test`).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test]'
if [ -f tests/js/package-lock.json ]; then
  npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
fi
# The bench's node peers (socket.io, pg), run by tests/bench/test_bench_smoke.py.
npm ci --prefix bench/peers/node --no-audit --no-fund --loglevel=error
# The web client: its build tools (tests/browser/test_build.py rebuilds it) and
# playwright-core, which drives Debian's chromium (no browser download).
npm ci --prefix webclient --no-audit --no-fund --loglevel=error
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
if [ ! -x /usr/bin/chromium ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
.venv/bin/ruff check .
.venv/bin/mypy
# Two workers (pytest-xdist): most tests wait on servers and clients, so two
# halve the wall time on two cores. Each worker has its own PostgreSQL database
# (tests/conftest.py); ESCHAT_TEST_WORKERS=0 runs everything in one process.
exec .venv/bin/python -m pytest -n "${ESCHAT_TEST_WORKERS:-2}" "$@"
