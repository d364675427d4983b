package redkeep

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testRedis is a redis-server the test starts itself (not through
// redkeep), so it can kill and restart it on the same port.
type testRedis struct {
	t      testing.TB
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
	// tlsPort, when not 0, is a TLS port configured by tlsArgs.
	tlsPort int
	tlsArgs []string
}

func redisBinary() string {
	if b := os.Getenv("REDKEEP_REDIS_SERVER"); b != "" {
		return b
	}
	return "redis-server"
}

// startRedis starts a redis-server on a free port, trying a new port if
// another process takes the picked one first; t.Cleanup kills it.
func startRedis(t testing.TB) *testRedis {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		r := &testRedis{t: t, port: freePort(t)}
		if lastErr = r.start(); lastErr == nil {
			t.Cleanup(r.Kill)
			return r
		}
	}
	t.Fatalf("cannot start redis-server: %v", lastErr)
	return nil
}

// freePort is a TCP port nothing listened on a moment ago (callers retry
// on a collision).
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (r *testRedis) start() error {
	r.cmd = exec.Command(redisBinary(), "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	if r.tlsPort != 0 {
		r.cmd.Args = append(r.cmd.Args, "--tls-port", strconv.Itoa(r.tlsPort))
		r.cmd.Args = append(r.cmd.Args, r.tlsArgs...)
	}
	// Dies with the test process even if it is killed (PR_SET_PDEATHSIG).
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		r.cmd.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server on port %d exited at start", r.port)
		default:
		}
		if pingRaw(r.Addr()) {
			r.exited = exited
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.cmd.Process.Kill()
	<-exited
	return fmt.Errorf("redis-server on port %d did not answer", r.port)
}

func (r *testRedis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// Kill sends SIGKILL and waits until the process is gone. Idempotent.
func (r *testRedis) Kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.exited
	r.cmd = nil
}

// Stop freezes the server with SIGSTOP: connections stay open and nothing
// answers, like a hung peer. Cont resumes it.
func (r *testRedis) Stop() {
	r.t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		r.t.Fatalf("SIGSTOP redis-server: %v", err)
	}
}

// Cont resumes a server frozen by Stop.
func (r *testRedis) Cont() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Signal(syscall.SIGCONT)
	}
}

// Restart starts the server again on the same port.
func (r *testRedis) Restart() {
	r.t.Helper()
	var err error
	for i := 0; i < 20; i++ {
		if err = r.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("cannot restart redis-server on port %d: %v", r.port, err)
}

// pingRaw checks for a PONG without going through redkeep.
func pingRaw(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// openTest opens a pool with fast health checks on addr.
func openTest(t testing.TB, addr string) *Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := Open(ctx, Options{
		Addr:                addr,
		HealthCheckInterval: 50 * time.Millisecond,
		MinRetryBackoff:     20 * time.Millisecond,
		MaxRetryBackoff:     200 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("Open(%s): %v", addr, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// procState is the state letter of /proc/PID/stat ("" if the process is
// gone); "Z" is a zombie (dead, not yet reaped).
func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

func alive(pid int) bool {
	st := procState(pid)
	return st != "" && st != "Z" && st != "X"
}

// waitGone waits until pid is gone or a zombie.
func waitGone(t testing.TB, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive (state %s) after %v", pid, procState(pid), within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
