package redkeep

/*
#include <string.h>
#include "redkeep.h"

// What one command left for Go: a scalar, a string copied into the
// caller's buffer (reply NULL), or a reply still owned (a tree, or a
// string too long for the buffer, borrowed as str/len).
typedef struct {
    redkeep_reply *reply;
    redkeep_error *err;
    const char *str;
    size_t len;
    int64_t integer;
    double dbl;
    redkeep_reply_kind kind;
} rk_out;

// Reads a reply into *out. A scalar, and a string of at most cap bytes
// (copied to dst), free the reply here, so that such a command crosses
// cgo once.
static void rk_take(redkeep_reply *reply, uint8_t *dst, size_t cap, rk_out *out) {
    out->reply = reply;
    out->str = NULL;
    out->len = 0;
    out->kind = redkeep_reply_get_kind(reply);
    switch (out->kind) {
    case REDKEEP_REPLY_NIL:
    case REDKEEP_REPLY_INTEGER:
    case REDKEEP_REPLY_DOUBLE:
    case REDKEEP_REPLY_BOOL:
        out->integer = redkeep_reply_integer(reply);
        out->dbl = redkeep_reply_double(reply);
        redkeep_reply_free(reply);
        out->reply = NULL;
        break;
    case REDKEEP_REPLY_STRING:
    case REDKEEP_REPLY_STATUS:
        out->str = redkeep_reply_string(reply, &out->len);
        if (out->len <= cap) {
            if (out->len > 0) memcpy(dst, out->str, out->len);
            redkeep_reply_free(reply);
            out->reply = NULL;
            out->str = NULL;
        }
        break;
    default:
        break;
    }
}

// One cgo crossing for a blocking command and a scalar or short string
// reply.
static redkeep_status rk_exec(const redkeep_pool *pool, const uint8_t *buf, size_t buf_len,
                              const size_t *lens, size_t argc, uint32_t timeout_ms,
                              const redkeep_cancel *cancel, uint8_t *dst, size_t cap,
                              rk_out *out) {
    redkeep_reply *reply = NULL;
    out->reply = NULL;
    out->err = NULL;
    redkeep_status st = redkeep_pool_exec_packed(pool, buf, buf_len, lens, argc, timeout_ms,
                                                 cancel, &reply, &out->err);
    if (st == REDKEEP_OK) rk_take(reply, dst, cap, out);
    return st;
}
*/
import "C"

import (
	"runtime"
	"strconv"
	"sync"
	"unsafe"
)

// scratch is the memory one Do needs, reused through a sync.Pool so that a
// call allocates only its result: the packed arguments (and then the
// reply's bytes, copied there by rk_take), their lengths, and the outputs
// of the C call.
type scratch struct {
	buf  []byte
	lens []C.size_t
	out  C.rk_out
}

const (
	scratchSize = 512
	// A buffer grown past this by a large command is not kept.
	scratchKeep = 64 << 10
)

var scratches = sync.Pool{New: func() any {
	return &scratch{buf: make([]byte, 0, scratchSize), lens: make([]C.size_t, 0, 8)}
}}

func getScratch() *scratch { return scratches.Get().(*scratch) }

func putScratch(s *scratch) {
	if cap(s.buf) > scratchKeep {
		return
	}
	s.buf, s.lens = s.buf[:0], s.lens[:0]
	s.out = C.rk_out{}
	scratches.Put(s)
}

// pack encodes args into s.buf and s.lens.
func (s *scratch) pack(args []any) error {
	for i, a := range args {
		before := len(s.buf)
		var err error
		if s.buf, err = appendArg(s.buf, a); err != nil {
			return invalidArgument("argument " + strconv.Itoa(i) + ": " + err.Error())
		}
		s.lens = append(s.lens, C.size_t(len(s.buf)-before))
	}
	return nil
}

// dst is the whole of s.buf, where rk_take may copy a reply.
func (s *scratch) dst() (*C.uint8_t, C.size_t) {
	full := s.buf[:cap(s.buf)]
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(full))), C.size_t(len(full))
}

// execBlocking runs one command in a blocking cgo call.
func (c *poolCore) execBlocking(s *scratch, call *call, asBytes bool) (any, error) {
	dst, capacity := s.dst()
	c.mu.RLock()
	if c.ptr == nil {
		c.mu.RUnlock()
		return nil, errClosed
	}
	status := C.rk_exec(c.ptr, (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(s.buf))), C.size_t(len(s.buf)),
		&s.lens[0], C.size_t(len(s.lens)), call.timeoutMs, call.cancel, dst, capacity, &s.out)
	c.mu.RUnlock()
	runtime.KeepAlive(s)
	if err := takeError(status, s.out.err); err != nil {
		return nil, err
	}
	return s.result(asBytes)
}

// take reads a completed reply into s (see rk_take).
func (s *scratch) take(reply *C.redkeep_reply) {
	dst, capacity := s.dst()
	C.rk_take(reply, dst, capacity, &s.out)
	runtime.KeepAlive(s)
}

// result converts what rk_take left in s.out into Do's result, freeing a
// reply it still owns.
func (s *scratch) result(asBytes bool) (any, error) {
	out := &s.out
	switch out.kind {
	case C.REDKEEP_REPLY_NIL:
		return nil, Nil
	case C.REDKEEP_REPLY_INTEGER:
		return int64(out.integer), nil
	case C.REDKEEP_REPLY_DOUBLE:
		return float64(out.dbl), nil
	case C.REDKEEP_REPLY_BOOL:
		return out.integer != 0, nil
	}
	reply := out.reply
	out.reply = nil
	if reply == nil { // a string, copied into s.buf
		b := s.buf[:cap(s.buf)][:out.len]
		if asBytes {
			return append([]byte{}, b...), nil
		}
		return string(b), nil
	}
	defer C.redkeep_reply_free(reply)
	switch out.kind {
	case C.REDKEEP_REPLY_STRING, C.REDKEEP_REPLY_STATUS:
		if asBytes {
			return C.GoBytes(unsafe.Pointer(out.str), C.int(out.len)), nil
		}
		return C.GoStringN(out.str, C.int(out.len)), nil
	default:
		return convertReply(reply), nil
	}
}

// convertCompletion turns an outcome into Do's result and frees it.
func convertCompletion(comp completion, asBytes bool) (any, error) {
	if err := takeError(comp.status, comp.err); err != nil {
		if comp.reply != nil {
			C.redkeep_reply_free(comp.reply)
		}
		return nil, err
	}
	s := getScratch()
	defer putScratch(s)
	s.take(comp.reply)
	return s.result(asBytes)
}
