package redkeep

/*
#include <stdlib.h>
#include "redkeep.h"

extern void redkeepGoLog(void *user_data, redkeep_log_record *record);

// The exported Go function, as the C ABI's callback type (cgo declares it
// without the const of the record pointer).
static redkeep_status redkeep_go_set_log(uint32_t min_level) {
	return redkeep_set_log_callback((redkeep_log_fn)redkeepGoLog, NULL, min_level, NULL);
}
*/
import "C"

import (
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"unsafe"
)

// MetricsText returns the pool's metrics as Prometheus text (format
// 0.0.4), exactly as the core renders them: the OpenTelemetry
// db.client.connection.* conventions (connection count by state, pending
// requests, timeouts, create/wait/use time histograms) and redkeep's own
// (health state, probe round trips, reconnects, fast fails, evictions),
// every series labelled pool="<redacted address>". After Close it is "".
func (p *Pool) MetricsText() string {
	c := p.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return ""
	}
	var out *C.char
	var n C.size_t
	status := C.redkeep_pool_metrics_text(c.ptr, &out, &n, nil)
	runtime.KeepAlive(p)
	if status != C.REDKEEP_OK {
		return ""
	}
	defer C.redkeep_string_free(out)
	return C.GoStringN(out, C.int(n))
}

// MetricsHandler is an http.Handler serving MetricsText, for a service's
// own mux: mux.Handle("/metrics", pool.MetricsHandler()).
func (p *Pool) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(p.MetricsText()))
	})
}

// HealthJSON returns the pool's /health answer as the core decides it: the
// HTTP status (200 while the pool is up, 503 otherwise) and a JSON object
// with pool, state, since, for_seconds, last_error, rtt_seconds,
// consecutive_failures, generation and restarts. After Close: 503 and
// {"state":"closed"}.
func (p *Pool) HealthJSON() (int, []byte) {
	c := p.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return http.StatusServiceUnavailable, []byte(`{"state":"closed"}`)
	}
	var code C.uint16_t
	var out *C.char
	var n C.size_t
	status := C.redkeep_pool_health_json(c.ptr, &code, &out, &n, nil)
	runtime.KeepAlive(p)
	if status != C.REDKEEP_OK {
		return http.StatusInternalServerError, []byte(`{"error":"health unavailable"}`)
	}
	defer C.redkeep_string_free(out)
	return int(code), C.GoBytes(unsafe.Pointer(out), C.int(n))
}

// HealthHandler is an http.Handler answering like `redkeep ensure
// --health-addr`'s /health: 200 while the pool is up, 503 otherwise, with
// the JSON body of HealthJSON. It sends no command: it reads the health
// watch. mux.Handle("/health", pool.HealthHandler()).
func (p *Pool) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, body := p.HealthJSON()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(code)
		_, _ = w.Write(body)
	})
}

// Name is the pool's address with the password redacted: the pool label
// of its metrics and the "pool" attribute of its log records.
func (p *Pool) Name() string {
	c := p.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return ""
	}
	var out *C.char
	if C.redkeep_pool_name(c.ptr, &out, nil) != C.REDKEEP_OK {
		return ""
	}
	runtime.KeepAlive(p)
	defer C.redkeep_string_free(out)
	return C.GoString(out)
}

// The loggers of open pools (Options.Logger), by pool name. The library's
// log callback is process-wide; records go to the loggers of the pool they
// name, and records of no pool (a local server's) to every logger.
var logs logRegistry

type logRegistry struct {
	sync.Mutex
	loggers map[*poolCore]registeredLogger
	level   C.uint32_t
}

type registeredLogger struct {
	name   string
	logger *slog.Logger
}

// cLevel is the C ABI's min_level for what logger wants.
func cLevel(logger *slog.Logger) C.uint32_t {
	ctx := context.Background()
	switch {
	case logger.Enabled(ctx, slog.LevelDebug):
		return C.REDKEEP_LOG_DEBUG
	case logger.Enabled(ctx, slog.LevelInfo):
		return C.REDKEEP_LOG_INFO
	case logger.Enabled(ctx, slog.LevelWarn):
		return C.REDKEEP_LOG_WARN
	default:
		return C.REDKEEP_LOG_ERROR
	}
}

// registerLogger routes the pool's log records to logger.
func registerLogger(c *poolCore, name string, logger *slog.Logger) {
	logs.Lock()
	defer logs.Unlock()
	if logs.loggers == nil {
		logs.loggers = make(map[*poolCore]registeredLogger)
	}
	logs.loggers[c] = registeredLogger{name: name, logger: logger}
	logs.retune()
}

// unregisterLogger stops routing records to the pool's logger.
func unregisterLogger(c *poolCore) {
	logs.Lock()
	defer logs.Unlock()
	if _, ok := logs.loggers[c]; !ok {
		return
	}
	delete(logs.loggers, c)
	logs.retune()
}

// retune asks the library for the most detailed level any logger wants
// (off when there is none). Called with logs held.
func (l *logRegistry) retune() {
	var want C.uint32_t = C.REDKEEP_LOG_OFF
	for _, r := range l.loggers {
		if lv := cLevel(r.logger); lv > want {
			want = lv
		}
	}
	if want != l.level {
		l.level = want
		C.redkeep_go_set_log(want)
	}
}

// slogLevel maps the library's levels onto slog's (trace is below debug).
func slogLevel(level C.redkeep_log_level) slog.Level {
	switch level {
	case C.REDKEEP_LOG_ERROR:
		return slog.LevelError
	case C.REDKEEP_LOG_WARN:
		return slog.LevelWarn
	case C.REDKEEP_LOG_INFO:
		return slog.LevelInfo
	case C.REDKEEP_LOG_DEBUG:
		return slog.LevelDebug
	default:
		return slog.LevelDebug - 4
	}
}

// deliver sends one record to the loggers it concerns (on the library's
// log thread).
func deliver(rec *C.redkeep_log_record) {
	level := slogLevel(rec.level)
	var pool string
	if rec.pool != nil {
		pool = C.GoString(rec.pool)
	}
	logs.Lock()
	targets := make([]*slog.Logger, 0, len(logs.loggers))
	for _, r := range logs.loggers {
		if pool == "" || r.name == pool {
			targets = append(targets, r.logger)
		}
	}
	logs.Unlock()
	if len(targets) == 0 {
		return
	}
	attrs := make([]slog.Attr, 0, 4+int(rec.field_count))
	if pool != "" {
		attrs = append(attrs, slog.String("pool", pool))
	}
	attrs = append(attrs, slog.String("target", C.GoString(rec.target)))
	if rec.span != nil {
		attrs = append(attrs, slog.String("span", C.GoString(rec.span)))
	}
	n := int(rec.field_count)
	if n > 0 {
		names := unsafe.Slice(rec.field_names, n)
		values := unsafe.Slice(rec.field_values, n)
		for i := 0; i < n; i++ {
			attrs = append(attrs, slog.String(C.GoString(names[i]), C.GoString(values[i])))
		}
	}
	msg := C.GoString(rec.message)
	for _, logger := range targets {
		logger.LogAttrs(context.Background(), level, msg, attrs...)
	}
}
