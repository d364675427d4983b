#!/usr/bin/env bash
# The C ABI's checks: the header is current, the C test programs pass
# against a real redis-server, and the same program runs clean under
# valgrind.
#
#   bash scripts/test-c.sh
#
# Leak policy: valgrind fails the run on any invalid access and on any
# "definitely lost" block. "Possibly lost" and "still reachable" blocks are
# reported but tolerated: they are memory of threads that live as long as
# the process by design (the server spawner thread that carries the
# parent-death signal, glibc's thread-stack cache, std's thread handles).
# The test program calls redkeep_shutdown() to join the tokio runtime, so
# the runtime's own threads leave nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

bash scripts/ensure-redis-server.sh
if ! command -v valgrind >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "valgrind not found: installing it with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq valgrind >/dev/null
  else
    echo "valgrind not found: install it (apt-get install valgrind)" >&2
    exit 1
  fi
fi

step "C header is current"
bash scripts/check-header.sh

step "C ABI: unit tests and C programs (cargo test -p redkeep-c)"
cargo test -p redkeep-c

step "C program under valgrind (zero definite leaks, zero invalid accesses)"
REDKEEP_C_TEST_WRAPPER="valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1" \
  cargo test -p redkeep-c --test c_programs -- --nocapture 2>&1 | tee "${TMPDIR:-/tmp}/redkeep-valgrind.log"
grep -q "ERROR SUMMARY: 0 errors" "${TMPDIR:-/tmp}/redkeep-valgrind.log"
grep -q "definitely lost: 0 bytes" "${TMPDIR:-/tmp}/redkeep-valgrind.log" \
  || grep -q "All heap blocks were freed" "${TMPDIR:-/tmp}/redkeep-valgrind.log"
echo "valgrind: no invalid accesses, no definite leaks"
