#!/usr/bin/env bash
# Sets Mission Control up (virtualenv, dependencies, database schema) and serves it on
# http://127.0.0.1:8000 with the embedded SQLite database in the checkout's .data/ (the default
# data directory of a source install, the same one every `.venv/bin/missionctl` command uses;
# MC_DATA_DIR overrides it for both). Extra arguments go to `missionctl serve` (e.g. --port 9000).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/bootstrap.sh
exec .venv/bin/missionctl serve "$@"
