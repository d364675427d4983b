package redkeep

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Replies of every size around the per-call buffer (copied into it, or
// read from the library's reply when longer), alone and from concurrent
// goroutines (the submitted path), as strings and as bytes; a result never
// shares memory with a buffer a later call reuses.
func TestRepliesAroundTheCallBuffer(t *testing.T) {
	r := startRedis(t)
	p := openTest(t, r.Addr())
	ctx := context.Background()
	sizes := []int{0, 1, scratchSize - 1, scratchSize, scratchSize + 1, 3 * scratchSize, scratchKeep + 1}
	value := func(n int) string { return strings.Repeat(string(rune('a'+n%26)), n) }
	for _, n := range sizes {
		if _, err := p.Do(ctx, "SET", fmt.Sprint("size:", n), value(n)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(n int) error {
		key := fmt.Sprint("size:", n)
		v, err := p.Do(ctx, "GET", key)
		if err != nil || v != value(n) {
			return fmt.Errorf("Do(GET %s) = %d bytes, %v; want %d bytes", key, len(fmt.Sprint(v)), err, n)
		}
		b, err := p.GetBytes(ctx, key)
		if err != nil || !bytes.Equal(b, []byte(value(n))) || b == nil {
			return fmt.Errorf("GetBytes(%s) = %d bytes, %v; want %d bytes", key, len(b), err, n)
		}
		// The next call reuses the buffer; the results stay as they were.
		if _, err := p.Do(ctx, "GET", "size:1"); err != nil {
			return err
		}
		if v != value(n) || !bytes.Equal(b, []byte(value(n))) {
			return fmt.Errorf("the result of GET %s changed after the next call", key)
		}
		return nil
	}
	for _, n := range sizes {
		if err := check(n); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(sizes))
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				for _, n := range sizes {
					if err := check(n); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// A status, an integer, nil and a tree through the same buffer.
	if v, err := p.Do(ctx, "PING"); err != nil || v != "PONG" {
		t.Fatalf("PING = %#v, %v", v, err)
	}
	if v, err := p.Do(ctx, "STRLEN", "size:1"); err != nil || v != int64(1) {
		t.Fatalf("STRLEN = %#v, %v", v, err)
	}
	if v, err := p.Do(ctx, "GET", "size:missing"); err != Nil || v != nil {
		t.Fatalf("GET missing = %#v, %v", v, err)
	}
	v, err := p.Do(ctx, "MGET", "size:1", "size:missing", "size:0")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%#v", v); got != `[]interface {}{"b", interface {}(nil), ""}` {
		t.Fatalf("MGET = %s", got)
	}
}
