package redkeep

/*
#include "redkeep.h"
*/
import "C"

import (
	"context"
	"errors"
	"time"
)

// call carries a context into one blocking C call: its deadline becomes the
// call's timeout, and its cancellation triggers a redkeep_cancel handle
// from the goroutine context.AfterFunc starts.
type call struct {
	timeoutMs C.uint32_t
	cancel    *C.redkeep_cancel
	deadline  time.Time
	stop      func() bool
	fired     chan struct{}
}

// begin prepares a call; it fails at once if ctx is already done.
func begin(ctx context.Context) (*call, error) {
	c := &call{}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// start prepares a call in place (a call on the caller's stack costs no
// allocation); it fails at once if ctx is already done.
func (c *call) start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		remaining := time.Until(dl)
		if remaining <= 0 {
			return deadlineError()
		}
		c.timeoutMs = C.uint32_t(millis(remaining))
		c.deadline = dl
	}
	if ctx.Done() != nil {
		cancel := C.redkeep_cancel_new()
		fired := make(chan struct{})
		c.cancel, c.fired = cancel, fired
		c.stop = context.AfterFunc(ctx, func() {
			C.redkeep_cancel_trigger(cancel)
			close(fired)
		})
	}
	return nil
}

// end releases the cancel handle once no goroutine can trigger it, and
// maps a cancellation or timeout caused by ctx to ctx's error.
func (c *call) end(ctx context.Context, err error) error {
	if c.cancel != nil {
		if !c.stop() {
			<-c.fired
		}
		C.redkeep_cancel_free(c.cancel)
		c.cancel = nil
	}
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Status == StatusCancelled && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return deadlineError()
	case e.Status == StatusCancelled && ctx.Err() != nil:
		return ctx.Err()
	case e.Status == StatusTimeout && !c.deadline.IsZero() && !time.Now().Before(c.deadline):
		e.deadline = true
	}
	return err
}

func deadlineError() error {
	return &Error{
		Status:   StatusTimeout,
		Phase:    PhaseCommand,
		Message:  "the context's deadline passed",
		deadline: true,
	}
}
