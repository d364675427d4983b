package redkeep

import (
	"context"
	"runtime"
)

// cmdable runs one typed command: the generated methods (commands_gen.go)
// build the command and hand it here. Pool, Tx and Pipeline each give
// their own (run now on the pool, run now on the transaction's
// connection, queue).
type cmdable func(ctx context.Context, cmd Cmder) error

// TxFailedErr is Watch's error (and a TxPipeline's) when EXEC was
// aborted because a watched key changed: nothing in the transaction ran.
// Retry the whole function.
const TxFailedErr = redisNil("redkeep: transaction failed")

// Process runs cmd on the pool (go-redis's Process) and returns its error.
// The pool's rules apply as for Do.
func (p *Pool) Process(ctx context.Context, cmd Cmder) error {
	return p.process(ctx, cmd)
}

func (p *Pool) process(ctx context.Context, cmd Cmder) error {
	v, err := p.c.do(ctx, false, cmd.Args())
	runtime.KeepAlive(p)
	return settle(cmd, v, err)
}

// settle stores a reply (or error) in cmd and returns cmd's error.
func settle(cmd Cmder, v any, err error) error {
	if err == nil {
		if se, ok := v.(*ServerError); ok {
			err = se
		} else if v == nil {
			err = Nil
		} else {
			err = cmd.readReply(v)
		}
	}
	if err != nil {
		cmd.SetErr(err)
	}
	return err
}
