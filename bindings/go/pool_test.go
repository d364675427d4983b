package redkeep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDoSetGetRoundTrip(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ctx := context.Background()

	if v, err := p.Do(ctx, "SET", "k", "v"); err != nil || v != "OK" {
		t.Fatalf(`Do(SET) = %#v, %v; want "OK"`, v, err)
	}
	if v, err := p.Do(ctx, "GET", "k"); err != nil || v != "v" {
		t.Fatalf(`Do(GET) = %#v, %v; want "v"`, v, err)
	}
	// Binary-safe values and typed helpers.
	bin := []byte{'a', 0, 0xff, '\r', '\n'}
	if err := p.Set(ctx, "bin", bin, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if b, err := p.GetBytes(ctx, "bin"); err != nil || !bytes.Equal(b, bin) {
		t.Fatalf("GetBytes = %q, %v", b, err)
	}
	if ttl, err := p.Do(ctx, "TTL", "bin"); err != nil || ttl.(int64) <= 0 {
		t.Fatalf("TTL = %v, %v", ttl, err)
	}
	// Numbers as arguments, integers as replies.
	if _, err := p.Do(ctx, "SET", "n", 40); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Incr(ctx, "n").Result(); err != nil || n != 41 {
		t.Fatalf("Incr = %d, %v", n, err)
	}
	if v, err := p.Do(ctx, "INCRBYFLOAT", "f", 1.5); err != nil || v != "1.5" {
		t.Fatalf("INCRBYFLOAT = %#v, %v", v, err)
	}
	// Arrays, with a nil inside.
	if _, err := p.Do(ctx, "RPUSH", "list", "x", uint8(2), true); err != nil {
		t.Fatal(err)
	}
	v, err := p.Do(ctx, "LRANGE", "list", 0, -1)
	want := []any{"x", "2", "1"}
	got, ok := v.([]any)
	if err != nil || !ok || len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("LRANGE = %#v, %v; want %#v", v, err, want)
	}
	v, err = p.Do(ctx, "MGET", "k", "missing")
	if got, ok := v.([]any); err != nil || !ok || got[0] != "v" || got[1] != nil {
		t.Fatalf("MGET = %#v, %v", v, err)
	}
	if n, err := p.Del(ctx, "k", "n", "missing").Result(); err != nil || n != 2 {
		t.Fatalf("Del = %d, %v", n, err)
	}
	if err := p.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestNilReply(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ctx := context.Background()
	v, err := p.Do(ctx, "GET", "missing")
	if v != nil || err != Nil || !errors.Is(err, Nil) {
		t.Fatalf("Do(GET missing) = %#v, %v; want nil, Nil", v, err)
	}
	if s, err := p.Get(ctx, "missing").Result(); s != "" || !errors.Is(err, Nil) {
		t.Fatalf("Get(missing) = %q, %v", s, err)
	}
}

func TestServerErrorReply(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ctx := context.Background()
	p.Do(ctx, "RPUSH", "list", "x")
	_, err := p.Do(ctx, "INCR", "list")
	var se *ServerError
	if !errors.As(err, &se) || se.Prefix() != "WRONGTYPE" {
		t.Fatalf("INCR on a list: %#v (%v); want a WRONGTYPE *ServerError", err, err)
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrConnection) {
		t.Fatalf("an error reply is not a connection failure: %v", err)
	}
	if _, err := p.Do(ctx, "NOSUCHCOMMAND"); !errors.As(err, &se) || se.Prefix() != "ERR" {
		t.Fatalf("unknown command: %v", err)
	}
	if err := p.Ping(ctx).Err(); err != nil {
		t.Fatalf("the pool must stay usable after error replies: %v", err)
	}
}

func TestInvalidArguments(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ctx := context.Background()
	if _, err := p.Do(ctx); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Do() = %v; want ErrInvalidArgument", err)
	}
	if _, err := p.Do(ctx, "SET", "k", struct{}{}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("struct argument = %v; want ErrInvalidArgument", err)
	}
	if _, err := Open(ctx, Options{Addr: "no-port"}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad Addr = %v; want ErrInvalidArgument", err)
	}
	if _, err := Open(ctx, Options{URL: "http://localhost"}); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad URL = %v; want ErrConfig", err)
	}
}

func TestErrClosedAndIdempotentClose(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Do(context.Background(), "PING"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after Close = %v; want ErrClosed", err)
	}
	if h := p.Health(); h.State != StateClosed {
		t.Fatalf("Health after Close = %v; want %v", h.State, StateClosed)
	}
}

func TestCloseWakesCallsInFlight(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	done := make(chan error, 1)
	go func() {
		_, err := p.Do(context.Background(), "BLPOP", "nothing", 1.5)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	p.Close()
	err := <-done
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("Close waited %v for a call in flight", took)
	}
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("the call in flight got %v; want ErrClosed", err)
	}
}

func TestErrTimeoutFromContextDeadline(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Do(ctx, "BLPOP", "empty", 1)
	took := time.Since(start)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want ErrTimeout and context.DeadlineExceeded", err)
	}
	var e *Error
	if !errors.As(err, &e) || !e.Timeout() {
		t.Fatalf("err = %#v; want a *Error with Timeout()", err)
	}
	if took > 600*time.Millisecond {
		t.Fatalf("the deadline was not honoured: returned after %v", took)
	}
	// An expired context fails before calling Redis.
	if _, err := p.Do(ctx, "PING"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired ctx = %v", err)
	}
}

func TestErrTimeoutFromReadTimeout(t *testing.T) {
	r := startRedis(t)
	ctx := context.Background()
	p, err := Open(ctx, Options{Addr: r.Addr(), ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	defer r.Cont()
	start := time.Now()
	_, err = p.Do(ctx, "GET", "k")
	took := time.Since(start)
	if !errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want ErrTimeout (not from a context)", err)
	}
	if took > 600*time.Millisecond {
		t.Fatalf("ReadTimeout 100ms: returned after %v", took)
	}
}

// A blocking command waits on the server for its own time: ReadTimeout
// comes on top of it, so a short ReadTimeout does not cut BLPOP short.
func TestBlockingCommandWaitsItsOwnTimePlusReadTimeout(t *testing.T) {
	r := startRedis(t)
	ctx := context.Background()
	p, err := Open(ctx, Options{Addr: r.Addr(), ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	start := time.Now()
	v, err := p.Do(ctx, "BLPOP", "empty", 0.5)
	if took := time.Since(start); err != Nil || took < 450*time.Millisecond {
		t.Fatalf("BLPOP 0.5 with ReadTimeout 100ms = %#v, %v after %v; want Nil after 0.5s", v, err, took)
	}
}

func TestContextCancellationReachesTheCall(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := p.Do(ctx, "BLPOP", "empty", 2)
	took := time.Since(start)
	if err != context.Canceled {
		t.Fatalf("err = %v; want context.Canceled", err)
	}
	if took > 600*time.Millisecond {
		t.Fatalf("cancellation was not honoured: returned after %v", took)
	}
}

func TestErrUnavailableWhileDown(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	r.Kill()
	waitState(t, p, StateDown, 5*time.Second)
	start := time.Now()
	_, err := p.Do(context.Background(), "GET", "k")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v; want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Fatalf("a down pool must fail fast; took %v", took)
	}
	if s := p.Stats(); s.FastFails == 0 {
		t.Fatalf("stats: %+v; want fast fails", s)
	}
}

func TestOpenFailsWhenNothingListens(t *testing.T) {
	r := startRedis(t)
	addr := r.Addr()
	r.Kill()
	start := time.Now()
	_, err := Open(context.Background(), Options{Addr: addr, DialTimeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatal("Open succeeded with nothing listening")
	}
	if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrConnection) && !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Open took %v", took)
	}
}

func TestStats(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	for i := 0; i < 10; i++ {
		p.Ping(context.Background()).Err()
	}
	time.Sleep(120 * time.Millisecond)
	s := p.Stats()
	if s.Connects == 0 || s.Probes == 0 {
		t.Fatalf("stats %+v: want connects and probes", s)
	}
}

func TestStatsCountCallingThreadConnections(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	if _, err := p.Do(context.Background(), "PING"); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	if s.ThreadOpen < 1 || s.ThreadIdle > s.ThreadOpen {
		t.Fatalf("stats %+v: want a calling-thread connection after Do with a background context", s)
	}
}

func TestSpawnIfAbsent(t *testing.T) {
	r := startRedis(t)
	addr := r.Addr()
	r.Kill() // a free port we know
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := Open(ctx, Options{Addr: addr, DB: 2, SpawnIfAbsent: true})
	if err != nil {
		t.Fatalf("Open with SpawnIfAbsent: %v", err)
	}
	defer p.Close()
	if err := p.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if !pingRaw(addr) {
		t.Fatal("no server at the address")
	}
	info, err := doString(p, "CLIENT", "INFO")
	if err != nil || !strings.Contains(info, " db=2 ") {
		t.Fatalf("CLIENT INFO = %q, %v; want the Options.DB kept (db=2)", info, err)
	}
	pid := serverPID(t, p)
	p.Close()
	waitGone(t, pid, 2*time.Second)
	if pingRaw(addr) {
		t.Fatal("the spawned server must stop with the pool")
	}
}

// doString runs a command whose reply is a string.
func doString(p *Pool, args ...any) (string, error) {
	v, err := p.Do(context.Background(), args...)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%v: reply %#v is not a string", args[0], v)
	}
	return s, nil
}

// serverPID is the process id the server reports in INFO server.
func serverPID(t *testing.T, p *Pool) int {
	t.Helper()
	info, err := doString(p, "INFO", "server")
	if err != nil {
		t.Fatalf("INFO server: %v", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			if pid, err := strconv.Atoi(v); err == nil && pid > 0 {
				return pid
			}
		}
	}
	t.Fatalf("no process_id in INFO server: %q", info)
	return 0
}

func TestVersion(t *testing.T) {
	if Version() == "" {
		t.Fatal("empty version")
	}
}

// Many goroutines at once: every call gets its own reply (no lost
// wake-ups between the library's completion queue and the dispatcher).
func TestManyGoroutinesGetTheirOwnReplies(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const goroutines, calls = 50, 400
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		go func(g int) {
			key := "g" + strconv.Itoa(g)
			for i := 0; i < calls; i++ {
				n, err := p.Incr(ctx, key).Result()
				if err != nil {
					errs <- err
					return
				}
				if n != int64(i+1) {
					errs <- fmt.Errorf("%s: INCR = %d, want %d", key, n, i+1)
					return
				}
			}
			errs <- nil
		}(g)
	}
	for g := 0; g < goroutines; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// With another call in flight, a call is submitted asynchronously; its
// context's cancellation and deadline must reach it just the same.
func TestCancellationAndDeadlineOfSubmittedCalls(t *testing.T) {
	r := startRedis(t)
	ctx := context.Background()
	p, err := Open(ctx, Options{Addr: r.Addr(), ReadTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// The server is frozen and a GET is in flight, so the calls below are
	// submitted and nothing answers them: only cancellation or the
	// deadline can end them early.
	r.Stop()
	defer r.Cont()
	busy := make(chan error, 1)
	go func() {
		_, err := p.Do(context.Background(), "GET", "k")
		busy <- err
	}()
	time.Sleep(50 * time.Millisecond)

	cctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if _, err := p.Do(cctx, "GET", "k"); err != context.Canceled {
		t.Fatalf("cancelled submitted call: %v", err)
	}
	if took := time.Since(start); took > 700*time.Millisecond {
		t.Fatalf("cancellation took %v", took)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer dcancel()
	start = time.Now()
	_, err = p.Do(dctx, "GET", "k")
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("submitted call past its deadline: %v", err)
	}
	if took := time.Since(start); took > 700*time.Millisecond {
		t.Fatalf("deadline took %v", took)
	}
	r.Cont()
	if err := <-busy; err != Nil && !errors.Is(err, ErrTimeout) {
		t.Fatalf("the GET in flight: %v", err)
	}
}
