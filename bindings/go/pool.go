package redkeep

/*
#include "redkeep.h"
*/
import "C"

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a resilient Redis pool: timeouts on every phase, one reconnect
// in flight with exponential backoff, and a health watch that makes calls
// fail fast with ErrUnavailable while Redis is down.
//
// A Pool is safe for concurrent use by many goroutines; commands from
// concurrent callers are pipelined on shared connections. Close it when
// done; a finalizer-style cleanup frees a forgotten pool, but only as a
// leak guard.
type Pool struct {
	// cmdable gives the pool every typed command (commands_gen.go), each
	// run through Pool.process.
	cmdable
	c       *poolCore
	cleanup runtime.Cleanup
}

// poolCore is the state the pool's goroutines (batching, watches) share;
// they never reference the Pool itself, so a forgotten Pool can still be
// collected and its cleanup close the core.
type poolCore struct {
	// mu is held shared by every C call and exclusively by close while it
	// frees the handle.
	mu      sync.RWMutex
	ptr     *C.redkeep_pool
	closing chan struct{}
	once    sync.Once
	// Commands run asynchronously: their outcomes arrive in a completion
	// queue whose descriptor Go's network poller watches (dispatch.go).
	completions *C.redkeep_completions
	file        *os.File
	fileOnce    sync.Once
	wmu         sync.Mutex
	nextToken   uint64
	waiters     map[uint64]chan completion
	pending     atomic.Int64
	// active counts the calls in flight, blocking and submitted.
	active atomic.Int64
}

// Open builds a pool. Unless opt.Lazy, it waits until Redis answers (at
// most DialTimeout) and fails otherwise. With opt.SpawnIfAbsent it starts a
// local redis-server at opt.Addr when nothing answers there; the pool owns
// it and Close stops it. The context's deadline and cancellation end the
// wait (a server being started is then stopped).
func Open(ctx context.Context, opt Options) (*Pool, error) {
	u, err := opt.url()
	if err != nil {
		return nil, err
	}
	var copts C.redkeep_pool_options
	C.redkeep_pool_options_default(&copts)
	if opt.PoolSize > 0 {
		if uint64(opt.PoolSize) > math.MaxUint32 {
			return nil, invalidArgument(fmt.Sprintf("Options.PoolSize %d does not fit the C ABI's 32 bits", opt.PoolSize))
		}
		copts.max_size = C.uint32_t(opt.PoolSize)
	}
	setMillis(&copts.connect_timeout_ms, opt.DialTimeout)
	setMillis(&copts.command_timeout_ms, opt.ReadTimeout)
	setMillis(&copts.wait_timeout_ms, opt.PoolTimeout)
	setMillis(&copts.backoff_initial_ms, opt.MinRetryBackoff)
	setMillis(&copts.backoff_max_ms, opt.MaxRetryBackoff)
	setMillis(&copts.health_interval_ms, opt.HealthCheckInterval)
	copts.lazy = C.bool(opt.Lazy)
	if opt.TLS != nil {
		ctls, err := opt.TLS.toC(&copts)
		if err != nil {
			return nil, err
		}
		defer ctls.free()
	}
	if opt.SpawnIfAbsent {
		if opt.URL != "" || opt.multi() {
			return nil, invalidArgument("SpawnIfAbsent needs Addr, not URL, Addrs or MasterName")
		}
		so := ServerOptions{Addr: opt.addr(), Password: opt.Password}
		cso, err := so.toC()
		if err != nil {
			return nil, err
		}
		defer cso.free()
		copts.spawn_if_absent = true
		copts.spawn = cso.opts
	}
	c, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	curl := C.CString(u)
	defer freeCString(curl)
	var ptr *C.redkeep_pool
	var cerr *C.redkeep_error
	status := C.redkeep_pool_open(curl, &copts, c.cancel, &ptr, &cerr)
	if err := c.end(ctx, takeError(status, cerr)); err != nil {
		return nil, err
	}
	core := &poolCore{ptr: ptr, closing: make(chan struct{}), waiters: make(map[uint64]chan completion)}
	if err := core.startDispatch(); err != nil {
		C.redkeep_pool_free(ptr)
		return nil, err
	}
	p := &Pool{c: core}
	p.cmdable = p.process
	if opt.Logger != nil {
		registerLogger(core, p.Name(), opt.Logger)
	}
	// A leak guard only: Close is the way to release a pool.
	p.cleanup = runtime.AddCleanup(p, func(c *poolCore) { c.close() }, core)
	return p, nil
}

func setMillis(dst *C.uint32_t, d time.Duration) {
	if d > 0 {
		*dst = C.uint32_t(millis(d))
	}
}

// Do sends one command and returns its reply, like go-redis's Do:
// arguments may be string, []byte, any integer or float type, bool
// ("1"/"0") or an encoding.BinaryMarshaler; replies are nil, int64,
// string, float64, bool, *big.Int, []any, map[any]any, or *ServerError
// inside an array.
//
// A nil reply returns (nil, Nil). An error reply returns a *ServerError.
// The context's deadline bounds the whole call (connect, pool wait and
// reply); cancelling the context abandons it (the command may still run on
// the server) and Do returns ctx.Err().
//
// The library decides how a command runs, by the same rules as in every
// language: a command that changes the state of its connection (SELECT,
// MULTI, WATCH, SUBSCRIBE, CLIENT SETNAME, ...) fails with ErrRefused
// without being sent; a blocking one (BLPOP, XREAD ... BLOCK, WAIT, ...)
// runs on a connection of its own, with a reply timeout of its own wait
// plus ReadTimeout, so it never holds up other callers; the others share
// the pool's connections.
func (p *Pool) Do(ctx context.Context, args ...any) (any, error) {
	return p.do(ctx, false, args)
}

func (p *Pool) do(ctx context.Context, asBytes bool, args []any) (any, error) {
	v, err := p.c.do(ctx, asBytes, args)
	runtime.KeepAlive(p)
	return v, err
}

func (c *poolCore) do(ctx context.Context, asBytes bool, args []any) (any, error) {
	if len(args) == 0 {
		return nil, invalidArgument("Do needs at least a command name")
	}
	s := getScratch()
	defer putScratch(s)
	if err := s.pack(args); err != nil {
		return nil, err
	}
	var cl call
	if err := cl.start(ctx); err != nil {
		return nil, err
	}
	var v any
	var err error
	if c.active.Add(1) == 1 {
		// Nothing else in flight: a blocking call from this goroutine is
		// the shortest path (no hand-off to the dispatcher).
		v, err = c.execBlocking(s, &cl, asBytes)
	} else {
		v, err = c.submit(s, &cl, asBytes)
	}
	c.active.Add(-1)
	return v, cl.end(ctx, err)
}

// GetBytes is Get returning a []byte (binary values without a string copy).
func (p *Pool) GetBytes(ctx context.Context, key string) ([]byte, error) {
	v, err := p.do(ctx, true, []any{"GET", key})
	if err != nil {
		return nil, err
	}
	b, _ := v.([]byte)
	return b, nil
}

// Health is the pool's current view of Redis, read without sending a
// command. After Close it reports StateClosed.
func (p *Pool) Health() Health {
	c := p.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return Health{State: StateClosed, Since: time.Now()}
	}
	var h C.redkeep_health
	C.redkeep_pool_health(c.ptr, &h)
	out := healthFromC(&h)
	out.Nodes = nodesOf(c.ptr)
	runtime.KeepAlive(p)
	return out
}

// nodesOf reads a Cluster pool's per-node health (nil for other pools).
func nodesOf(ptr *C.redkeep_pool) []NodeHealth {
	buf := make([]C.redkeep_node_health, 8)
	for range 4 { // the node count may grow between two reads
		var n C.size_t
		if C.redkeep_pool_health_nodes(ptr, &buf[0], C.size_t(len(buf)), &n) != C.REDKEEP_OK || n == 0 {
			return nil
		}
		if int(n) > len(buf) {
			buf = make([]C.redkeep_node_health, int(n)+4)
			continue
		}
		nodes := make([]NodeHealth, int(n))
		for i := range nodes {
			nodes[i] = NodeHealth{
				Addr:      C.GoString(&buf[i].addr[0]),
				Primary:   bool(buf[i].primary),
				State:     State(buf[i].state),
				LastError: C.GoString(&buf[i].last_error[0]),
			}
		}
		return nodes
	}
	return nil
}

// Stats returns the pool's counters (zero after Close).
func (p *Pool) Stats() Stats {
	c := p.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return Stats{}
	}
	var s C.redkeep_stats
	C.redkeep_pool_stats(c.ptr, &s)
	runtime.KeepAlive(p)
	return statsFromC(&s)
}

// Close stops the health watch, closes every connection and stops a
// server the pool spawned (SpawnIfAbsent), waiting until it is gone. Calls
// in flight end with ErrClosed within about 100 ms; later calls fail with
// it at once. Idempotent and safe to call concurrently; always returns nil.
func (p *Pool) Close() error {
	p.cleanup.Stop()
	p.c.close()
	return nil
}

func (c *poolCore) close() {
	c.once.Do(func() {
		defer unregisterLogger(c)
		close(c.closing)
		// Wakes calls in flight (they fail with ErrClosed) before waiting
		// for them to leave, so close does not wait for their timeouts.
		c.mu.RLock()
		C.redkeep_pool_close(c.ptr)
		c.mu.RUnlock()
		c.mu.Lock()
		C.redkeep_pool_free(c.ptr)
		c.ptr = nil
		c.mu.Unlock()
		// The dispatcher stops once every command in flight has its
		// outcome (they end at once with ErrClosed).
		if c.pending.Load() == 0 {
			c.stopDispatch()
		}
	})
}
