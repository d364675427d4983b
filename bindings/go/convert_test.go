package redkeep

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func TestReplyConvertersOnRealReplies(t *testing.T) {
	p := openTest(t, startRedis(t).Addr())
	ctx := context.Background()
	if n, err := Int64(p.Do(ctx, "INCRBY", "n", 7)); err != nil || n != 7 {
		t.Fatalf("Int64 = %d, %v", n, err)
	}
	if n, err := Int(p.Do(ctx, "GET", "n")); err != nil || n != 7 {
		t.Fatalf("Int(string reply) = %d, %v", n, err)
	}
	if s, err := String(p.Do(ctx, "SET", "s", "v")); err != nil || s != "OK" {
		t.Fatalf("String(status) = %q, %v", s, err)
	}
	if b, err := Bytes(p.Do(ctx, "GET", "s")); err != nil || string(b) != "v" {
		t.Fatalf("Bytes = %q, %v", b, err)
	}
	if f, err := Float64(p.Do(ctx, "INCRBYFLOAT", "f", 2.5)); err != nil || f != 2.5 {
		t.Fatalf("Float64 = %v, %v", f, err)
	}
	if ok, err := Bool(p.Do(ctx, "EXISTS", "s")); err != nil || !ok {
		t.Fatalf("Bool = %v, %v", ok, err)
	}
	p.Do(ctx, "RPUSH", "l", "a", "b")
	if v, err := Strings(p.Do(ctx, "LRANGE", "l", 0, -1)); err != nil || !reflect.DeepEqual(v, []string{"a", "b"}) {
		t.Fatalf("Strings = %v, %v", v, err)
	}
	if v, err := Values(p.Do(ctx, "MGET", "s", "missing")); err != nil || !reflect.DeepEqual(v, []any{"v", nil}) {
		t.Fatalf("Values = %#v, %v", v, err)
	}
	p.Do(ctx, "HSET", "h", "a", "1", "b", "2")
	if m, err := StringMap(p.Do(ctx, "HGETALL", "h")); err != nil || !reflect.DeepEqual(m, map[string]string{"a": "1", "b": "2"}) {
		t.Fatalf("StringMap = %v, %v", m, err)
	}
	// Nil, errors and wrong types.
	if _, err := String(p.Do(ctx, "GET", "missing")); !errors.Is(err, Nil) {
		t.Fatalf("String(nil reply) = %v, want Nil", err)
	}
	if _, err := Int64(p.Do(ctx, "LRANGE", "l", 0, -1)); err == nil {
		t.Fatal("Int64 of an array must fail")
	}
	var se *ServerError
	if _, err := String(p.Do(ctx, "HGET", "s", "f")); !errors.As(err, &se) {
		t.Fatalf("an error reply must pass through: %v", err)
	}
	if _, err := StringMap([]any{"odd"}, nil); err == nil {
		t.Fatal("StringMap of an odd array must fail")
	}
	if m, err := StringMap(map[any]any{"k": "v"}, nil); err != nil || m["k"] != "v" {
		t.Fatalf("StringMap of a RESP3 map = %v, %v", m, err)
	}
}
