package redkeep

import (
	"context"
	"testing"
	"time"
)

// One Sentinel group for this file (1 replica, 2 sentinels).
func TestPoolOnSentinel(t *testing.T) {
	d, err := StartSentinel(1, 2, "")
	if err != nil {
		t.Fatalf("StartSentinel: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	p, err := Open(ctx, Options{MasterName: d.MasterName(), SentinelAddrs: d.Addrs()})
	if err != nil {
		t.Fatalf("Open(MasterName %q, SentinelAddrs %v): %v", d.MasterName(), d.Addrs(), err)
	}
	t.Cleanup(func() { _ = p.Close() })
	setGetMany(ctx, t, p, "sentinel")
	if role, err := p.Do(ctx, "ROLE"); err != nil || role.([]any)[0] != "master" {
		t.Fatalf("ROLE through the pool = %v, %v; want the master", role, err)
	}
	if h := waitUp(t, p); h.Nodes != nil {
		t.Errorf("Health.Nodes = %+v; want nil for a Sentinel pool", h.Nodes)
	}

	// The URL form reaches the same master.
	u, err := Open(ctx, Options{URL: d.URL()})
	if err != nil {
		t.Fatalf("Open(URL %s): %v", d.URL(), err)
	}
	defer u.Close()
	if got, err := u.Get(ctx, "sentinel:key:7").Result(); err != nil || got != "7" {
		t.Fatalf("GET via URL = %q, %v", got, err)
	}
}
