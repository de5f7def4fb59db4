#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed, for the console's browser tests (Playwright drives it
# through its executable path; Playwright never downloads a browser here). Idempotent.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "Chromium is not installed and this user cannot install it: run as root or" >&2
    echo "install Debian's 'chromium' package, then run the tests again." >&2
    exit 1
  fi
fi

echo "==> installing Chromium from Debian (package 'chromium')"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "Chromium install finished but 'chromium' is missing" >&2; exit 1; }
