package redkeeptest_test

import (
	"context"
	"os"
	"testing"

	"github.com/redkeep/redkeep/bindings/go/redkeeptest"
)

var pidAfterCleanup int

func TestServerIsUsableAndStoppedByCleanup(t *testing.T) {
	t.Run("inner", func(t *testing.T) {
		srv := redkeeptest.Server(t)
		if !srv.Spawned() || srv.PID() == 0 {
			t.Fatalf("want a spawned server, got spawned=%v pid=%d", srv.Spawned(), srv.PID())
		}
		pool := redkeeptest.Pool(t, srv)
		if err := pool.Set(context.Background(), "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if v, err := pool.Get(context.Background(), "k").Result(); err != nil || v != "v" {
			t.Fatalf("Get = %q, %v", v, err)
		}
		pidAfterCleanup = srv.PID()
	})
	// The subtest's cleanups ran: the server must be gone (Close waits).
	if _, err := os.Stat("/proc/" + itoa(pidAfterCleanup)); err == nil {
		if state := procState(pidAfterCleanup); state != "Z" && state != "" {
			t.Fatalf("redis-server %d still running (state %s) after cleanup", pidAfterCleanup, state)
		}
	}
}
