package redkeep

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// promSample returns the value of the series `name{pool="pool"<labels>}` in
// Prometheus text, and whether it is there.
func promSample(text, name, pool, labels string) (float64, bool) {
	prefix := name + `{pool="` + pool + `"` + labels + `} `
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

func TestMetricsMoveWithTrafficAndAgreeWithMetricsText(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ctx := context.Background()

	before := p.Metrics()
	if before.Pool != p.Name() || before.Pool == "" {
		t.Fatalf("Pool = %q, want Name() %q", before.Pool, p.Name())
	}
	const n = 50
	for i := 0; i < n; i++ {
		if _, err := p.Do(ctx, "SET", "metrics:k", i); err != nil {
			t.Fatal(err)
		}
	}
	m := p.Metrics()
	// The text right after, with no call in between: the same counts.
	text := p.MetricsText()

	if m.State != StateUp || m.Health.State != StateUp {
		t.Fatalf("state %v / %v, want up", m.State, m.Health.State)
	}
	if m.UseTime.Count < before.UseTime.Count+n {
		t.Fatalf("use_time count %d after %d calls (before: %d)", m.UseTime.Count, n, before.UseTime.Count)
	}
	for name, h := range map[string]Histogram{
		"create_time": m.CreateTime, "wait_time": m.WaitTime, "use_time": m.UseTime, "probe_rtt": m.ProbeRTT,
	} {
		if len(h.Bounds) != 15 || len(h.Counts) != len(h.Bounds)+1 {
			t.Fatalf("%s: %d bounds, %d counts", name, len(h.Bounds), len(h.Counts))
		}
		if h.Bounds[0] != 100*time.Microsecond || h.Bounds[len(h.Bounds)-1] != 10*time.Second {
			t.Fatalf("%s bounds %v", name, h.Bounds)
		}
		for i := 1; i < len(h.Bounds); i++ {
			if h.Bounds[i] <= h.Bounds[i-1] {
				t.Fatalf("%s bounds do not ascend: %v", name, h.Bounds)
			}
		}
		var sum uint64
		for _, c := range h.Counts {
			sum += c
		}
		if sum != h.Count {
			t.Fatalf("%s counts add up to %d, Count is %d", name, sum, h.Count)
		}
	}
	if m.UseTime.Sum <= 0 {
		t.Fatalf("use_time sum %v", m.UseTime.Sum)
	}
	if m.CreateTime.Count < 1 || m.Stats.Connects < 1 {
		t.Fatalf("no connect timed: create_time count %d, connects %d", m.CreateTime.Count, m.Stats.Connects)
	}
	if m.Idle+m.Used < 1 || m.Max < m.Idle+m.Used || m.IdleMin > m.Max {
		t.Fatalf("connection counts: idle %d used %d idle.min %d max %d", m.Idle, m.Used, m.IdleMin, m.Max)
	}
	if m.Timeouts != m.Stats.CheckoutTimeouts || m.Reconnects != m.Stats.Reconnects ||
		m.FastFails != m.Stats.FastFails || m.Evictions != m.Stats.Evicted {
		t.Fatalf("counters disagree with Stats: %+v", m)
	}
	if m.HasServerRestarts || m.ServerRestarts != 0 {
		t.Fatalf("an attached pool reports server restarts: %d", m.ServerRestarts)
	}

	// The same families in the Prometheus text.
	pool := m.Pool
	want := map[string]struct {
		name, labels string
		value        uint64
	}{
		"use_time count": {"db_client_connection_use_time_seconds_count", "", m.UseTime.Count},
		"use_time +Inf":  {"db_client_connection_use_time_seconds_bucket", `,le="+Inf"`, m.UseTime.Count},
		"idle.min":       {"db_client_connection_idle_min", "", m.IdleMin},
		"max":            {"db_client_connection_max", "", m.Max},
		"timeouts":       {"db_client_connection_timeouts_total", "", m.Timeouts},
		"fast fails":     {"redkeep_fast_fails_total", "", m.FastFails},
		"evictions":      {"redkeep_evictions_total", "", m.Evictions},
		"up":             {"redkeep_health_state", `,state="up"`, 1},
	}
	for what, w := range want {
		got, ok := promSample(text, w.name, pool, w.labels)
		if !ok || uint64(got) != w.value {
			t.Fatalf("%s: text has %v (found %v), struct has %d\n%s", what, got, ok, w.value, text)
		}
	}
	// Cumulative use_time buckets, bound by bound.
	var cumulative uint64
	for i, b := range m.UseTime.Bounds {
		cumulative += m.UseTime.Counts[i]
		le := strconv.FormatFloat(b.Seconds(), 'g', -1, 64)
		got, ok := promSample(text, "db_client_connection_use_time_seconds_bucket", pool, `,le="`+le+`"`)
		if !ok || uint64(got) != cumulative {
			t.Fatalf("use_time bucket le=%s: text %v (found %v), struct %d", le, got, ok, cumulative)
		}
	}
	sum, ok := promSample(text, "db_client_connection_use_time_seconds_sum", pool, "")
	if !ok || time.Duration(sum*1e9) < m.UseTime.Sum-time.Microsecond || time.Duration(sum*1e9) > m.UseTime.Sum+time.Microsecond {
		t.Fatalf("use_time sum: text %v s, struct %v", sum, m.UseTime.Sum)
	}

	// More traffic moves the counts again.
	for i := 0; i < n; i++ {
		if _, err := p.Do(ctx, "GET", "metrics:k"); err != nil {
			t.Fatal(err)
		}
	}
	if again := p.Metrics(); again.UseTime.Count < m.UseTime.Count+n || again.Stats.Connects < m.Stats.Connects {
		t.Fatalf("use_time count %d after %d more calls (was %d)", again.UseTime.Count, n, m.UseTime.Count)
	}

	p.Close()
	if got := p.Metrics(); !reflect.DeepEqual(got, Metrics{}) {
		t.Fatalf("Metrics after Close = %+v, want the zero Metrics", got)
	}
}
