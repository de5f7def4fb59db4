#!/usr/bin/env bash
# Sets Mission Control up (virtualenv, dependencies, database schema) and serves it on
# http://127.0.0.1:8000 with the embedded SQLite database in ./.data. Extra arguments go to
# `missionctl serve` (e.g. --port 9000).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/bootstrap.sh
export MC_DATA_DIR="${MC_DATA_DIR:-$root/.data}"
exec .venv/bin/missionctl serve "$@"
