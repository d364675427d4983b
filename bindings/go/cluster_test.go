package redkeep

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// One cluster for this file (3 masters, no replicas: the smallest that
// spreads slots over several nodes).
func TestPoolOnCluster(t *testing.T) {
	d, err := StartCluster(3, 0, "")
	if err != nil {
		t.Fatalf("StartCluster: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	p, err := Open(ctx, Options{Addrs: d.Addrs()})
	if err != nil {
		t.Fatalf("Open(Addrs %v): %v", d.Addrs(), err)
	}
	t.Cleanup(func() { _ = p.Close() })
	setGetMany(ctx, t, p, "cluster")

	// Each node holds some of the keys: they went through the slot map.
	for i, addr := range d.Addrs() {
		single, err := Open(ctx, Options{Addr: addr})
		if err != nil {
			t.Fatalf("open node %s: %v", addr, err)
		}
		n, err := single.Do(ctx, "DBSIZE")
		_ = single.Close()
		if err != nil || n.(int64) == 0 {
			t.Errorf("node %d (%s) DBSIZE = %v, %v; want some of the 50 keys", i, addr, n, err)
		}
	}
	h := waitUp(t, p)
	primaries := 0
	for _, n := range h.Nodes {
		if n.State != StateUp || n.Addr == "" {
			t.Errorf("node %+v: want up with an address", n)
		}
		if n.Primary {
			primaries++
		}
	}
	if len(h.Nodes) != 3 || primaries != 3 {
		t.Errorf("Health.Nodes = %+v; want the 3 primaries", h.Nodes)
	}
}

// setGetMany writes and reads back 50 keys (spread over many slots).
func setGetMany(ctx context.Context, t *testing.T, p *Pool, prefix string) {
	t.Helper()
	for i := range 50 {
		key := fmt.Sprintf("%s:key:%d", prefix, i)
		if err := p.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
	}
	for i := range 50 {
		key := fmt.Sprintf("%s:key:%d", prefix, i)
		got, err := p.Get(ctx, key).Result()
		if err != nil || got != fmt.Sprint(i) {
			t.Fatalf("GET %s = %q, %v; want %d", key, got, err, i)
		}
	}
}

// waitUp waits (bounded) for the pool's health to be Up.
func waitUp(t *testing.T, p *Pool) Health {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h := p.Health()
		if h.State == StateUp {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("health %v (last error %q), want up", h.State, h.LastError)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
