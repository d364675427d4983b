#!/usr/bin/env bash
# Runs every test of the project: Rust (core, C ABI, C programs), the C leak
# check and header check, Go, Python, and the Windows build check.
#
#   bash scripts/test-all.sh
#
# Needs: a Rust toolchain, Go, Python 3 with pip, a C compiler, and
# redis-server (installed here with apt-get when running as root).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

bash scripts/ensure-redis-server.sh

step "Rust: cargo test (workspace, CLI included)"
cargo test --workspace --features redkeep/cli

step "Rust: the tls feature against a real TLS redis-server"
# The test makes its certificates with the openssl command.
if ! command -v openssl >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "openssl not found: installing it with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl >/dev/null; }
  else
    echo "openssl not found: install it (apt-get install openssl) for the TLS test" >&2
    exit 1
  fi
fi
cargo test -p redkeep --features tls --test pool_tls
cargo test -p redkeep --features cli,tls --test server_tls

for part in c go python windows; do
  if [[ -f "scripts/test-$part.sh" ]]; then
    step "$part"
    bash "scripts/test-$part.sh"
  fi
done

step "all test suites passed"
