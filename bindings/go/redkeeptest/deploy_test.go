package redkeeptest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	redkeep "github.com/redkeep/redkeep/bindings/go"
	"github.com/redkeep/redkeep/bindings/go/redkeeptest"
)

// do runs one command on the single node at url.
func do(t *testing.T, url string, args ...any) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pool, err := redkeep.Open(ctx, redkeep.Options{URL: url})
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	defer pool.Close()
	v, err := pool.Do(ctx, args...)
	if err != nil {
		t.Fatalf("%v on %s: %v", args, url, err)
	}
	return v
}

func TestClusterIsReady(t *testing.T) {
	t.Parallel()
	c := redkeeptest.Cluster(t)
	if len(c.URLs()) != 6 || c.URL() != c.URLs()[0] || c.MasterName() != "" {
		t.Fatalf("urls %v, url %s, master name %q", c.URLs(), c.URL(), c.MasterName())
	}
	info := fmt.Sprint(do(t, c.URLs()[3], "CLUSTER", "INFO"))
	if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:6") {
		t.Fatalf("CLUSTER INFO: %s", info)
	}
}

func TestSentinelIsReady(t *testing.T) {
	t.Parallel()
	s := redkeeptest.Sentinel(t, 1, 2)
	if len(s.Addrs()) != 2 || s.MasterName() != "mymaster" {
		t.Fatalf("addrs %v, master name %q", s.Addrs(), s.MasterName())
	}
	if want := "redis+sentinel://" + strings.Join(s.Addrs(), ",") + "/mymaster"; s.URL() != want {
		t.Fatalf("URL %s, want %s", s.URL(), want)
	}
	addr := do(t, s.URLs()[1], "SENTINEL", "get-master-addr-by-name", "mymaster")
	parts, ok := addr.([]any)
	if !ok || len(parts) != 2 || fmt.Sprint(parts[0]) != "127.0.0.1" {
		t.Fatalf("get-master-addr-by-name: %#v", addr)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
