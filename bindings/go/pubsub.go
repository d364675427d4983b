package redkeep

/*
#include <stdlib.h>
#include "redkeep.h"
*/
import "C"

import (
	"context"
	"runtime"
	"sync"
	"unsafe"
)

// Message is a message received on a subscribed channel (go-redis's
// redis.Message).
type Message struct {
	// Channel is the channel it was published on.
	Channel string
	// Pattern is the pattern it matched, for a PSubscribe ("" otherwise).
	Pattern string
	// Payload is what was published.
	Payload string
}

func (m *Message) String() string {
	if m.Pattern != "" {
		return "Message<" + m.Pattern + ": " + m.Channel + ": " + m.Payload + ">"
	}
	return "Message<" + m.Channel + ": " + m.Payload + ">"
}

// Disconnected is returned by [PubSub.Receive] when the subscriber lost its
// connection (the server went away, or the pool went down). Messages
// published until the next [Resubscribed] are not received.
type Disconnected struct {
	// Reason says why, in one line (never a password).
	Reason string
}

// Resubscribed is returned by [PubSub.Receive] when the subscriber is
// connected again and subscribed to every channel and pattern it had.
type Resubscribed struct {
	// Channels and Patterns are those subscribed again.
	Channels, Patterns []string
}

// PubSub is a subscriber on a dedicated connection, go-redis style, that
// re-subscribes by itself after an outage: when its connection is lost it
// waits until the pool is up again (the health watch), reconnects on the
// pool's backoff schedule and subscribes every channel and pattern again.
// [PubSub.Receive] reports both steps ([*Disconnected], [*Resubscribed]);
// [PubSub.ReceiveMessage] and [PubSub.Channel] skip them and deliver
// messages only. The rules live in the Rust core (its Subscriber).
//
// A PubSub is safe for concurrent use, but messages go to one reader: use
// either Channel or Receive/ReceiveMessage. Close it when done.
type PubSub struct {
	pool *Pool
	// mu is held shared by every C call and exclusively by Close while it
	// frees the handle.
	mu  sync.RWMutex
	ptr *C.redkeep_subscriber
	// opened is set once, before the PubSub is returned.
	opened bool
	// err is a failure of Pool.Subscribe, returned by the first Receive
	// (and by every call when the subscriber could not be opened).
	errMu   sync.Mutex
	err     error
	once    sync.Once
	chOnce  sync.Once
	ch      chan *Message
	closing chan struct{}
}

// Subscribe opens a subscriber and subscribes it to channels (none: an
// empty set, add to it with [PubSub.Subscribe]). As in go-redis, a failure
// is not returned here: Receive, ReceiveMessage and the PubSub's methods
// return it (Channel is then closed).
func (p *Pool) Subscribe(ctx context.Context, channels ...string) *PubSub {
	ps := p.openPubSub(ctx)
	if ps.err == nil && len(channels) > 0 {
		ps.err = ps.Subscribe(ctx, channels...)
	}
	return ps
}

// PSubscribe is [Pool.Subscribe] for glob-style patterns ("news.*").
func (p *Pool) PSubscribe(ctx context.Context, patterns ...string) *PubSub {
	ps := p.openPubSub(ctx)
	if ps.err == nil && len(patterns) > 0 {
		ps.err = ps.PSubscribe(ctx, patterns...)
	}
	return ps
}

func (p *Pool) openPubSub(ctx context.Context) *PubSub {
	ps := &PubSub{pool: p, closing: make(chan struct{})}
	cl, err := begin(ctx)
	if err != nil {
		ps.err = err
		return ps
	}
	c := p.c
	c.mu.RLock()
	if c.ptr == nil {
		c.mu.RUnlock()
		ps.err = cl.end(ctx, &Error{Status: StatusClosed, Message: "the pool is closed"})
		return ps
	}
	var cerr *C.redkeep_error
	status := C.redkeep_subscriber_open(c.ptr, cl.cancel, &ps.ptr, &cerr)
	c.mu.RUnlock()
	runtime.KeepAlive(p)
	ps.err = cl.end(ctx, takeError(status, cerr))
	ps.opened = ps.err == nil
	return ps
}

// failure is the error every call returns when the subscriber could not
// be opened, or (once) the error of Pool.Subscribe's first subscribe.
func (ps *PubSub) failure(once bool) error {
	ps.errMu.Lock()
	defer ps.errMu.Unlock()
	err := ps.err
	if ps.opened && once {
		ps.err = nil
	}
	if ps.opened && !once {
		return nil
	}
	return err
}

// Subscribe adds channels to the set and subscribes to them, waiting for
// the server's confirmation (at most the pool's ReadTimeout). A channel
// the server refuses leaves the set again. While the subscriber is
// reconnecting it returns an error matching [ErrUnavailable], and the
// channels stay in the set: they are subscribed with the rest.
func (ps *PubSub) Subscribe(ctx context.Context, channels ...string) error {
	return ps.change(ctx, 0, channels)
}

// Unsubscribe removes channels from the set (none: all of them).
func (ps *PubSub) Unsubscribe(ctx context.Context, channels ...string) error {
	return ps.change(ctx, 1, channels)
}

// PSubscribe adds patterns to the set and subscribes to them.
func (ps *PubSub) PSubscribe(ctx context.Context, patterns ...string) error {
	return ps.change(ctx, 2, patterns)
}

// PUnsubscribe removes patterns from the set (none: all of them).
func (ps *PubSub) PUnsubscribe(ctx context.Context, patterns ...string) error {
	return ps.change(ctx, 3, patterns)
}

func (ps *PubSub) change(ctx context.Context, op int, names []string) error {
	if err := ps.failure(false); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// One C buffer for the names; the Go slices hold only C pointers.
	total := 0
	for _, n := range names {
		total += len(n)
	}
	buf := (*C.uint8_t)(C.malloc(C.size_t(total + 1)))
	defer C.free(unsafe.Pointer(buf))
	ptrs := make([]*C.uint8_t, len(names)+1)
	lens := make([]C.size_t, len(names)+1)
	at := 0
	for i, n := range names {
		p := (*C.uint8_t)(unsafe.Add(unsafe.Pointer(buf), at))
		copy(unsafe.Slice((*byte)(unsafe.Pointer(p)), len(n)), n)
		ptrs[i], lens[i] = p, C.size_t(len(n))
		at += len(n)
	}
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	if ps.ptr == nil {
		return &Error{Status: StatusClosed, Message: "the subscriber is closed"}
	}
	var cerr *C.redkeep_error
	var status C.redkeep_status
	count := C.size_t(len(names))
	switch op {
	case 0:
		status = C.redkeep_subscriber_subscribe(ps.ptr, &ptrs[0], &lens[0], count, &cerr)
	case 1:
		status = C.redkeep_subscriber_unsubscribe(ps.ptr, &ptrs[0], &lens[0], count, &cerr)
	case 2:
		status = C.redkeep_subscriber_psubscribe(ps.ptr, &ptrs[0], &lens[0], count, &cerr)
	default:
		status = C.redkeep_subscriber_punsubscribe(ps.ptr, &ptrs[0], &lens[0], count, &cerr)
	}
	return takeError(status, cerr)
}

// Receive waits for the next message or connection event: a [*Message], a
// [*Disconnected] or a [*Resubscribed]. The context's deadline and
// cancellation end the wait (nothing is lost: call again). After Close, or
// once the pool is closed, it returns an error matching [ErrClosed].
func (ps *PubSub) Receive(ctx context.Context) (any, error) {
	if err := ps.failure(true); err != nil {
		return nil, err
	}
	cl, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	ps.mu.RLock()
	if ps.ptr == nil {
		ps.mu.RUnlock()
		return nil, cl.end(ctx, &Error{Status: StatusClosed, Message: "the subscriber is closed"})
	}
	var ev *C.redkeep_subscriber_event
	var cerr *C.redkeep_error
	status := C.redkeep_subscriber_next(ps.ptr, cl.timeoutMs, cl.cancel, &ev, &cerr)
	ps.mu.RUnlock()
	if err := cl.end(ctx, takeError(status, cerr)); err != nil {
		return nil, err
	}
	defer C.redkeep_subscriber_event_free(ev)
	return eventFromC(ev), nil
}

func eventBytes(p *C.char, n C.size_t) string {
	if p == nil {
		return ""
	}
	return C.GoStringN(p, C.int(n))
}

func eventFromC(ev *C.redkeep_subscriber_event) any {
	var n C.size_t
	switch C.redkeep_subscriber_event_get_kind(ev) {
	case C.REDKEEP_SUBSCRIBER_MESSAGE:
		m := &Message{}
		m.Channel = eventBytes(C.redkeep_subscriber_event_channel(ev, &n), n)
		m.Pattern = eventBytes(C.redkeep_subscriber_event_pattern(ev, &n), n)
		m.Payload = eventBytes(C.redkeep_subscriber_event_payload(ev, &n), n)
		return m
	case C.REDKEEP_SUBSCRIBER_RESUBSCRIBED:
		names := func(patterns C.bool) []string {
			out := []string{}
			count := C.redkeep_subscriber_event_names_len(ev, patterns)
			for i := C.size_t(0); i < count; i++ {
				out = append(out, eventBytes(C.redkeep_subscriber_event_name(ev, patterns, i, &n), n))
			}
			return out
		}
		return &Resubscribed{Channels: names(false), Patterns: names(true)}
	default:
		return &Disconnected{Reason: eventBytes(C.redkeep_subscriber_event_payload(ev, &n), n)}
	}
}

// ReceiveMessage waits for the next message, skipping connection events
// (use Receive to see them).
func (ps *PubSub) ReceiveMessage(ctx context.Context) (*Message, error) {
	for {
		v, err := ps.Receive(ctx)
		if err != nil {
			return nil, err
		}
		if m, ok := v.(*Message); ok {
			return m, nil
		}
	}
}

// Channel returns a channel of messages (buffered: 100), fed by a goroutine
// until Close or the pool's close, when it is closed. Connection events
// are skipped: use Receive to see them.
func (ps *PubSub) Channel() <-chan *Message {
	ps.chOnce.Do(func() {
		ps.ch = make(chan *Message, 100)
		go func() {
			defer close(ps.ch)
			for {
				m, err := ps.ReceiveMessage(context.Background())
				if err != nil {
					return
				}
				select {
				case ps.ch <- m:
				case <-ps.closing:
					return
				}
			}
		}()
	})
	return ps.ch
}

// Close ends the subscriber: its connection is dropped, a waiting Receive
// returns ErrClosed, Channel is closed. Idempotent; always returns nil.
func (ps *PubSub) Close() error {
	ps.once.Do(func() {
		close(ps.closing)
		ps.mu.RLock()
		if ps.ptr != nil {
			C.redkeep_subscriber_close(ps.ptr)
		}
		ps.mu.RUnlock()
		ps.mu.Lock()
		C.redkeep_subscriber_free(ps.ptr)
		ps.ptr = nil
		ps.mu.Unlock()
	})
	return nil
}

// String describes the subscriber (go-redis's PubSub.String).
func (ps *PubSub) String() string {
	return "PubSub(redkeep)"
}
