package redkeep

// Error messages name settings as this package's fields (Options.PoolSize,
// ServerOptions.Binary), never as the Rust or C fields behind them.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// rustOrCNames are prefixes of the names the core and the C ABI use.
var rustOrCNames = []string{"pool.", "timeouts.", "health.", "backoff.", "redkeep_pool_options", "Config::"}

// A pool setting the core refuses is named as an Options field. The
// settings are checked before anything is dialled, so no server is needed.
func TestMessagesNamePoolOptionsFields(t *testing.T) {
	cases := []struct {
		name string
		opt  Options
		want string
	}{
		{
			"backoff max below min",
			Options{MinRetryBackoff: 500 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond},
			"redkeep: Options.MaxRetryBackoff must be at least Options.MinRetryBackoff",
		},
		{
			// The default MaxRetryBackoff (2s) is below it.
			"min backoff above the default max",
			Options{MinRetryBackoff: 5 * time.Second},
			"redkeep: Options.MaxRetryBackoff must be at least Options.MinRetryBackoff",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opt.Addr = "127.0.0.1:1"
			p, err := Open(context.Background(), c.opt)
			if err == nil {
				p.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Open: %v; want ErrConfig", err)
			}
			msg := err.Error()
			if msg != c.want {
				t.Fatalf("Open: %q; want %q", msg, c.want)
			}
			for _, name := range rustOrCNames {
				if strings.Contains(msg, name) {
					t.Fatalf("Open: %q names %q, not a Go field", msg, name)
				}
			}
		})
	}
}
