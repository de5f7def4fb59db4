#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries (Debian's package) are installed, for the test suite.
# The tests start their own throwaway cluster; no system cluster is created or started here.
set -euo pipefail

have_server() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1
}

if have_server; then
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "PostgreSQL is not installed and this user cannot install it: run as root or" >&2
    echo "install Debian's 'postgresql' package, then run the tests again." >&2
    exit 1
  fi
fi

echo "==> installing PostgreSQL from Debian (package 'postgresql')"
# Do not let the package create and start a system cluster: the tests bring their own.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
  "${as_root[@]}" mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" | "${as_root[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
have_server || { echo "PostgreSQL install finished but initdb is still missing" >&2; exit 1; }
