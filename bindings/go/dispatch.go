package redkeep

/*
#include "redkeep.h"
*/
import "C"

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"unsafe"
)

// How commands run. A blocking cgo call would hold its goroutine's OS
// thread and P for the whole round trip (Go's scheduler only takes the P
// back after ~20µs, so every call would pay that hand-off). Instead Do
// submits the command (a short, non-blocking cgo call) and parks on a
// channel; the library runs it on its own runtime and puts the outcome in a
// completion queue, whose file descriptor Go's network poller watches. One
// dispatcher goroutine per pool drains the queue and wakes the callers.
// Many concurrent callers thus share the library's pipelined connections
// without one OS thread each.

// completion is one finished command, handed from the dispatcher to the
// goroutine waiting for it (which converts and frees it).
type completion struct {
	status C.redkeep_status
	reply  *C.redkeep_reply
	err    *C.redkeep_error
}

const popBatch = 128

var waiterChans = sync.Pool{New: func() any { return make(chan completion, 1) }}

func (c *poolCore) startDispatch() error {
	var cerr *C.redkeep_error
	if err := takeError(C.redkeep_completions_new(&c.completions, &cerr), cerr); err != nil {
		return err
	}
	fd := C.redkeep_completions_fd(c.completions)
	if fd < 0 {
		C.redkeep_completions_free(c.completions)
		return &Error{Status: StatusIO, Message: "cannot get the completion queue's descriptor"}
	}
	// A non-blocking descriptor: reads go through Go's network poller.
	c.file = os.NewFile(uintptr(fd), "redkeep-completions")
	go c.dispatch()
	return nil
}

// stopDispatch makes the dispatcher's Read fail, so it ends.
func (c *poolCore) stopDispatch() {
	c.fileOnce.Do(func() { c.file.Close() })
}

func (c *poolCore) dispatch() {
	var comps [popBatch]C.redkeep_completion
	buf := make([]byte, 64)
	for {
		_, rerr := c.file.Read(buf)
		for {
			n := int(C.redkeep_completions_pop(c.completions, &comps[0], popBatch))
			for i := 0; i < n; i++ {
				c.deliver(&comps[i])
			}
			if n < popBatch {
				break
			}
		}
		if rerr != nil && errors.Is(rerr, os.ErrClosed) {
			break
		}
	}
	C.redkeep_completions_free(c.completions)
	c.completions = nil
}

func (c *poolCore) deliver(comp *C.redkeep_completion) {
	token := uint64(comp.token)
	c.wmu.Lock()
	ch := c.waiters[token]
	delete(c.waiters, token)
	c.wmu.Unlock()
	if ch == nil { // cannot happen: every submitted command has a waiter
		C.redkeep_reply_free(comp.reply)
		C.redkeep_error_free(comp.error)
	} else {
		ch <- completion{status: comp.status, reply: comp.reply, err: comp.error}
	}
	c.release()
}

// release ends one command in flight; the last one after Close stops the
// dispatcher.
func (c *poolCore) release() {
	if c.pending.Add(-1) == 0 {
		select {
		case <-c.closing:
			c.stopDispatch()
		default:
		}
	}
}

// submit starts one command and waits for its outcome. The command ends
// by itself on the call's timeout or cancellation, or when the pool closes.
func (c *poolCore) submit(s *scratch, call *call, asBytes bool) (any, error) {
	buf, lens := s.buf, s.lens // buf is never nil (a scratch has capacity)
	ch := waiterChans.Get().(chan completion)
	c.wmu.Lock()
	c.nextToken++
	token := c.nextToken
	c.waiters[token] = ch
	c.wmu.Unlock()
	c.pending.Add(1)

	s.out.err = nil
	status := C.redkeep_status(C.REDKEEP_CLOSED)
	c.mu.RLock()
	if c.ptr != nil {
		status = C.redkeep_pool_submit(c.ptr, c.completions, C.uint64_t(token),
			(*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(buf))), C.size_t(len(buf)),
			&lens[0], C.size_t(len(lens)), call.timeoutMs, call.cancel, &s.out.err) // a field: cgo checks only it
	}
	c.mu.RUnlock()
	runtime.KeepAlive(s)
	if status != C.REDKEEP_OK {
		c.wmu.Lock()
		delete(c.waiters, token)
		c.wmu.Unlock()
		waiterChans.Put(ch)
		c.release()
		if s.out.err == nil {
			return nil, errClosed
		}
		return nil, takeError(status, s.out.err)
	}
	comp := <-ch
	waiterChans.Put(ch)
	if err := takeError(comp.status, comp.err); err != nil {
		return nil, err
	}
	s.take(comp.reply)
	return s.result(asBytes)
}
