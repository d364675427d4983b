#!/usr/bin/env bash
# The Go package as a user outside this repository gets it: a new module in
# a temp dir that requires it (replace directive to a copy of bindings/go).
#   1. without the C library, the build fails and its first error is the
#      command to run (not "redkeep.h: No such file or directory");
#   2. with it (scripts/build-go-lib.sh, the one extra command), `go build`
#      and the program runs: EnsureServer, Open, PING;
#   3. `go mod vendor && go build` works, also once the copy's library is
#      gone (the vendored package carries it);
#   4. CGO_ENABLED=0 fails with a readable error naming cgo.
# Run by scripts/test-go.sh after build-go-lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ -f bindings/go/libredkeep.a ]] || fail "run bash scripts/build-go-lib.sh first"
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# A copy of the package as a user's checkout has it, without the library.
mkdir -p "$work/src"
cp -r bindings/go "$work/src/go"
rm -f "$work/src/go/libredkeep.a" "$work/src/go/libredkeep.h" "$work/src/go/zz_library_hash.go"
rm -rf "$work/src/go/lib"
mod="github.com/redkeep/redkeep/bindings/go"

mkdir "$work/app"
cd "$work/app"
cat > go.mod <<GOMOD
module example.com/app

go 1.24

require $mod v0.0.0

replace $mod => $work/src/go
GOMOD
cat > main.go <<'GO'
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	redkeep "github.com/redkeep/redkeep/bindings/go"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := redkeep.EnsureServer(ctx, redkeep.ServerOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	pool, err := redkeep.Open(ctx, redkeep.Options{URL: srv.URL()})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	v, err := pool.Do(ctx, "PING")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("redkeep", redkeep.Version(), v)
}
GO
go mod tidy >/dev/null 2>&1 || go mod tidy

echo "=== 1. no C library: the first error is the command to run ==="
if go build -o app . > "$work/out" 2>&1; then fail "built without the C library"; fi
first="$(grep -m1 -i "error" "$work/out" || true)"
echo "$first"
[[ "$first" == *"bash scripts/build-go-lib.sh"* ]] || { cat "$work/out"; fail "the first error is not the hint"; }
ok "missing library: the first error names bash scripts/build-go-lib.sh"

echo "=== 2. after scripts/build-go-lib.sh: go build and run ==="
# What build-go-lib.sh puts into the package directory.
cp "$repo/bindings/go/libredkeep.a" "$repo/bindings/go/libredkeep.h" "$repo/bindings/go/zz_library_hash.go" "$work/src/go/"
go build -o app .
out="$(./app)"
echo "$out"
[[ "$out" == *PONG* ]] || fail "the program did not print PONG"
ok "go build outside the repository"

echo "=== 3. go mod vendor && go build, without the copy's library ==="
go mod vendor
[[ -f "vendor/$mod/libredkeep.a" && -f "vendor/$mod/libredkeep.h" ]] || fail "go mod vendor dropped the library"
rm -f "$work/src/go/libredkeep.a" "$work/src/go/libredkeep.h"
go build -mod=vendor -o app-vendored .
out="$(./app-vendored)"
[[ "$out" == *PONG* ]] || fail "the vendored program did not print PONG"
ok "go mod vendor && go build"
rm -rf vendor

echo "=== 4. CGO_ENABLED=0: a readable error ==="
if CGO_ENABLED=0 go build -o app-nocgo . > "$work/out" 2>&1; then fail "built without cgo"; fi
cat "$work/out" | head -3
grep -q "redkeep_needs_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler" "$work/out" || fail "no cgo hint"
if grep -q "undefined: redkeep.EnsureServer" "$work/out"; then fail "the user's code errors before the hint"; fi
ok "CGO_ENABLED=0 names cgo"

echo "go outside the repository: $pass passed, 0 failed"
