#!/usr/bin/env bash
# Go benchmark: Do(GET) through redkeep vs go-redis v9, sequentially and
# from 50 goroutines, against one redis-server in one run; plus the cost of
# one cgo call into the library. Prints the figures and the ratios.
#
#   bash scripts/bench-go.sh [BENCHTIME]     # default 3s per benchmark
#
# Targets: sequential latency <= 0.9x go-redis, and throughput >= 1.3x
# go-redis with 50 goroutines. On a busy machine trust the "alternating
# rounds" lines (BenchmarkGetRounds: both clients see the same load) over
# the one-after-the-other BenchmarkGet figures.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-redis-server.sh
bash scripts/build-go-lib.sh >/dev/null

benchtime="${1:-3s}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
(cd bindings/go && go test -run '^$' -bench 'BenchmarkGet$|BenchmarkGetRounds|BenchmarkTypedGet|BenchmarkCgoCall' -benchtime "$benchtime" -count 1 .) | tee "$out"

awk '
  /^BenchmarkGet\/redkeep\/sequential/   { rk_seq = $3 }
  /^BenchmarkGet\/go-redis\/sequential/  { gr_seq = $3 }
  /^BenchmarkGet\/redkeep\/goroutines/   { rk_par = $3 }
  /^BenchmarkGet\/go-redis\/goroutines/  { gr_par = $3 }
  /^BenchmarkCgoCall/                    { cgo = $3 }
  /^BenchmarkTypedGet/                   { for (i = 1; i < NF; i++) if ($(i+1) == "speedup") typed = $i }
  /^BenchmarkGetRounds/                  { for (i = 1; i < NF; i++) m[$(i+1)] = $i }
  END {
    if (!rk_seq || !gr_seq || !rk_par || !gr_par) { print "missing benchmark results"; exit 1 }
    printf "\n=== summary (one run, one server) ===\n"
    printf "sequential latency : redkeep %.1f us/op, go-redis %.1f us/op -> %.2fx go-redis (target <= 0.9x)\n", rk_seq/1000, gr_seq/1000, rk_seq/gr_seq
    printf "50 goroutines      : redkeep %.0f ops/s, go-redis %.0f ops/s -> %.2fx go-redis (target >= 1.3x)\n", 1e9/rk_par, 1e9/gr_par, gr_par/rk_par
    if (m["seq-ratio"]) {
      printf "alternating rounds, medians:\n"
      printf "  sequential latency : redkeep %.1f us/op, go-redis %.1f us/op -> %.2fx go-redis (target <= 0.9x)\n", m["redkeep-seq-ns/op"]/1000, m["go-redis-seq-ns/op"]/1000, m["seq-ratio"]
      printf "  50 goroutines      : redkeep %.0f ops/s, go-redis %.0f ops/s -> %.2fx go-redis (target >= 1.3x)\n", 1e9/m["redkeep-par-ns/op"], 1e9/m["go-redis-par-ns/op"], m["par-speedup"]
    }
    printf "cgo call overhead  : %.0f ns per call (a GET makes 1 call)\n", cgo
    if (typed) printf "typed Get           : %.2fx go-redis Get(...).Result() throughput, sequential (target >= 1.0x)\n", typed
  }
' "$out"
