package redkeep

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"

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
