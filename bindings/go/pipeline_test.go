package redkeep

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestPipelineIsOneRoundTripWithPerCommandResults(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	pipe := p.Pipeline()
	set := pipe.Set(ctx, "pk", "v", 0)
	incr := pipe.Incr(ctx, "pn")
	get := pipe.Get(ctx, "pk")
	missing := pipe.Get(ctx, "nokey")
	bad := pipe.HGet(ctx, "pk", "f") // WRONGTYPE: an error for this command only
	after := pipe.Incr(ctx, "pn")
	do := pipe.Do(ctx, "STRLEN", "pk")
	if pipe.Len() != 7 {
		t.Fatalf("Len = %d", pipe.Len())
	}
	if get.Val() != "" {
		t.Fatal("a queued command has no result before Exec")
	}
	cmds, err := pipe.Exec(ctx)
	if len(cmds) != 7 || pipe.Len() != 0 {
		t.Fatalf("Exec returned %d commands, %d still queued", len(cmds), pipe.Len())
	}
	if !errors.Is(err, Nil) {
		t.Fatalf("Exec err = %v, want the first error (Nil)", err)
	}
	if set.Val() != "OK" || incr.Val() != 1 || get.Val() != "v" || after.Val() != 2 {
		t.Fatalf("results: %v %v %v %v", set, incr, get, after)
	}
	if n, _ := do.Int64(); n != 1 {
		t.Fatalf("Do in a pipeline = %v", do)
	}
	if !errors.Is(missing.Err(), Nil) {
		t.Fatalf("missing key: %v", missing.Err())
	}
	var se *ServerError
	if !errors.As(bad.Err(), &se) || se.Prefix() != "WRONGTYPE" {
		t.Fatalf("WRONGTYPE: %v", bad.Err())
	}
	if cmds, err := p.Pipeline().Exec(ctx); cmds != nil || err != nil {
		t.Fatalf("an empty Exec = %v, %v", cmds, err)
	}
}

func TestPipelinedAndItsRules(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	cmds, err := p.Pipelined(ctx, func(pipe Pipeliner) error {
		for i := 0; i < 100; i++ {
			pipe.RPush(ctx, "list", i)
		}
		return nil
	})
	if err != nil || len(cmds) != 100 || cmds[99].(*IntCmd).Val() != 100 {
		t.Fatalf("Pipelined = %d commands, %v", len(cmds), err)
	}
	// A pipeline holding a connection-state command is refused unsent.
	_, err = p.Pipelined(ctx, func(pipe Pipeliner) error {
		pipe.Incr(ctx, "refused")
		pipe.Do(ctx, "SELECT", 2)
		return nil
	})
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("pipeline with SELECT = %v, want ErrRefused", err)
	}
	if _, err := p.Get(ctx, "refused").Result(); !errors.Is(err, Nil) {
		t.Fatalf("a refused pipeline must send nothing: %v", err)
	}
	// fn's error discards the queue.
	boom := errors.New("boom")
	if _, err := p.Pipelined(ctx, func(pipe Pipeliner) error { pipe.Incr(ctx, "x"); return boom }); err != boom {
		t.Fatalf("Pipelined(fn error) = %v", err)
	}
	// A blocking command in a pipeline runs on a connection of its own,
	// with its own wait: it times out with Nil, not with ReadTimeout.
	cmds, err = p.Pipelined(ctx, func(pipe Pipeliner) error {
		pipe.BLPop(ctx, 200*time.Millisecond, "empty")
		return nil
	})
	if !errors.Is(err, Nil) || len(cmds) != 1 {
		t.Fatalf("pipelined BLPop = %v", err)
	}
}

func TestTxPipelineRunsAsOneTransaction(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	// Concurrent TxPipelines of INCR+GET: each sees its own INCR's value,
	// never another transaction's in between.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				var incr *IntCmd
				var get *StringCmd
				_, err := p.TxPipelined(ctx, func(pipe Pipeliner) error {
					incr = pipe.Incr(ctx, "tx")
					get = pipe.Get(ctx, "tx")
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
				if fmt.Sprint(incr.Val()) != get.Val() {
					errs <- fmt.Errorf("INCR gave %d but GET in the same transaction %q", incr.Val(), get.Val())
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
	if n, _ := p.Get(ctx, "tx").Int(); n != 400 {
		t.Fatalf("tx = %d, want 400", n)
	}
}
