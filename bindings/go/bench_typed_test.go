package redkeep

import (
	"context"
	"sort"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// BenchmarkTypedGet compares the typed Get(ctx, k).Result() of redkeep and
// go-redis v9, sequentially, against one server in the same run: rounds
// of 500 GETs alternate between the two, and the medians of the rounds
// are reported (redkeep-ns/op, go-redis-ns/op, and their ratio
// go-redis/redkeep: above 1 means redkeep is faster).
func BenchmarkTypedGet(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	pool, err := Open(ctx, Options{Addr: srv.Addr()})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	if err := pool.Set(ctx, "bench:typed", "0123456789abcdef0123456789abcdef", 0).Err(); err != nil {
		b.Fatal(err)
	}
	const round = 500
	run := map[string]func() error{
		"redkeep": func() error {
			_, err := pool.Get(ctx, "bench:typed").Result()
			return err
		},
		"go-redis": func() error {
			_, err := rdb.Get(ctx, "bench:typed").Result()
			return err
		},
	}
	for _, f := range run { // warm up connections
		for i := 0; i < round; i++ {
			if err := f(); err != nil {
				b.Fatal(err)
			}
		}
	}
	rounds := b.N/round + 1
	perOp := map[string][]float64{}
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		for _, name := range []string{"redkeep", "go-redis"} {
			f := run[name]
			start := time.Now()
			for i := 0; i < round; i++ {
				if err := f(); err != nil {
					b.Fatal(err)
				}
			}
			perOp[name] = append(perOp[name], float64(time.Since(start).Nanoseconds())/round)
		}
	}
	b.StopTimer()
	rk, gr := median(perOp["redkeep"]), median(perOp["go-redis"])
	b.ReportMetric(rk, "redkeep-ns/op")
	b.ReportMetric(gr, "go-redis-ns/op")
	b.ReportMetric(gr/rk, "speedup")
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}
