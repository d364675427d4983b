package redkeep

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// incrWithWatch is the go-redis optimistic-increment recipe, retried on
// TxFailedErr.
func incrWithWatch(ctx context.Context, p *Pool, key string, retries *atomic.Int64) error {
	for {
		err := p.Watch(ctx, func(tx *Tx) error {
			n, err := tx.Get(ctx, key).Int()
			if err != nil && !errors.Is(err, Nil) {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(pipe Pipeliner) error {
				pipe.Set(ctx, key, strconv.Itoa(n+1), 0)
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, TxFailedErr) {
			return err
		}
		retries.Add(1)
	}
}

// No lost update: 1,000 increments by GET then SET under WATCH, from 20
// goroutines at once, give exactly 1,000.
func TestWatchUnderContentionLosesNoUpdate(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const goroutines, each = 20, 50
	var wg sync.WaitGroup
	var retries atomic.Int64
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := incrWithWatch(ctx, p, "counter", &retries); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, err := p.Get(ctx, "counter").Int(); err != nil || n != goroutines*each {
		t.Fatalf("counter = %d, %v; want %d", n, err, goroutines*each)
	}
	if retries.Load() == 0 {
		t.Log("no transaction was retried: the contention did not happen")
	}
	t.Logf("%d increments, %d retries after TxFailedErr", goroutines*each, retries.Load())
}

func TestWatchAbortsWhenAWatchedKeyChanges(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	p.Set(ctx, "w", "1", 0)
	err := p.Watch(ctx, func(tx *Tx) error {
		if v := tx.Get(ctx, "w").Val(); v != "1" {
			t.Errorf("tx.Get = %q", v)
		}
		p.Set(ctx, "w", "changed", 0) // another client writes in between
		cmds, err := tx.TxPipelined(ctx, func(pipe Pipeliner) error {
			pipe.Set(ctx, "w", "mine", 0)
			return nil
		})
		if len(cmds) != 1 || !errors.Is(cmds[0].Err(), TxFailedErr) {
			t.Errorf("aborted commands: %v", cmds)
		}
		return err
	}, "w")
	if !errors.Is(err, TxFailedErr) {
		t.Fatalf("Watch = %v, want TxFailedErr", err)
	}
	if v := p.Get(ctx, "w").Val(); v != "changed" {
		t.Fatalf("w = %q: the aborted transaction wrote", v)
	}
}

// A connection given back while still watching is cleaned first: the next
// Watch on it is not aborted by the previous caller's watches.
func TestWatchLeavesNoWatchBehind(t *testing.T) {
	r := startRedis(t)
	ctx := context.Background()
	p, err := Open(ctx, Options{Addr: r.Addr(), PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	boom := errors.New("boom")
	// Watches "a" and returns without EXEC.
	if err := p.Watch(ctx, func(tx *Tx) error { return boom }, "a"); err != boom {
		t.Fatalf("Watch = %v, want fn's error", err)
	}
	p.Set(ctx, "a", "changed", 0)
	// The only exclusive connection again: a transaction on "b" must run.
	err = p.Watch(ctx, func(tx *Tx) error {
		_, err := tx.TxPipelined(ctx, func(pipe Pipeliner) error {
			pipe.Set(ctx, "b", "ok", 0)
			return nil
		})
		return err
	}, "b")
	if err != nil {
		t.Fatalf("the second Watch inherited a watch: %v", err)
	}
	if s := p.Stats(); s.Evicted != 0 {
		t.Fatalf("the reset connection was evicted (%d) instead of reused", s.Evicted)
	}
}

func TestWatchFailsFastAndTxIsValidOnlyInsideFn(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ctx := context.Background()
	var kept *Tx
	if err := p.Watch(ctx, func(tx *Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := kept.Get(ctx, "k").Err(); !errors.Is(err, ErrClosed) {
		t.Fatalf("a Tx used after Watch = %v, want ErrClosed", err)
	}
	r.Kill()
	deadline := time.Now().Add(5 * time.Second)
	for p.Health().State != StateDown && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	err := p.Watch(ctx, func(tx *Tx) error { return nil }, "k")
	if !errors.Is(err, ErrUnavailable) || time.Since(start) > time.Second {
		t.Fatalf("Watch while down = %v after %v, want ErrUnavailable at once", err, time.Since(start))
	}
}
