#!/usr/bin/env bash
# Sets everything up (Python deps, PostgreSQL, Chromium, the OpenClaw gateway) and runs the whole suite:
# ruff, mypy --strict, the import contracts, then pytest on SQLite and PostgreSQL. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/bootstrap.sh
bash scripts/install-postgres.sh
bash scripts/install-chromium.sh
if [ -f scripts/install-gateway.sh ]; then
  bash scripts/install-gateway.sh
fi

echo "==> ruff"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
echo "==> mypy --strict"
.venv/bin/mypy
echo "==> import contracts (pyproject.toml [tool.importlinter])"
PYTHONPATH="$root/src" .venv/bin/lint-imports
echo "==> pytest"
.venv/bin/pytest "$@"
