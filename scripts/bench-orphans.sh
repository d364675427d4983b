#!/usr/bin/env bash
# Orphan bench (Linux): SIGKILLs the owner of a spawned redis-server N times
# per owner kind — the CLI (`redkeep ensure`), a Rust program, a Go program
# (cgo) and a Python program — with the watchdog guard forced (the guard of
# macOS and the BSDs), and prints, per owner, the orphans left and the
# kill → server-gone latency (median, p95, max). Exits non-zero on any
# orphan.
#
#   bash scripts/bench-orphans.sh [N]        # default N=200
#   GUARD=auto bash scripts/bench-orphans.sh # the platform guard instead
#
# Needs: the Go library (bash scripts/build-go-lib.sh) and the Python
# virtualenv of scripts/test-python.sh (target/py-venv) for those owners;
# an owner whose toolchain is missing is skipped with a notice.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
n="${1:-200}"
guard="${GUARD:-watchdog}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

cargo build -q --release --features cli --bin redkeep --example orphan_bench
bin="$CARGO_TARGET_DIR/release"
measure() { "$bin/examples/orphan_bench" measure "$@"; }
status=0

measure "cli ($guard)" "$n" -- "$bin/redkeep" ensure --port 0 -q --guard "$guard" || status=1
measure "rust ($guard)" "$n" -- "$bin/examples/orphan_bench" owner "$guard" || status=1

if command -v go >/dev/null && [[ -f bindings/go/libredkeep.a ]]; then
  (cd bindings/go && go test -c -o "$CARGO_TARGET_DIR/orphan-go.test" .)
  measure "go ($guard)" "$n" -- env REDKEEP_ORPHAN_HELPER=1 REDKEEP_ORPHAN_GUARD="$guard" \
    "$CARGO_TARGET_DIR/orphan-go.test" -test.run '^TestOrphanHelper$' || status=1
else
  echo "NOTICE: no Go or no bindings/go/libredkeep.a (bash scripts/build-go-lib.sh): Go owner skipped" >&2
fi

py="${REDKEEP_PY_VENV:-$repo/target/py-venv}/bin/python"
if [[ -x "$py" ]] && "$py" -c 'import redkeep' 2>/dev/null; then
  measure "python ($guard)" "$n" -- "$py" -c "
import time, redkeep
s = redkeep.ensure_server(port=0, max_restarts=0, guard='$guard')
print('REDKEEP_PID', s.pid, flush=True)
time.sleep(600)
" || status=1
else
  echo "NOTICE: no redkeep in $py (bash scripts/test-python.sh builds it): Python owner skipped" >&2
fi
exit "$status"
