#!/usr/bin/env bash
# Regenerates the C header with the pinned cbindgen into a temporary file
# and fails if the committed bindings/c/include/redkeep.h differs.
#
#   bash scripts/check-header.sh           # check (CI)
#   bash scripts/check-header.sh --write   # regenerate the committed header
set -euo pipefail
cd "$(dirname "$0")/.."

CBINDGEN_VERSION=0.29.4
cbindgen="$(command -v cbindgen || true)"
[[ -z "$cbindgen" && -x "${CARGO_HOME:-$HOME/.cargo}/bin/cbindgen" ]] && cbindgen="${CARGO_HOME:-$HOME/.cargo}/bin/cbindgen"
if [[ -z "$cbindgen" || "$("$cbindgen" --version)" != "cbindgen $CBINDGEN_VERSION" ]]; then
  echo "installing cbindgen $CBINDGEN_VERSION"
  cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --quiet
  cbindgen="${CARGO_HOME:-$HOME/.cargo}/bin/cbindgen"
fi

header=bindings/c/include/redkeep.h
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
# cbindgen warns about every non-exported static; only real problems matter.
"$cbindgen" --quiet --config bindings/c/cbindgen.toml --output "$tmp" bindings/c

if [[ "${1:-}" == "--write" ]]; then
  cp "$tmp" "$header"
  echo "wrote $header"
  exit 0
fi
if ! diff -u "$header" "$tmp"; then
  echo "error: $header is stale; regenerate it with: bash scripts/check-header.sh --write" >&2
  exit 1
fi
echo "header $header is up to date (cbindgen $CBINDGEN_VERSION)"
