package redkeep_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	redkeep "github.com/redkeep/redkeep/bindings/go"
)

// Start a throwaway server, open a pool on it, and run commands.
func Example() {
	ctx := context.Background()
	srv, err := redkeep.EnsureServer(ctx, redkeep.ServerOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	pool, err := redkeep.Open(ctx, redkeep.Options{Addr: srv.Addr()})
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	if err := pool.Set(ctx, "greeting", "hello", time.Minute).Err(); err != nil {
		panic(err)
	}
	v, _ := pool.Get(ctx, "greeting").Result()
	fmt.Println(v)

	_, err = pool.Get(ctx, "missing").Result()
	fmt.Println(errors.Is(err, redkeep.Nil))
	// Output:
	// hello
	// true
}

func ExamplePool_Do() {
	ctx := context.Background()
	srv, _ := redkeep.EnsureServer(ctx, redkeep.ServerOptions{Addr: "127.0.0.1:0"})
	defer srv.Close()
	pool, _ := redkeep.Open(ctx, redkeep.Options{URL: srv.URL()})
	defer pool.Close()

	n, _ := pool.Do(ctx, "INCRBY", "counter", 5)
	fmt.Printf("%T %v\n", n, n)
	pool.Do(ctx, "RPUSH", "list", "a", "b")
	list, _ := pool.Do(ctx, "LRANGE", "list", 0, -1)
	fmt.Println(list)
	_, err := pool.Do(ctx, "INCR", "list")
	var serr *redkeep.ServerError
	fmt.Println(errors.As(err, &serr), serr.Prefix())
	// Output:
	// int64 5
	// [a b]
	// true WRONGTYPE
}

// Honour a context deadline: the call fails with an error that matches
// both redkeep.ErrTimeout and context.DeadlineExceeded.
func ExamplePool_Do_timeout() {
	ctx := context.Background()
	srv, _ := redkeep.EnsureServer(ctx, redkeep.ServerOptions{Addr: "127.0.0.1:0"})
	defer srv.Close()
	pool, _ := redkeep.Open(ctx, redkeep.Options{URL: srv.URL()})
	defer pool.Close()

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := pool.Do(short, "BLPOP", "empty-list", 1)
	fmt.Println(errors.Is(err, redkeep.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output: true true
}

func ExamplePool_HealthChanges() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, _ := redkeep.EnsureServer(ctx, redkeep.ServerOptions{Addr: "127.0.0.1:0"})
	defer srv.Close()
	pool, _ := redkeep.Open(ctx, redkeep.Options{URL: srv.URL()})
	defer pool.Close()

	changes := pool.HealthChanges(ctx)
	h := <-changes // the current health first, then every change
	fmt.Println(h.State)
	// Output: up
}

func ExampleEnsureServer() {
	ctx := context.Background()
	// Port 0 always starts a new server on a free port; a fixed port
	// attaches to a Redis already there.
	srv, err := redkeep.EnsureServer(ctx, redkeep.ServerOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	fmt.Println(srv.Spawned(), srv.PID() > 0)

	again, _ := redkeep.EnsureServer(ctx, redkeep.ServerOptions{Addr: srv.Addr()})
	defer again.Close() // attached: Close leaves the server running
	fmt.Println(again.Spawned(), again.PID())
	// Output:
	// true true
	// false 0
}

func ExamplePool_typedCommands() {
	ctx := context.Background()
	srv, _ := redkeep.EnsureServer(ctx, redkeep.ServerOptions{Addr: "127.0.0.1:0"})
	defer srv.Close()
	rdb, _ := redkeep.Open(ctx, redkeep.Options{URL: srv.URL()})
	defer rdb.Close()

	// A cache entry with an expiry, and a counter: go-redis's calls.
	rdb.Set(ctx, "page:/home", "<html>", time.Minute)
	page, err := rdb.Get(ctx, "page:/home").Result()
	fmt.Println(page, err)
	_, err = rdb.Get(ctx, "page:/missing").Result()
	fmt.Println(err == redkeep.Nil)
	fmt.Println(rdb.Incr(ctx, "visits").Val())

	// A queue: BLPOP waits on a connection of its own.
	rdb.RPush(ctx, "jobs", "job-1")
	job, _ := rdb.BLPop(ctx, time.Second, "jobs").Result()
	fmt.Println(job)
	// Output:
	// <html> <nil>
	// true
	// 1
	// [jobs job-1]
}

func ExamplePool_Watch() {
	ctx := context.Background()
	srv, _ := redkeep.EnsureServer(ctx, redkeep.ServerOptions{Addr: "127.0.0.1:0"})
	defer srv.Close()
	rdb, _ := redkeep.Open(ctx, redkeep.Options{URL: srv.URL()})
	defer rdb.Close()

	// Read, compute, write: retried if "balance" changed in between.
	rdb.Set(ctx, "balance", 100, 0)
	for {
		err := rdb.Watch(ctx, func(tx *redkeep.Tx) error {
			balance, err := tx.Get(ctx, "balance").Int()
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(pipe redkeep.Pipeliner) error {
				pipe.Set(ctx, "balance", balance-30, 0)
				return nil
			})
			return err
		}, "balance")
		if err != redkeep.TxFailedErr {
			break
		}
	}
	fmt.Println(rdb.Get(ctx, "balance").Val())
	// Output: 70
}

func ExamplePool_Pipelined() {
	ctx := context.Background()
	srv, _ := redkeep.EnsureServer(ctx, redkeep.ServerOptions{Addr: "127.0.0.1:0"})
	defer srv.Close()
	rdb, _ := redkeep.Open(ctx, redkeep.Options{URL: srv.URL()})
	defer rdb.Close()

	var incr *redkeep.IntCmd
	_, err := rdb.Pipelined(ctx, func(pipe redkeep.Pipeliner) error {
		incr = pipe.Incr(ctx, "pipelined")
		pipe.Expire(ctx, "pipelined", time.Hour)
		return nil
	})
	fmt.Println(incr.Val(), err)
	// Output: 1 <nil>
}

func ExampleInt64() {
	ctx := context.Background()
	srv, _ := redkeep.EnsureServer(ctx, redkeep.ServerOptions{Addr: "127.0.0.1:0"})
	defer srv.Close()
	pool, _ := redkeep.Open(ctx, redkeep.Options{URL: srv.URL()})
	defer pool.Close()

	n, err := redkeep.Int64(pool.Do(ctx, "INCRBY", "n", 5))
	fmt.Println(n, err)
	// Output: 5 <nil>
}
