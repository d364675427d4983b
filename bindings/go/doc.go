// Package redkeep keeps a program's Redis usable: a resilient connection
// pool with timeouts on every phase, reconnect with exponential backoff
// and jitter (one attempt in flight, never one per request), a health
// watch that makes calls fail fast while Redis is down, and
// connect-or-spawn of a local redis-server that never outlives its owner.
//
// It is a cgo binding over the redkeep Rust library's C ABI, so a Go
// program gets the same behaviour as a Rust service using the crate.
//
// # Usage
//
//	pool, err := redkeep.Open(ctx, redkeep.Options{Addr: "127.0.0.1:6379"})
//	if err != nil { ... }
//	defer pool.Close()
//	err = pool.Set(ctx, "greeting", "hello", 0).Err()
//	v, err := pool.Get(ctx, "greeting").Result() // "hello"
//	_, err = pool.Get(ctx, "missing").Result()   // errors.Is(err, redkeep.Nil)
//	n, err := pool.Do(ctx, "INCRBY", "n", 5)     // int64(5)
//
// The typed commands (Get, Set, HGetAll, BLPop, ZAdd, XAdd, Eval, ...)
// have go-redis's names, arguments and result types (*StringCmd with
// Result, Val and Err, ...); Pipeline, TxPipeline and an optimistic
// Watch(ctx, fn, keys...) work as in go-redis, and String, Int64,
// Strings, StringMap, ... convert Do's replies as redigo's helpers do.
//
// Errors match sentinels with errors.Is: Nil for a nil reply,
// ErrUnavailable while the pool is down, ErrTimeout (also
// context.DeadlineExceeded when the context's deadline caused it),
// ErrClosed, ErrRefused for a command that would change the shared
// connection's state (SELECT, MULTI, WATCH, SUBSCRIBE, CLIENT SETNAME);
// an error reply from Redis is a *ServerError (errors.As). Cancelling a
// call's context abandons it and returns ctx.Err(). Messages name settings
// as this package's fields (ServerOptions.Binary).
//
// Every rule (which connection a command may use, how long it may wait,
// whether it is refused or re-sent, a spawned server's lifetime) is the
// Rust core's, the same as for Rust, C and Python callers: a context's
// deadline becomes the call's timeout and its cancellation a cancel
// handle, nothing more.
//
// EnsureServer attaches to a local Redis or starts one; package
// redkeeptest wraps it for tests (redkeeptest.Server(t)).
//
// # Building
//
// The package links the static library libredkeep.a through cgo. It looks
// for the library and its header in the lib/ directory next to this file
// (#cgo LDFLAGS: ${SRCDIR}/lib/libredkeep.a -lpthread -ldl -lm), which
// scripts/build-go-lib.sh fills: from a clone of the repository, run
//
//	bash scripts/build-go-lib.sh   # cargo build --release -p redkeep-c, copies lib + header
//	cd bindings/go && go test ./...
//
// or just bash scripts/test-go.sh. A Go program using the package is one
// static binary; it needs a C toolchain (cgo) to build, nothing at run time.
//
// # Threads and handles
//
// Pool and Server are safe for concurrent use. A lone caller makes one
// blocking cgo call per command; when several goroutines call at once, the
// others submit their commands without blocking and park on a channel, and
// a dispatcher goroutine per pool, woken through Go's network poller, hands
// them their replies — so many goroutines do not hold as many OS threads,
// and their commands are pipelined on the pool's shared connections. The
// library's own work runs on one small runtime shared by the process (as
// many threads as CPUs, between 2 and 4; set REDKEEP_RUNTIME_THREADS to
// change it). Close releases a handle and is
// idempotent; a runtime cleanup closes a handle that was never closed, only
// as a leak guard.
package redkeep
