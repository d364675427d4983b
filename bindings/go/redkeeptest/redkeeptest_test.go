package redkeeptest_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	redkeep "github.com/redkeep/redkeep/bindings/go"
	"github.com/redkeep/redkeep/bindings/go/redkeeptest"
)

var pidAfterCleanup int

func TestServerTLSServesRedissWithItsCA(t *testing.T) {
	srv := redkeeptest.ServerTLS(t)
	if !strings.HasPrefix(srv.URL(), "rediss://") {
		t.Fatalf("URL = %q, want rediss://", srv.RedactedURL())
	}
	if _, err := os.Stat(srv.CACertFile()); err != nil {
		t.Fatalf("CACertFile %q: %v", srv.CACertFile(), err)
	}
	pool := redkeeptest.Pool(t, srv)
	ctx := context.Background()
	if err := pool.Set(ctx, "k", "over tls", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := pool.Get(ctx, "k").Result(); err != nil || v != "over tls" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	// Without the CA the server's certificate is not trusted.
	_, err := redkeep.Open(ctx, redkeep.Options{URL: srv.URL(), DialTimeout: 2 * time.Second})
	if !errors.Is(err, redkeep.ErrConnection) {
		t.Fatalf("without the CA: want ErrConnection, got %v", err)
	}
	if plain := redkeeptest.Server(t); plain.CACertFile() != "" {
		t.Fatalf("a plain server has CACertFile %q", plain.CACertFile())
	}
}

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
