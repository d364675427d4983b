// Package redkeeptest gives tests a throwaway Redis.
//
//	func TestSomething(t *testing.T) {
//		srv := redkeeptest.Server(t)  // a new redis-server on a free port
//		pool := redkeeptest.Pool(t, srv)
//		...
//	}
//
// The server is started by redkeep.EnsureServer on port 0, stopped by
// t.Cleanup, and — because it is spawned through redkeep — killed by the
// kernel even if the test binary is killed (Linux), so no redis-server is
// left behind.
package redkeeptest

import (
	"context"
	"testing"
	"time"

	redkeep "github.com/redkeep/redkeep/bindings/go"
)

// Server starts a new redis-server on a free loopback port and registers
// its shutdown with t.Cleanup. Options may override the defaults (Addr is
// forced to 127.0.0.1:0 unless set). It fails the test if the server does
// not come up within 10 s.
func Server(t testing.TB, opts ...redkeep.ServerOptions) *redkeep.Server {
	t.Helper()
	var opt redkeep.ServerOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	if opt.Addr == "" && !opt.UnixSocket {
		opt.Addr = "127.0.0.1:0"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := redkeep.EnsureServer(ctx, opt)
	if err != nil {
		t.Fatalf("redkeeptest: cannot start redis-server: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("redkeeptest: stopping redis-server: %v", err)
		}
	})
	return srv
}

// ServerTLS is Server with ServerOptions.TLS: a TLS-only redis-server on a
// free loopback port with a throwaway CA (srv.CACertFile(), removed with
// it); its URL is rediss://. Pool(t, srv) trusts that CA.
func ServerTLS(t testing.TB, opts ...redkeep.ServerOptions) *redkeep.Server {
	t.Helper()
	var opt redkeep.ServerOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	opt.TLS = true
	return Server(t, opt)
}

// Pool opens a pool on srv and registers its Close with t.Cleanup. For a
// TLS server (ServerTLS) it trusts the server's CA.
func Pool(t testing.TB, srv *redkeep.Server) *redkeep.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opt := redkeep.Options{URL: srv.URL()}
	if ca := srv.CACertFile(); ca != "" {
		opt.TLS = &redkeep.TLSOptions{CAFile: ca}
	}
	pool, err := redkeep.Open(ctx, opt)
	if err != nil {
		t.Fatalf("redkeeptest: cannot open a pool on %s: %v", srv.RedactedURL(), err)
	}
	t.Cleanup(func() { _ = pool.Close() })
	return pool
}

// Cluster starts a throwaway Redis Cluster of 3 masters with 1 replica
// each (or masters and replicasPerMaster, when given) and registers its
// Close with t.Cleanup. It returns once the cluster is ready; URLs() are
// the nodes' redis:// URLs, Addrs() the same as host:port. It fails the
// test if the cluster cannot start.
func Cluster(t testing.TB, mastersAndReplicas ...int) *redkeep.Deployment {
	t.Helper()
	masters, replicas := 3, 1
	if len(mastersAndReplicas) > 0 {
		masters = mastersAndReplicas[0]
	}
	if len(mastersAndReplicas) > 1 {
		replicas = mastersAndReplicas[1]
	}
	d, err := redkeep.StartCluster(masters, replicas, "")
	if err != nil {
		t.Fatalf("redkeeptest: cannot start a cluster: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// Sentinel starts a throwaway Sentinel group — a master with 2 replicas
// and 3 sentinels (or replicas and sentinels, when given) — and registers
// its Close with t.Cleanup. It returns once the group is ready; URLs() are
// the sentinels' redis:// URLs, Addrs() the same as host:port,
// MasterName() the master's name and URL() the redis+sentinel:// URL. It
// fails the test if the group cannot start.
func Sentinel(t testing.TB, replicasAndSentinels ...int) *redkeep.Deployment {
	t.Helper()
	replicas, sentinels := 2, 3
	if len(replicasAndSentinels) > 0 {
		replicas = replicasAndSentinels[0]
	}
	if len(replicasAndSentinels) > 1 {
		sentinels = replicasAndSentinels[1]
	}
	d, err := redkeep.StartSentinel(replicas, sentinels, "")
	if err != nil {
		t.Fatalf("redkeeptest: cannot start a sentinel group: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}
