package redkeep

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func receiveWithin(t *testing.T, ps *PubSub, what string) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := ps.Receive(ctx)
	if err != nil {
		t.Fatalf("%s: Receive: %v", what, err)
	}
	return v
}

func expectMessage(t *testing.T, ps *PubSub, channel, pattern, payload string) {
	t.Helper()
	v := receiveWithin(t, ps, "message on "+channel)
	m, ok := v.(*Message)
	if !ok || m.Channel != channel || m.Pattern != pattern || m.Payload != payload {
		t.Fatalf("got %#v, want a message %q/%q/%q", v, channel, pattern, payload)
	}
}

func publish(t *testing.T, p *Pool, channel, payload string) int64 {
	t.Helper()
	v, err := p.Do(context.Background(), "PUBLISH", channel, payload)
	if err != nil {
		t.Fatalf("PUBLISH: %v", err)
	}
	return v.(int64)
}

func TestSubscribeSurvivesAServerRestart(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ctx := context.Background()

	ps := p.Subscribe(ctx, "news")
	defer ps.Close()
	if err := ps.PSubscribe(ctx, "alert.*"); err != nil {
		t.Fatal(err)
	}
	if n := publish(t, p, "news", "one"); n != 1 {
		t.Fatalf("PUBLISH reached %d subscribers", n)
	}
	expectMessage(t, ps, "news", "", "one")
	publish(t, p, "alert.fire", "hot")
	expectMessage(t, ps, "alert.fire", "alert.*", "hot")

	r.Kill()
	if d, ok := receiveWithin(t, ps, "disconnect").(*Disconnected); !ok || d.Reason == "" {
		t.Fatalf("want *Disconnected with a reason, got %#v", d)
	}
	// Kept in the set while reconnecting, and said so.
	if err := ps.Subscribe(ctx, "late"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Subscribe while reconnecting: %v, want ErrUnavailable", err)
	}
	r.Restart()
	v := receiveWithin(t, ps, "resubscribe")
	want := &Resubscribed{Channels: []string{"late", "news"}, Patterns: []string{"alert.*"}}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v, want %#v", v, want)
	}
	// Messages flow again, through Channel() too.
	publish(t, p, "late", "two")
	expectMessage(t, ps, "late", "", "two")
	ch := ps.Channel()
	publish(t, p, "alert.flood", "wet")
	select {
	case m := <-ch:
		if m.Channel != "alert.flood" || m.Payload != "wet" {
			t.Fatalf("Channel() gave %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message on Channel()")
	}
	if err := ps.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	if n := publish(t, p, "news", "gone"); n != 0 {
		t.Fatalf("PUBLISH after Unsubscribe() reached %d", n)
	}

	ps.Close()
	select {
	case _, open := <-ch:
		if open {
			t.Fatal("a message after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Channel() not closed by Close")
	}
	if _, err := ps.Receive(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Receive after Close: %v", err)
	}
	ps.Close() // idempotent
}

func TestReceiveMessageHonoursTheContext(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ps := p.Subscribe(context.Background(), "quiet")
	defer ps.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	started := time.Now()
	_, err := ps.ReceiveMessage(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(started) > 2*time.Second {
		t.Fatalf("ReceiveMessage = %v after %v; want a deadline error", err, time.Since(started))
	}
	// A closed pool ends the subscriber.
	p.Close()
	if _, err := ps.Receive(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Receive after the pool's Close: %v", err)
	}
	// Subscribe on a closed pool: the error comes out of the PubSub.
	ps2 := p.Subscribe(context.Background(), "x")
	if _, err := ps2.Receive(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Receive on a PubSub of a closed pool: %v", err)
	}
	ps2.Close()
}
