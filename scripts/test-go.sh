#!/usr/bin/env bash
# The Go package's checks: builds the C library (release), prepares what
# cgo needs, then gofmt, go vet and go test in bindings/go (redkeeptest
# included). The tests start their own redis-servers on free ports.
#
#   bash scripts/test-go.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

bash scripts/ensure-redis-server.sh
if ! command -v go >/dev/null 2>&1; then
  echo "go not found: install Go 1.24 or newer" >&2
  exit 1
fi

step "C library for cgo (cargo build --release -p redkeep-c)"
bash scripts/build-go-lib.sh

cd bindings/go
step "gofmt"
unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
  echo "not gofmt-ed: $unformatted" >&2
  exit 1
fi

step "go vet ./..."
go vet ./...

step "go test ./..."
go test -count=1 ./...

step "a module outside the repository (missing library, build, go mod vendor, CGO_ENABLED=0)"
bash ../../scripts/test-go-outside.sh
