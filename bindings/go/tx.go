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

// Tx is an optimistic transaction on a connection of its own, from
// Pool.Watch (go-redis's Tx): its typed commands run at once on that
// connection (reads of the watched keys, typically), and TxPipelined
// queues the writes and sends them as MULTI/EXEC. Valid only inside the
// function given to Watch; one goroutine at a time.
type Tx struct {
	cmdable
	pool *Pool
	mu   sync.Mutex
	conn *C.redkeep_conn
}

// Watch runs fn in an optimistic transaction: it checks out a connection
// of its own, sends WATCH keys, and calls fn with a Tx on it. Inside fn,
// read what the transaction depends on with the Tx's commands, then
// write with tx.TxPipelined: if a watched key changed since WATCH, EXEC
// is aborted, nothing is written and Watch returns TxFailedErr (retry the
// whole Watch). Watch returns fn's error otherwise.
//
// The connection goes back to the pool afterwards, its watches cleared
// (UNWATCH or DISCARD, by the library); if that fails it is closed
// instead, so no other caller inherits them. The checkout follows the
// pool's rules: ErrUnavailable at once while Redis is down, a timeout
// after PoolTimeout if every connection stays taken. ctx bounds each
// call.
func (p *Pool) Watch(ctx context.Context, fn func(*Tx) error, keys ...string) error {
	tx, err := p.checkout(ctx)
	if err != nil {
		return err
	}
	defer tx.close()
	if len(keys) > 0 {
		if err := tx.Watch(ctx, keys...).Err(); err != nil {
			return err
		}
	}
	return fn(tx)
}

func (p *Pool) checkout(ctx context.Context) (*Tx, error) {
	call, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	c := p.c
	var conn *C.redkeep_conn
	var cerr *C.redkeep_error
	status := C.redkeep_status(C.REDKEEP_CLOSED)
	c.mu.RLock()
	if c.ptr != nil {
		status = C.redkeep_pool_checkout(c.ptr, call.timeoutMs, call.cancel, &conn, &cerr)
	}
	c.mu.RUnlock()
	if status == C.REDKEEP_CLOSED && cerr == nil {
		return nil, call.end(ctx, errClosed)
	}
	if err := call.end(ctx, takeError(status, cerr)); err != nil {
		return nil, err
	}
	tx := &Tx{pool: p, conn: conn}
	tx.cmdable = tx.Process
	return tx, nil
}

// close gives the connection back (the library resets or closes it).
func (tx *Tx) close() {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.conn == nil {
		return
	}
	c := tx.pool.c
	c.mu.RLock()
	C.redkeep_conn_free(tx.conn)
	c.mu.RUnlock()
	tx.conn = nil
	runtime.KeepAlive(tx.pool)
}

// errTxDone is the error of a Tx used after its Watch returned.
var errTxDone = &Error{Status: StatusClosed, Message: "the Tx was used after its Watch function returned"}

// Process runs cmd on the transaction's connection and returns its error.
// Any command may run here, WATCH and MULTI included; a blocking one gets
// a reply timeout of its own wait plus ReadTimeout.
func (tx *Tx) Process(ctx context.Context, cmd Cmder) error {
	v, err := tx.exec(ctx, cmd.Args())
	return settle(cmd, v, err)
}

// Do runs a command given as arguments on the transaction's connection.
func (tx *Tx) Do(ctx context.Context, args ...any) *Cmd {
	cmd := NewCmd(ctx, args...)
	_ = tx.Process(ctx, cmd)
	return cmd
}

// Watch watches more keys (WATCH keys).
func (tx *Tx) Watch(ctx context.Context, keys ...string) *StatusCmd {
	args := make([]any, 0, 1+len(keys))
	args = appendKeys(append(args, "watch"), keys)
	cmd := NewStatusCmd(ctx, args...)
	_ = tx.Process(ctx, cmd)
	return cmd
}

// Unwatch forgets every watched key (UNWATCH).
func (tx *Tx) Unwatch(ctx context.Context, keys ...string) *StatusCmd {
	args := make([]any, 0, 1+len(keys))
	args = appendKeys(append(args, "unwatch"), keys)
	cmd := NewStatusCmd(ctx, args...)
	_ = tx.Process(ctx, cmd)
	return cmd
}

// Pipeline queues commands to send on the transaction's connection in one
// round trip (no MULTI).
func (tx *Tx) Pipeline() Pipeliner { return newPipeline(tx, false) }

// TxPipeline queues commands to send as MULTI/EXEC on the transaction's
// connection: EXEC is aborted (TxFailedErr) if a watched key changed.
func (tx *Tx) TxPipeline() Pipeliner { return newPipeline(tx, true) }

// Pipelined runs the commands fn queues in one round trip on the
// transaction's connection.
func (tx *Tx) Pipelined(ctx context.Context, fn func(Pipeliner) error) ([]Cmder, error) {
	return pipelined(ctx, tx.Pipeline(), fn)
}

// TxPipelined runs the commands fn queues as MULTI/EXEC on the
// transaction's connection; it returns TxFailedErr if a watched key
// changed (nothing was written).
func (tx *Tx) TxPipelined(ctx context.Context, fn func(Pipeliner) error) ([]Cmder, error) {
	return pipelined(ctx, tx.TxPipeline(), fn)
}

// exec runs one command on the connection (a blocking cgo call).
func (tx *Tx) exec(ctx context.Context, args []any) (any, error) {
	if len(args) == 0 {
		return nil, invalidArgument("a command needs at least its name")
	}
	buf := make([]byte, 0, 64)
	lens := make([]C.size_t, len(args))
	for i, a := range args {
		before := len(buf)
		var err error
		if buf, err = appendArg(buf, a); err != nil {
			return nil, invalidArgument("argument " + strconv.Itoa(i) + ": " + err.Error())
		}
		lens[i] = C.size_t(len(buf) - before)
	}
	if len(buf) == 0 {
		buf = append(buf, 0)[:0]
	}
	call, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	var reply *C.redkeep_reply
	var cerr *C.redkeep_error
	status, ok := tx.with(func(conn *C.redkeep_conn) C.redkeep_status {
		return C.redkeep_conn_exec_packed(conn, (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(buf))),
			C.size_t(len(buf)), &lens[0], C.size_t(len(lens)), call.timeoutMs, call.cancel, &reply, &cerr)
	})
	runtime.KeepAlive(buf)
	if !ok {
		return nil, call.end(ctx, errTxDone)
	}
	v, err := convertCompletion(completion{status: status, reply: reply, err: cerr}, false)
	if err != nil && status == C.REDKEEP_CLOSED && cerr == nil {
		err = errClosed
	}
	return v, call.end(ctx, err)
}

func (tx *Tx) runPipeline(ctx context.Context, p *packed, atomic bool) (any, error) {
	call, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	var reply *C.redkeep_reply
	var cerr *C.redkeep_error
	status, ok := tx.with(func(conn *C.redkeep_conn) C.redkeep_status {
		return C.redkeep_conn_pipeline(conn,
			(*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(p.buf))), C.size_t(len(p.buf)),
			&p.lens[0], C.size_t(len(p.lens)), &p.argcs[0], C.size_t(len(p.argcs)),
			C.bool(atomic), call.timeoutMs, call.cancel, &reply, &cerr)
	})
	runtime.KeepAlive(p)
	if !ok {
		return nil, call.end(ctx, errTxDone)
	}
	return takeTree(ctx, call, status, reply, cerr)
}

// with runs f on the connection, one call at a time, under the pool's
// read lock (so Close waits for it, after ending it with ErrClosed).
// false if the Tx is done or the pool closed.
func (tx *Tx) with(f func(*C.redkeep_conn) C.redkeep_status) (C.redkeep_status, bool) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.conn == nil {
		return 0, false
	}
	c := tx.pool.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return C.REDKEEP_CLOSED, true
	}
	return f(tx.conn), true
}
