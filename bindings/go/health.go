package redkeep

/*
#include "redkeep.h"
*/
import "C"

import (
	"context"
	"runtime"
	"time"
)

// State is the pool's view of Redis.
type State int

// States of a pool.
const (
	// StateUp: the last probe got its PONG.
	StateUp State = iota
	// StateDegraded: some probes failed, fewer than needed for StateDown,
	// or the pool was not probed yet. Commands still go to Redis.
	StateDegraded
	// StateDown: Redis is considered gone; commands fail fast with
	// ErrUnavailable and the pool reconnects on its backoff schedule.
	StateDown
	// StateClosed: Close was called; commands fail with ErrClosed.
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateUp:
		return "up"
	case StateDegraded:
		return "degraded"
	case StateDown:
		return "down"
	case StateClosed:
		return "closed"
	default:
		return "unknown"
	}
}

// Health is a snapshot of a pool's health.
type Health struct {
	// State is the current state.
	State State
	// Since is when the pool entered State.
	Since time.Time
	// LastError says why the last probe or connect failed since the pool
	// was last up ("" if none). Never contains a password.
	LastError string
	// RTT is the round-trip time of the last successful probe (0 if none).
	RTT time.Duration
	// ConsecutiveFailures counts failed probes or connects in a row.
	ConsecutiveFailures int
	// Generation increments each time the pool goes down.
	Generation uint64
	// Nodes is, for a Cluster pool, every node the health watch probes
	// (primaries and replicas, from the last slot map); nil for one server
	// or a Sentinel group. Filled by Pool.Health.
	Nodes []NodeHealth
}

// NodeHealth is one node of a Cluster, as the health watch last saw it.
type NodeHealth struct {
	// Addr is "host:port", as the cluster names it.
	Addr string
	// Primary is true for a primary (it serves slots), false for a replica.
	Primary bool
	// State is StateUp or StateDown.
	State State
	// LastError says why its last probe failed ("" if none).
	LastError string
}

func healthFromC(h *C.redkeep_health) Health {
	out := Health{
		State:               State(h.state),
		Since:               time.Now().Add(-time.Duration(h.since_ms) * time.Millisecond),
		LastError:           C.GoString(&h.last_error[0]),
		ConsecutiveFailures: int(h.consecutive_failures),
		Generation:          uint64(h.generation),
	}
	if h.has_rtt {
		out.RTT = time.Duration(h.rtt_us) * time.Microsecond
	}
	return out
}

// Stats are a pool's counters since it was opened, plus the size of each
// connection set now.
type Stats struct {
	// Size, Idle and Waiting describe the exclusive connections now.
	Size, Idle, Waiting uint64
	// Checkouts of exclusive connections, and those that timed out.
	Checkouts, CheckoutTimeouts uint64
	// FastFails counts calls refused with ErrUnavailable while down.
	FastFails uint64
	// Connects and ConnectFailures count connection attempts.
	Connects, ConnectFailures uint64
	// Reconnects counts reconnect attempts of the health watch while down.
	Reconnects uint64
	// Evicted counts connections dropped (broken, stale after an outage).
	Evicted uint64
	// Probes and ProbeFailures count health probes.
	Probes, ProbeFailures uint64
	// SharedOpen is the number of shared multiplexed connections open now:
	// they carry the commands of a Do whose context can be cancelled, and
	// of goroutines calling at the same time.
	SharedOpen uint64
	// ThreadOpen is the number of calling-thread connections open now, idle
	// or in use: they carry the command of a lone Do whose context cannot
	// be cancelled (context.Background without a deadline).
	ThreadOpen uint64
	// ThreadIdle is the number of calling-thread connections idle now.
	ThreadIdle uint64
}

func statsFromC(s *C.redkeep_stats) Stats {
	return Stats{
		Size: uint64(s.size), Idle: uint64(s.idle), Waiting: uint64(s.waiting),
		Checkouts: uint64(s.checkouts), CheckoutTimeouts: uint64(s.checkout_timeouts),
		FastFails: uint64(s.fast_fails),
		Connects:  uint64(s.connects), ConnectFailures: uint64(s.connect_failures),
		Reconnects: uint64(s.reconnects), Evicted: uint64(s.evicted),
		Probes: uint64(s.probes), ProbeFailures: uint64(s.probe_failures),
		SharedOpen: uint64(s.shared_open),
		ThreadOpen: uint64(s.thread_open), ThreadIdle: uint64(s.thread_idle),
	}
}

// HealthChanges returns a channel that receives the current health at once, then
// every change (changes the reader misses are coalesced into the latest).
// The channel is closed when ctx is done or the pool is closed.
func (p *Pool) HealthChanges(ctx context.Context) <-chan Health {
	ch := make(chan Health, 1)
	c := p.c
	c.mu.RLock()
	if c.ptr == nil {
		c.mu.RUnlock()
		close(ch)
		return ch
	}
	var w *C.redkeep_watch
	status := C.redkeep_pool_watch(c.ptr, &w, nil)
	var first C.redkeep_health
	C.redkeep_pool_health(c.ptr, &first)
	c.mu.RUnlock()
	runtime.KeepAlive(p)
	if status != C.REDKEEP_OK {
		close(ch)
		return ch
	}
	cancel := C.redkeep_cancel_new()
	stop := make(chan struct{})
	triggered := make(chan struct{})
	go func() {
		defer close(triggered)
		select {
		case <-ctx.Done():
		case <-c.closing:
		case <-stop:
		}
		C.redkeep_cancel_trigger(cancel)
	}()
	go func() {
		defer func() {
			close(stop)
			<-triggered
			C.redkeep_watch_free(w)
			C.redkeep_cancel_free(cancel)
			close(ch)
		}()
		ch <- healthFromC(&first)
		for {
			var h C.redkeep_health
			if C.redkeep_watch_next(w, 0, cancel, &h, nil) != C.REDKEEP_OK {
				return
			}
			next := healthFromC(&h)
			select {
			case ch <- next:
			default:
				// The reader is behind: replace the unread value.
				select {
				case <-ch:
				default:
				}
				select {
				case ch <- next:
				case <-ctx.Done():
					return
				case <-c.closing:
					return
				}
			}
		}
	}()
	return ch
}
