package redkeep

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestEnsureServerSpawnedVsAttached(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	spawned, err := EnsureServer(ctx, ServerOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer spawned.Close()
	pid := spawned.PID()
	if !spawned.Spawned() || pid == 0 || !alive(pid) {
		t.Fatalf("want a running spawned server, got spawned=%v pid=%d", spawned.Spawned(), pid)
	}
	if !strings.HasPrefix(spawned.Addr(), "127.0.0.1:") || strings.HasSuffix(spawned.Addr(), ":0") {
		t.Fatalf("Addr = %q", spawned.Addr())
	}
	if spawned.URL() != "redis://"+spawned.Addr() {
		t.Fatalf("URL = %q", spawned.URL())
	}

	attached, err := EnsureServer(ctx, ServerOptions{Addr: spawned.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	if attached.Spawned() || attached.PID() != 0 {
		t.Fatalf("want attached, got spawned=%v pid=%d", attached.Spawned(), attached.PID())
	}
	if err := attached.Close(); err != nil {
		t.Fatal(err)
	}
	if !alive(pid) || !pingRaw(spawned.Addr()) {
		t.Fatal("closing an attached server must leave it running")
	}

	p, err := Open(ctx, Options{URL: spawned.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	p.Close()

	if err := spawned.Close(); err != nil {
		t.Fatal(err)
	}
	if err := spawned.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	waitGone(t, pid, 5*time.Second)
	if spawned.PID() != 0 {
		t.Fatal("PID after Close must be 0")
	}
}

func TestEnsureServerWithPassword(t *testing.T) {
	ctx := context.Background()
	srv, err := EnsureServer(ctx, ServerOptions{Addr: "127.0.0.1:0", Password: "s3cret/:@"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if strings.Contains(srv.RedactedURL(), "s3cret") {
		t.Fatalf("RedactedURL leaks the password: %s", srv.RedactedURL())
	}
	p, err := Open(ctx, Options{Addr: srv.Addr(), Password: "s3cret/:@"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, Options{Addr: srv.Addr(), Password: "badpass123"})
	if err == nil || strings.Contains(err.Error(), "badpass123") {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestEnsureServerRefusesANonRedisListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	_, err = EnsureServer(context.Background(), ServerOptions{Addr: l.Addr().String()})
	if !errors.Is(err, ErrSpawn) {
		t.Fatalf("err = %v; want ErrSpawn", err)
	}
}

func TestEnsureServerErrors(t *testing.T) {
	ctx := context.Background()
	_, err := EnsureServer(ctx, ServerOptions{Addr: "127.0.0.1:0", Binary: "/nonexistent/redis-server"})
	if !errors.Is(err, ErrSpawn) {
		t.Fatalf("missing binary: %v; want ErrSpawn", err)
	}
	_, err = EnsureServer(ctx, ServerOptions{Addr: "8.8.8.8:0"})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("non-loopback host: %v; want ErrConfig", err)
	}
	_, err = EnsureServer(ctx, ServerOptions{Addr: "bad"})
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad addr: %v; want ErrInvalidArgument", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := EnsureServer(cctx, ServerOptions{Addr: "127.0.0.1:0"}); err != context.Canceled {
		t.Fatalf("cancelled ctx: %v", err)
	}
}

// The orphan test: a Go program that spawned a server through redkeep is
// SIGKILLed; its redis-server must die too (PR_SET_PDEATHSIG from the
// library's long-lived spawner thread, not from the cgo caller's thread).
func TestOrphanServerDiesWithItsOwner(t *testing.T) {
	if os.Getenv("REDKEEP_ORPHAN_HELPER") == "1" {
		t.Skip("inside the helper")
	}
	orphanRound(t, "")
}

// The same with ServerOptions.Guard = "watchdog" (the guard of macOS and
// the BSDs): a forked watchdog, not the parent-death signal, kills the
// server. Five owners, five SIGKILLs.
func TestOrphanWatchdogServerDiesWithItsOwner(t *testing.T) {
	if os.Getenv("REDKEEP_ORPHAN_HELPER") == "1" {
		t.Skip("inside the helper")
	}
	for i := 0; i < 5; i++ {
		orphanRound(t, "watchdog")
	}
}

func orphanRound(t *testing.T, guard string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOrphanHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "REDKEEP_ORPHAN_HELPER=1", "REDKEEP_ORPHAN_GUARD="+guard)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	pidc := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "REDIS_PID "); ok {
				pid, _ := strconv.Atoi(rest)
				pidc <- pid
			}
		}
	}()
	var pid int
	select {
	case pid = <-pidc:
	case <-time.After(20 * time.Second):
		t.Fatal("the helper did not report a server pid")
	}
	if pid <= 0 || !alive(pid) {
		t.Fatalf("server pid %d is not running", pid)
	}
	// SIGKILL the owner: no handler, no Close, no deferred cleanup.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitGone(t, pid, 5*time.Second)
}

// TestOrphanHelper is the owner process of TestOrphanServerDiesWithItsOwner
// (it only runs with REDKEEP_ORPHAN_HELPER=1). It spawns the server from a
// goroutine that then exits, to show the server is not tied to the
// calling thread.
func TestOrphanHelper(t *testing.T) {
	if os.Getenv("REDKEEP_ORPHAN_HELPER") != "1" {
		t.Skip("helper process for TestOrphanServerDiesWithItsOwner")
	}
	done := make(chan *Server)
	go func() {
		srv, err := EnsureServer(context.Background(), ServerOptions{
			Addr:  "127.0.0.1:0",
			Guard: os.Getenv("REDKEEP_ORPHAN_GUARD"),
		})
		if err != nil {
			t.Error(err)
			close(done)
			return
		}
		done <- srv
	}()
	srv := <-done
	if srv == nil {
		return
	}
	os.Stdout.WriteString("REDIS_PID " + strconv.Itoa(srv.PID()) + "\n")
	time.Sleep(time.Minute) // killed by the parent test long before
	srv.Close()
}
