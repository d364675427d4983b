package redkeep

/*
#include "redkeep.h"
*/
import "C"

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"unsafe"
)

// Pipeliner queues commands and sends them in one round trip when Exec is
// called (go-redis's Pipeliner). Its typed methods return results that
// are filled in by Exec.
type Pipeliner interface {
	Cmdable
	// Len is the number of queued commands.
	Len() int
	// Do queues a command given as arguments.
	Do(ctx context.Context, args ...any) *Cmd
	// Process queues cmd.
	Process(ctx context.Context, cmd Cmder) error
	// Discard drops the queued commands.
	Discard()
	// Exec sends the queued commands and fills in their results.
	Exec(ctx context.Context) ([]Cmder, error)
}

// Pipeline is a Pipeliner from Pool.Pipeline, Pool.TxPipeline or a Tx.
// Not safe for concurrent use while Exec runs; queueing from several
// goroutines is safe.
type Pipeline struct {
	cmdable
	atomic bool
	run    pipelineRunner
	mu     sync.Mutex
	cmds   []Cmder
}

// pipelineRunner sends packed commands (the pool's shared path, or a
// transaction's own connection) and returns the reply tree.
type pipelineRunner interface {
	runPipeline(ctx context.Context, p *packed, atomic bool) (any, error)
}

var _ Pipeliner = (*Pipeline)(nil)

func newPipeline(run pipelineRunner, atomic bool) *Pipeline {
	p := &Pipeline{run: run, atomic: atomic}
	p.cmdable = p.Process
	return p
}

// Pipeline starts a pipeline: queue commands on it, then Exec sends them
// in one round trip through the pool's rules (a pipeline holding a
// connection-state command is refused unsent with ErrRefused; one holding
// a blocking command runs on a connection of its own). Never re-sent.
func (p *Pool) Pipeline() Pipeliner { return newPipeline(p.c, false) }

// TxPipeline starts a transaction: Exec sends the queued commands wrapped
// in MULTI/EXEC, in one round trip, so they run as one. Use Watch for a
// transaction that depends on values read first.
func (p *Pool) TxPipeline() Pipeliner { return newPipeline(p.c, true) }

// Pipelined queues the commands fn issues on a pipeline and runs them in
// one round trip; it returns the commands and the first error among them.
func (p *Pool) Pipelined(ctx context.Context, fn func(Pipeliner) error) ([]Cmder, error) {
	return pipelined(ctx, p.Pipeline(), fn)
}

// TxPipelined is Pipelined in a MULTI/EXEC transaction.
func (p *Pool) TxPipelined(ctx context.Context, fn func(Pipeliner) error) ([]Cmder, error) {
	return pipelined(ctx, p.TxPipeline(), fn)
}

func pipelined(ctx context.Context, pipe Pipeliner, fn func(Pipeliner) error) ([]Cmder, error) {
	if err := fn(pipe); err != nil {
		pipe.Discard()
		return nil, err
	}
	return pipe.Exec(ctx)
}

// Len is the number of queued commands.
func (pl *Pipeline) Len() int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return len(pl.cmds)
}

// Do queues a command given as arguments; its result comes with Exec.
func (pl *Pipeline) Do(ctx context.Context, args ...any) *Cmd {
	cmd := NewCmd(ctx, args...)
	_ = pl.Process(ctx, cmd)
	return cmd
}

// Process queues cmd; it always returns nil (the error comes with Exec).
func (pl *Pipeline) Process(ctx context.Context, cmd Cmder) error {
	pl.mu.Lock()
	pl.cmds = append(pl.cmds, cmd)
	pl.mu.Unlock()
	return nil
}

// Discard drops the queued commands.
func (pl *Pipeline) Discard() {
	pl.mu.Lock()
	pl.cmds = nil
	pl.mu.Unlock()
}

// Exec sends the queued commands in one round trip, fills in each one's
// result and returns them with the first error among them (Nil included,
// as go-redis does); the queue is then empty. An empty pipeline returns
// (nil, nil). After a failure of the whole call (ErrUnavailable, a
// timeout, ErrRefused, ...) every command carries that error. A
// transaction aborted by a changed watched key gives TxFailedErr.
func (pl *Pipeline) Exec(ctx context.Context) ([]Cmder, error) {
	pl.mu.Lock()
	cmds := pl.cmds
	pl.cmds = nil
	pl.mu.Unlock()
	if len(cmds) == 0 {
		return nil, nil
	}
	packed, err := pack(cmds)
	if err != nil {
		return cmds, failAll(cmds, err)
	}
	reply, err := pl.run.runPipeline(ctx, packed, pl.atomic)
	if err != nil {
		return cmds, failAll(cmds, err)
	}
	if reply == nil && pl.atomic {
		return cmds, failAll(cmds, TxFailedErr)
	}
	replies, ok := reply.([]any)
	if !ok || len(replies) != len(cmds) {
		return cmds, failAll(cmds, errUnexpected(reply, "a pipeline"))
	}
	var first error
	for i, cmd := range cmds {
		if err := settle(cmd, replies[i], nil); err != nil && first == nil {
			first = err
		}
	}
	return cmds, first
}

func failAll(cmds []Cmder, err error) error {
	for _, cmd := range cmds {
		cmd.SetErr(err)
	}
	return err
}

// packed is a pipeline's commands as the C ABI takes them: every argument
// in one buffer, the lengths, and each command's argument count.
type packed struct {
	buf   []byte
	lens  []C.size_t
	argcs []C.size_t
}

func pack(cmds []Cmder) (*packed, error) {
	p := &packed{buf: make([]byte, 0, 64*len(cmds)), argcs: make([]C.size_t, len(cmds))}
	for i, cmd := range cmds {
		args := cmd.Args()
		if len(args) == 0 {
			return nil, invalidArgument("pipeline command " + strconv.Itoa(i) + " has no name")
		}
		for j, a := range args {
			before := len(p.buf)
			var err error
			if p.buf, err = appendArg(p.buf, a); err != nil {
				return nil, invalidArgument("pipeline command " + strconv.Itoa(i) + ", argument " + strconv.Itoa(j) + ": " + err.Error())
			}
			p.lens = append(p.lens, C.size_t(len(p.buf)-before))
		}
		p.argcs[i] = C.size_t(len(args))
	}
	if len(p.buf) == 0 {
		p.buf = append(p.buf, 0)[:0]
	}
	return p, nil
}

// runPipeline sends a pipeline on the pool's shared path (one blocking
// cgo call).
func (c *poolCore) runPipeline(ctx context.Context, p *packed, atomic bool) (any, error) {
	call, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	var reply *C.redkeep_reply
	var cerr *C.redkeep_error
	status := C.redkeep_status(C.REDKEEP_CLOSED)
	c.mu.RLock()
	if c.ptr != nil {
		status = C.redkeep_pool_pipeline(c.ptr,
			(*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(p.buf))), C.size_t(len(p.buf)),
			&p.lens[0], C.size_t(len(p.lens)), &p.argcs[0], C.size_t(len(p.argcs)),
			C.bool(atomic), call.timeoutMs, call.cancel, &reply, &cerr)
	}
	c.mu.RUnlock()
	runtime.KeepAlive(p)
	return takeTree(ctx, call, status, reply, cerr)
}

// takeTree converts and frees the outcome of a pipeline call.
func takeTree(ctx context.Context, call *call, status C.redkeep_status, reply *C.redkeep_reply, cerr *C.redkeep_error) (any, error) {
	if status == C.REDKEEP_CLOSED && cerr == nil {
		return nil, call.end(ctx, errClosed)
	}
	if err := call.end(ctx, takeError(status, cerr)); err != nil {
		return nil, err
	}
	defer C.redkeep_reply_free(reply)
	return convertReply(reply), nil
}
