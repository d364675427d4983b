package redkeep

import (
	"context"
	"testing"
	"time"
)

// waitState polls Health until it reports want.
func waitState(t testing.TB, p *Pool, want State, within time.Duration) Health {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		h := p.Health()
		if h.State == want {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("health is %v (%s), want %v after %v", h.State, h.LastError, want, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// next reads the watch channel until a health with state want arrives.
func next(t testing.TB, ch <-chan Health, want State, within time.Duration) Health {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case h, ok := <-ch:
			if !ok {
				t.Fatalf("watch channel closed while waiting for %v", want)
			}
			if h.State == want {
				return h
			}
		case <-timeout:
			t.Fatalf("no %v health within %v", want, within)
		}
	}
}

func TestHealthTransitionsOnKillAndRestart(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := p.HealthChanges(ctx)

	up := next(t, ch, StateUp, 2*time.Second)
	if up.RTT == 0 && up.Generation == 0 && p.Health().RTT == 0 {
		t.Logf("no probe RTT yet: %+v", up)
	}

	r.Kill()
	down := next(t, ch, StateDown, 5*time.Second)
	if down.LastError == "" {
		t.Errorf("a down health should say why: %+v", down)
	}
	if _, err := p.Do(context.Background(), "PING"); err == nil {
		t.Fatal("PING succeeded while the server is dead")
	}

	r.Restart()
	back := next(t, ch, StateUp, 5*time.Second)
	if back.Generation <= up.Generation {
		t.Errorf("generation did not increase across the outage: %d -> %d", up.Generation, back.Generation)
	}
	if err := p.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("PING after recovery: %v", err)
	}
	if s := p.Stats(); s.Reconnects == 0 && s.ConnectFailures == 0 {
		t.Errorf("stats after an outage: %+v", s)
	}
}

func TestHealthChangesEndsWithContextAndClose(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	ch := p.HealthChanges(ctx)
	<-ch // the current health
	cancel()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the watch channel was not closed after cancel")
	}

	ch2 := p.HealthChanges(context.Background())
	<-ch2
	p.Close()
	select {
	case _, ok := <-ch2:
		for ok {
			_, ok = <-ch2
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the watch channel was not closed by Close")
	}
	if _, ok := <-p.HealthChanges(context.Background()); ok {
		t.Fatal("HealthChanges on a closed pool must return a closed channel")
	}
}
