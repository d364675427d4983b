package redkeep

// The core's rules, seen from Go: which connection a command runs on,
// which commands are refused, and what bounds a call. The Go package keeps
// none of these rules itself; these tests check that they reach it.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// contexts are the two ways a call crosses into the library: a background
// context (no deadline, no cancel handle: the calling-thread path) and a
// context with a deadline (a per-call timeout and a cancel handle).
var contexts = []struct {
	name string
	make func() (context.Context, context.CancelFunc)
}{
	{"background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
	{"deadline", func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 10*time.Second)
	}},
}

func percentile(ds []time.Duration, q float64) time.Duration {
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// A blocking command runs on a connection of its own: while BLPOP waits,
// other callers' commands go on at their usual speed.
func TestBlockingCommandDoesNotHoldUpOtherCallers(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	for _, c := range contexts {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := c.make()
			defer cancel()
			queue := "q:" + c.name
			popped := make(chan error, 1)
			go func() {
				v, err := p.Do(ctx, "BLPOP", queue, 3)
				if err == nil {
					if got, ok := v.([]any); !ok || len(got) != 2 || got[1] != "done" {
						err = fmt.Errorf("BLPOP = %#v", v)
					}
				}
				popped <- err
			}()
			time.Sleep(100 * time.Millisecond) // BLPOP is waiting on the server
			const n = 300
			lat := make([]time.Duration, 0, n)
			for i := 0; i < n; i++ {
				start := time.Now()
				if err := p.Set(ctx, "k:"+c.name, i, 0).Err(); err != nil {
					t.Fatalf("SET %d while BLPOP waits: %v", i, err)
				}
				lat = append(lat, time.Since(start))
			}
			select {
			case err := <-popped:
				t.Fatalf("BLPOP returned before it was served: %v", err)
			default:
			}
			p99 := percentile(lat, 0.99)
			t.Logf("%d SETs while BLPOP waits (%s context): p50 %v, p99 %v, max %v",
				n, c.name, percentile(lat, 0.5), p99, percentile(lat, 1))
			fmt.Printf("blocking-does-not-hold-up (%s): SET p99 = %v\n", c.name, p99)
			if p99 > 50*time.Millisecond {
				t.Fatalf("SET p99 %v while a BLPOP waits; want well under 10ms (bound 50ms)", p99)
			}
			if _, err := p.Do(ctx, "RPUSH", queue, "done"); err != nil {
				t.Fatal(err)
			}
			if err := <-popped; err != nil {
				t.Fatalf("BLPOP: %v", err)
			}
		})
	}
}

// Commands that change the state of the connection they run on are refused
// unsent, on every path; the shared connection stays on the pool's db.
func TestConnectionStateCommandsAreRefused(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	refused := [][]any{
		{"SELECT", 1},
		{"MULTI"},
		{"WATCH", "k"},
		{"SUBSCRIBE", "c"},
		{"CLIENT", "SETNAME", "x"},
	}
	for _, c := range contexts {
		ctx, cancel := c.make()
		for _, cmd := range refused {
			v, err := p.Do(ctx, cmd...)
			if !errors.Is(err, ErrRefused) || v != nil {
				t.Errorf("%v (%s context) = %#v, %v; want ErrRefused", cmd, c.name, v, err)
				continue
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != StatusRefused || e.Message == "" {
				t.Errorf("%v: %#v; want a *Error with StatusRefused and a message", cmd, err)
			}
		}
		cancel()
	}
	t.Logf("SELECT 1: %v", func() error { _, err := p.Do(context.Background(), "SELECT", 1); return err }())

	// 50 callers at once, each refused a SELECT 1 first (the submitted path
	// too), then INCR: every INCR lands in db 0.
	const callers = 50
	var wg sync.WaitGroup
	errs := make(chan error, 2*callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := p.Do(context.Background(), "SELECT", 1); !errors.Is(err, ErrRefused) {
				errs <- fmt.Errorf("concurrent SELECT 1: %v; want ErrRefused", err)
			}
			if _, err := p.Incr(context.Background(), "counter").Result(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, err := p.Do(context.Background(), "GET", "counter"); err != nil || n != "50" {
		t.Fatalf("db 0 counter = %#v, %v; want 50", n, err)
	}
	db1, err := Open(context.Background(), Options{Addr: r.Addr(), DB: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db1.Close()
	if v, err := db1.Do(context.Background(), "GET", "counter"); err != Nil {
		t.Fatalf("db 1 counter = %#v, %v; want no key", v, err)
	}
}

// silentPeer accepts connections and never answers, like a hung server
// whose kernel still completes TCP handshakes.
func silentPeer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// A call with no deadline of its own is still bounded: against a peer that
// never answers, connecting fails after DialTimeout, not later.
func TestSilentPeerFailsWithinDialTimeout(t *testing.T) {
	addr := silentPeer(t)
	const dial = time.Second
	for _, c := range contexts {
		t.Run(c.name, func(t *testing.T) {
			p, err := Open(context.Background(), Options{Addr: addr, Lazy: true, DialTimeout: dial,
				ReadTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ctx, cancel := c.make()
			defer cancel()
			start := time.Now()
			_, err = p.Do(ctx, "GET", "k")
			took := time.Since(start)
			t.Logf("GET against a silent peer (%s context): %v after %v", c.name, err, took)
			fmt.Printf("silent-peer (%s): failed after %v (DialTimeout %v)\n", c.name, took, dial)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("err = %v; want ErrTimeout (connect)", err)
			}
			if took < 900*time.Millisecond || took > 1500*time.Millisecond {
				t.Fatalf("failed after %v; want DialTimeout %v (within [0.9s, 1.5s])", took, dial)
			}
		})
	}
}

// Close ends a call in flight at once, on both paths, even when the server
// will never answer it.
func TestCloseEndsACallInFlightAgainstAStoppedServer(t *testing.T) {
	r := startRedis(t)
	for _, c := range contexts {
		t.Run(c.name, func(t *testing.T) {
			r.Cont()
			p, err := Open(context.Background(), Options{Addr: r.Addr(), ReadTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if err := p.Ping(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			r.Stop()
			defer r.Cont()
			ctx, cancel := c.make()
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := p.Do(ctx, "GET", "k")
				done <- err
			}()
			time.Sleep(200 * time.Millisecond) // the GET is waiting for its reply
			start := time.Now()
			p.Close()
			var err2 error
			select {
			case err2 = <-done:
			case <-time.After(6 * time.Second):
				t.Fatal("the call in flight never ended")
			}
			took := time.Since(start)
			t.Logf("Close -> GET in flight ended (%s context) after %v: %v", c.name, took, err2)
			fmt.Printf("close-ends-call-in-flight (%s): %v\n", c.name, took)
			if !errors.Is(err2, ErrClosed) {
				t.Errorf("the call in flight got %v; want ErrClosed", err2)
			}
			if took > 500*time.Millisecond {
				t.Errorf("Close ended the call in flight after %v; want ~100ms (bound 500ms)", took)
			}
			if h := p.Health(); h.State != StateClosed {
				t.Errorf("Health after Close = %v; want %v", h.State, StateClosed)
			}
		})
	}
}

// Messages name settings as this package's fields.
func TestMessagesNameGoFields(t *testing.T) {
	_, err := EnsureServer(context.Background(), ServerOptions{Addr: "127.0.0.1:0",
		Binary: "/nonexistent/redis-server"})
	if !errors.Is(err, ErrSpawn) {
		t.Fatalf("missing binary: %v; want ErrSpawn", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "ServerOptions.Binary") || strings.Contains(msg, "ServerConfig::binary") ||
		strings.Contains(msg, "redkeep_server_options") {
		t.Fatalf("missing binary: %q; want the setting named ServerOptions.Binary", msg)
	}
}

// Open's context ends its wait for a connection: the deadline is not
// turned into a shorter DialTimeout for the pool's life.
func TestOpenHonoursItsContext(t *testing.T) {
	addr := silentPeer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	p, err := Open(ctx, Options{Addr: addr, DialTimeout: 5 * time.Second})
	took := time.Since(start)
	if err == nil {
		p.Close()
		t.Fatal("Open succeeded against a silent peer")
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Open past its context's deadline: %v; want ErrTimeout and DeadlineExceeded", err)
	}
	if took > 600*time.Millisecond {
		t.Fatalf("Open returned %v after its 200ms deadline", took)
	}

	cctx, ccancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, ccancel)
	start = time.Now()
	if _, err := Open(cctx, Options{Addr: addr, DialTimeout: 5 * time.Second}); err != context.Canceled {
		t.Fatalf("cancelled Open: %v; want context.Canceled", err)
	}
	if took := time.Since(start); took > 600*time.Millisecond {
		t.Fatalf("cancelled Open returned after %v", took)
	}
}

// A PoolSize the C ABI cannot carry is refused, not truncated (1<<32+5
// would otherwise become a pool of 5).
func TestAPoolSizeBeyondTheCABIIsRefusedNotTruncated(t *testing.T) {
	big := 1<<32 + 5
	_, err := Open(context.Background(), Options{Addr: "127.0.0.1:1", PoolSize: big, Lazy: true})
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "Options.PoolSize") {
		t.Fatalf("got %v, want ErrInvalidArgument naming Options.PoolSize", err)
	}
}
