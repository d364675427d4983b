package redkeep

/*
#include "redkeep.h"
*/
import "C"

import (
	"runtime"
	"time"
)

// Histogram is a duration histogram with fixed explicit buckets, in the
// shape of an OpenTelemetry explicit-bucket histogram data point:
// Counts[i] counts the durations in (Bounds[i-1], Bounds[i]], not
// cumulatively, and Counts[len(Bounds)] those above the last bound, so
// len(Counts) == len(Bounds)+1. The bounds are the core's, 100µs … 10s.
type Histogram struct {
	// Bounds are the buckets' upper bounds, ascending.
	Bounds []time.Duration
	// Counts are the durations per bucket (not cumulative).
	Counts []uint64
	// Sum is the sum of every recorded duration.
	Sum time.Duration
	// Count is how many durations were recorded (the sum of Counts).
	Count uint64
}

// Metrics is one snapshot of a pool's metrics, read without I/O: the
// numbers MetricsText renders, as a struct. The fields follow the
// OpenTelemetry db.client.connection.* semantic conventions, plus
// redkeep's own; each comment names its instrument, and every instrument
// carries the attribute db.client.connection.pool.name = Pool.
type Metrics struct {
	// Pool is db.client.connection.pool.name: the pool's address with the
	// password redacted (Pool.Name).
	Pool string
	// Idle is db.client.connection.count with
	// db.client.connection.state=idle: connections open and idle now, in
	// every connection set of the pool.
	Idle uint64
	// Used is db.client.connection.count with
	// db.client.connection.state=used: connections open and in use now (a
	// shared connection is always in use).
	Used uint64
	// IdleMin is db.client.connection.idle.min: the idle connections the
	// pool keeps open (the core's pool.min_idle).
	IdleMin uint64
	// Max is db.client.connection.max: the most connections the pool may
	// hold.
	Max uint64
	// PendingRequests is db.client.connection.pending_requests: callers
	// waiting for a connection now.
	PendingRequests uint64
	// Timeouts is db.client.connection.timeouts (a counter): checkouts
	// that ran out of their wait timeout.
	Timeouts uint64
	// CreateTime is db.client.connection.create_time: how long successful
	// connects took (handshake and first PING).
	CreateTime Histogram
	// WaitTime is db.client.connection.wait_time: how long callers waited
	// for a connection.
	WaitTime Histogram
	// UseTime is db.client.connection.use_time: how long callers held a
	// connection (a command on a shared connection: until its reply).
	UseTime Histogram
	// State is redkeep.health.state: the pool's health state now (the
	// gauge is 1 for the attribute redkeep.state=State.String()).
	State State
	// Health is the health snapshot State comes from (Nodes is not filled;
	// Pool.Health fills it).
	Health Health
	// ProbeRTT is redkeep.probe.rtt: round trips of successful health
	// probes.
	ProbeRTT Histogram
	// Reconnects is redkeep.reconnects (a counter): reconnect attempts of
	// the health watch while down.
	Reconnects uint64
	// FastFails is redkeep.fast_fails (a counter): calls refused with
	// ErrUnavailable while down.
	FastFails uint64
	// Evictions is redkeep.evictions (a counter): connections dropped
	// (broken, out of step, idle when Redis went down, from before an
	// outage).
	Evictions uint64
	// ServerRestarts is redkeep.server.restarts (a counter; in the
	// Prometheus text redkeep_server_restarts_total, which the core's
	// OpenTelemetry export does not register yet): restarts of the local
	// server the pool owns (SpawnIfAbsent); 0 when HasServerRestarts is
	// false.
	ServerRestarts uint64
	// HasServerRestarts says whether the pool owns a local server, so that
	// ServerRestarts is reported.
	HasServerRestarts bool
	// Stats are every counter and set size of the pool (Reconnects,
	// FastFails and Evictions come from here).
	Stats Stats
}

// Metrics returns the pool's metrics now, read without I/O; see the
// Metrics type for which OpenTelemetry instrument each field is. After
// Close it returns the zero Metrics.
func (p *Pool) Metrics() Metrics {
	c := p.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return Metrics{}
	}
	var m C.redkeep_metrics
	if C.redkeep_pool_metrics(c.ptr, &m, nil) != C.REDKEEP_OK {
		return Metrics{}
	}
	var name *C.char
	var pool string
	if C.redkeep_pool_name(c.ptr, &name, nil) == C.REDKEEP_OK {
		pool = C.GoString(name)
		C.redkeep_string_free(name)
	}
	runtime.KeepAlive(p)
	health := healthFromC(&m.health)
	stats := statsFromC(&m.stats)
	return Metrics{
		Pool:              pool,
		Idle:              uint64(m.idle),
		Used:              uint64(m.used),
		IdleMin:           uint64(m.idle_min),
		Max:               uint64(m.max),
		PendingRequests:   uint64(m.pending_requests),
		Timeouts:          uint64(m.timeouts),
		CreateTime:        histogramFromC(&m.create_time),
		WaitTime:          histogramFromC(&m.wait_time),
		UseTime:           histogramFromC(&m.use_time),
		State:             health.State,
		Health:            health,
		ProbeRTT:          histogramFromC(&m.probe_rtt),
		Reconnects:        stats.Reconnects,
		FastFails:         stats.FastFails,
		Evictions:         stats.Evicted,
		ServerRestarts:    uint64(m.server_restarts),
		HasServerRestarts: bool(m.has_server_restarts),
		Stats:             stats,
	}
}

func histogramFromC(h *C.redkeep_histogram) Histogram {
	out := Histogram{
		Bounds: make([]time.Duration, len(h.bounds_ns)),
		Counts: make([]uint64, len(h.counts)),
		Sum:    time.Duration(h.sum_ns),
		Count:  uint64(h.count),
	}
	for i, b := range h.bounds_ns {
		out.Bounds[i] = time.Duration(b)
	}
	for i, n := range h.counts {
		out.Counts[i] = uint64(n)
	}
	return out
}
