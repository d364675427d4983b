package redkeep

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The benchmarks compare Do(GET) through redkeep with go-redis v9 against
// one redis-server (spawned once per test binary), sequentially and from
// 50 goroutines, and time a trivial cgo call. scripts/bench-go.sh runs
// them and prints the ratios.

var (
	benchOnce sync.Once
	benchSrv  *Server
	benchErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchSrv != nil {
		benchSrv.Close()
	}
	os.Exit(code)
}

func benchServer(b *testing.B) *Server {
	b.Helper()
	benchOnce.Do(func() {
		benchSrv, benchErr = EnsureServer(context.Background(), ServerOptions{Addr: "127.0.0.1:0"})
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchSrv
}

const benchGoroutines = 50

// getter is one GET of the benchmark key.
type getter func(ctx context.Context) error

func benchClients(b *testing.B) map[string]getter {
	b.Helper()
	srv := benchServer(b)
	ctx := context.Background()
	pool, err := Open(ctx, Options{Addr: srv.Addr()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pool.Close() })
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	b.Cleanup(func() { rdb.Close() })
	if err := rdb.Set(ctx, "bench:key", "0123456789abcdef0123456789abcdef", 0).Err(); err != nil {
		b.Fatal(err)
	}
	return map[string]getter{
		"redkeep": func(ctx context.Context) error {
			_, err := pool.Do(ctx, "GET", "bench:key")
			return err
		},
		"go-redis": func(ctx context.Context) error {
			return rdb.Do(ctx, "GET", "bench:key").Err()
		},
	}
}

func BenchmarkGet(b *testing.B) {
	clients := benchClients(b)
	for _, name := range []string{"redkeep", "go-redis"} {
		get := clients[name]
		b.Run(name+"/sequential", func(b *testing.B) {
			ctx := context.Background()
			for i := 0; i < 1000; i++ { // warm up connections
				get(ctx)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := get(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/goroutines-50", func(b *testing.B) {
			ctx := context.Background()
			var next atomic.Int64
			var failed atomic.Value
			run := func() {
				for next.Add(1) <= int64(b.N) {
					if err := get(ctx); err != nil {
						failed.Store(err)
						return
					}
				}
			}
			var wg sync.WaitGroup
			b.ResetTimer()
			for g := 0; g < benchGoroutines; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					run()
				}()
			}
			wg.Wait()
			b.StopTimer()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkCgoCall is the cost of one trivial call into the library.
func BenchmarkCgoCall(b *testing.B) {
	for i := 0; i < b.N; i++ {
		noopCall()
	}
}

// BenchmarkGetRounds is BenchmarkGet measured fairly on a busy machine:
// rounds of redkeep and go-redis alternate within one run (so both see
// the same background load), sequentially and from 50 goroutines, and the
// medians of the rounds are reported: seq-ratio is redkeep's sequential
// latency over go-redis's (below 1: redkeep is faster), par-speedup is
// redkeep's 50-goroutine throughput over go-redis's (above 1: redkeep is
// faster).
func BenchmarkGetRounds(b *testing.B) {
	clients := benchClients(b)
	ctx := context.Background()
	const seqRound, parRound = 500, 5000
	seq := func(get getter) float64 {
		start := time.Now()
		for i := 0; i < seqRound; i++ {
			if err := get(ctx); err != nil {
				b.Fatal(err)
			}
		}
		return float64(time.Since(start).Nanoseconds()) / seqRound
	}
	par := func(get getter) float64 {
		var next atomic.Int64
		var failed atomic.Value
		var wg sync.WaitGroup
		start := time.Now()
		for g := 0; g < benchGoroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= parRound {
					if err := get(ctx); err != nil {
						failed.Store(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
		return float64(time.Since(start).Nanoseconds()) / parRound
	}
	names := []string{"redkeep", "go-redis"}
	for _, name := range names { // warm up connections
		seq(clients[name])
		par(clients[name])
	}
	perOp := map[string][]float64{}
	rounds := b.N/(seqRound+parRound) + 5
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		if r%2 == 1 { // neither always goes first
			names[0], names[1] = names[1], names[0]
		}
		for _, name := range names {
			perOp[name+"/seq"] = append(perOp[name+"/seq"], seq(clients[name]))
			perOp[name+"/par"] = append(perOp[name+"/par"], par(clients[name]))
		}
	}
	b.StopTimer()
	rkSeq, grSeq := median(perOp["redkeep/seq"]), median(perOp["go-redis/seq"])
	rkPar, grPar := median(perOp["redkeep/par"]), median(perOp["go-redis/par"])
	b.ReportMetric(rkSeq, "redkeep-seq-ns/op")
	b.ReportMetric(grSeq, "go-redis-seq-ns/op")
	b.ReportMetric(rkSeq/grSeq, "seq-ratio")
	b.ReportMetric(rkPar, "redkeep-par-ns/op")
	b.ReportMetric(grPar, "go-redis-par-ns/op")
	b.ReportMetric(grPar/rkPar, "par-speedup")
}
