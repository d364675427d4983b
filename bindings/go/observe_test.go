package redkeep

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingHandler is a slog.Handler that keeps every record.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

// find returns the first record with msg whose "pool" attribute is pool.
func (h *recordingHandler) find(msg, pool string) (slog.Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if r.Message != msg {
			continue
		}
		match := false
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "pool" && a.Value.String() == pool {
				match = true
			}
			return true
		})
		if match {
			return r, true
		}
	}
	return slog.Record{}, false
}

func waitRecord(t *testing.T, h *recordingHandler, msg, pool string, within time.Duration) slog.Record {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if r, ok := h.find(msg, pool); ok {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no slog record %q for pool %s within %v", msg, pool, within)
	return slog.Record{}
}

func getHealth(t *testing.T, h http.Handler) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("health body is not JSON: %v: %s", err, rec.Body.String())
	}
	return rec.Code, body
}

func TestLoggerHealthHandlerAndMetricsFollowAnOutage(t *testing.T) {
	r := startRedis(t)
	logs := &recordingHandler{}
	ctx := context.Background()
	p, err := Open(ctx, Options{
		Addr:                r.Addr(),
		Password:            "",
		HealthCheckInterval: 100 * time.Millisecond,
		MinRetryBackoff:     20 * time.Millisecond,
		MaxRetryBackoff:     200 * time.Millisecond,
		Logger:              slog.New(logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	name := p.Name()
	if !strings.Contains(name, r.Addr()) {
		t.Fatalf("Name() = %q, want the address %s in it", name, r.Addr())
	}
	for i := 0; i < 20; i++ {
		if _, err := p.Do(ctx, "SET", "obs:k", i); err != nil {
			t.Fatal(err)
		}
	}
	code, body := getHealth(t, p.HealthHandler())
	if code != http.StatusOK || body["state"] != "up" {
		t.Fatalf("health while up: %d %v", code, body)
	}
	text := p.MetricsText()
	if !strings.Contains(text, "# TYPE db_client_connection_count gauge") ||
		!strings.Contains(text, `redkeep_health_state{pool="`+name+`",state="up"} 1`) {
		t.Fatalf("metrics text lacks the core's series:\n%s", text)
	}
	mrec := httptest.NewRecorder()
	p.MetricsHandler().ServeHTTP(mrec, httptest.NewRequest("GET", "/metrics", nil))
	if mrec.Code != 200 || !strings.HasPrefix(mrec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics handler: %d %q", mrec.Code, mrec.Header().Get("Content-Type"))
	}

	r.Kill()
	down := waitRecord(t, logs, "redis is down", name, 5*time.Second)
	if down.Level != slog.LevelWarn {
		t.Fatalf("down is a warning, got %v", down.Level)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body = getHealth(t, p.HealthHandler())
		if code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health stayed %d %v after the kill", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if body["state"] != "down" && body["state"] != "degraded" {
		t.Fatalf("state after kill: %v", body)
	}
	if _, err := p.Do(ctx, "GET", "obs:k"); err == nil {
		t.Fatal("a call while down should fail fast")
	}
	if !strings.Contains(p.MetricsText(), `redkeep_fast_fails_total{pool="`+name+`"}`) {
		t.Fatal("no fast fail counter")
	}

	r.Restart()
	up := waitRecord(t, logs, "redis is up", name, 10*time.Second)
	if up.Level != slog.LevelInfo {
		t.Fatalf("up is info, got %v", up.Level)
	}
	code, _ = getHealth(t, p.HealthHandler())
	if code != http.StatusOK {
		t.Fatalf("health after recovery: %d", code)
	}
	if strings.Contains(p.MetricsText(), `redkeep_reconnects_total{pool="`+name+`"} 0`+"\n") {
		t.Fatal("reconnects did not move")
	}
}
