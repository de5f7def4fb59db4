#!/usr/bin/env bash
# Creates .venv and installs Mission Control with pinned dependencies. Fast when nothing changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

pick_python() {
  for candidate in "${MC_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "Mission Control needs Python >= 3.11 (set MC_PYTHON to its path)." >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  python="$(pick_python)"
  echo "==> creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi

stamp=.venv/.mission-control-deps
want="$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing Python dependencies into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
  echo "$want" > "$stamp"
fi
