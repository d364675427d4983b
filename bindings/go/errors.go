package redkeep

import (
	"context"
	"errors"
	"strings"
)

// Status is the library's status code for a failed call (the C ABI's
// redkeep_status).
type Status uint32

// Status codes; the numbers are those of the C ABI and never reused.
const (
	StatusOK              Status = 0
	StatusInvalidArgument Status = 1
	StatusPanic           Status = 2
	StatusInternal        Status = 3
	StatusCancelled       Status = 4
	StatusTimeout         Status = 10
	StatusUnavailable     Status = 11
	StatusConnection      Status = 12
	StatusResponse        Status = 13
	StatusClosed          Status = 14
	StatusConfig          Status = 15
	StatusSpawn           Status = 16
	StatusIO              Status = 17
	StatusRefused         Status = 18
)

// Phase says which phase of a request timed out.
type Phase uint32

// Phases of a request.
const (
	PhaseNone    Phase = 0
	PhaseConnect Phase = 1
	PhaseWait    Phase = 2
	PhaseCommand Phase = 3
)

func (p Phase) String() string {
	switch p {
	case PhaseConnect:
		return "connect"
	case PhaseWait:
		return "pool wait"
	case PhaseCommand:
		return "command"
	default:
		return "none"
	}
}

// redisNil is the type of Nil, as go-redis does it.
type redisNil string

func (e redisNil) Error() string { return string(e) }

// Nil is returned by Do and the typed helpers when Redis replies nil (GET
// of a missing key). Compare with errors.Is(err, redkeep.Nil) or ==.
const Nil = redisNil("redkeep: nil")

// Sentinel errors, matched with errors.Is.
var (
	// ErrUnavailable: the pool is down and failed fast without touching
	// the network; the health watch reconnects in the background.
	ErrUnavailable = errors.New("redkeep: redis is unavailable")
	// ErrTimeout: a phase (connect, pool wait, command) ran past its
	// timeout, or the context's deadline passed. A timeout caused by the
	// context's deadline also matches context.DeadlineExceeded.
	ErrTimeout = errors.New("redkeep: timeout")
	// ErrClosed: the pool or server was closed.
	ErrClosed = errors.New("redkeep: closed")
	// ErrConnection: the connection failed (refused, reset, auth refused,
	// not a Redis).
	ErrConnection = errors.New("redkeep: connection error")
	// ErrConfig: invalid options (bad URL, zero sizes, non-loopback host).
	ErrConfig = errors.New("redkeep: invalid configuration")
	// ErrSpawn: a local redis-server could not be started or supervised.
	ErrSpawn = errors.New("redkeep: cannot start redis-server")
	// ErrInvalidArgument: an argument the library rejected (unsupported
	// argument type, empty command).
	ErrInvalidArgument = errors.New("redkeep: invalid argument")
	// ErrRefused: the pool refused the command without sending it,
	// because it changes the state of the connection it runs on, which
	// other callers share: SELECT (set Options.DB), MULTI/EXEC, WATCH,
	// the SUBSCRIBE family, CLIENT SETNAME, AUTH (set Options.Password),
	// and the like. The message says what to use instead.
	ErrRefused = errors.New("redkeep: command refused")
)

// Error is a failure reported by the library. It matches the sentinel of
// its status with errors.Is.
type Error struct {
	// Status is the C ABI status code.
	Status Status
	// Phase is the phase that timed out, for StatusTimeout.
	Phase Phase
	// Message is the library's one-line message (never a password); a
	// setting it is about is named as this package's field.
	Message string
	// deadline is set when the context's deadline caused the timeout.
	deadline bool
}

func (e *Error) Error() string { return "redkeep: " + e.Message }

// Is matches the sentinel of the status (ErrTimeout, ErrUnavailable, ...),
// and context.DeadlineExceeded for a timeout caused by the context.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrTimeout:
		return e.Status == StatusTimeout
	case ErrUnavailable:
		return e.Status == StatusUnavailable
	case ErrClosed:
		return e.Status == StatusClosed
	case ErrConnection:
		return e.Status == StatusConnection
	case ErrConfig:
		return e.Status == StatusConfig
	case ErrSpawn:
		return e.Status == StatusSpawn
	case ErrInvalidArgument:
		return e.Status == StatusInvalidArgument
	case ErrRefused:
		return e.Status == StatusRefused
	case context.DeadlineExceeded:
		return e.deadline
	}
	return false
}

// Timeout reports whether the error is a timeout (as net.Error does).
func (e *Error) Timeout() bool { return e.Status == StatusTimeout }

// ServerError is an error reply from Redis (ERR ..., WRONGTYPE ...). It is
// not a failure of the connection: the pool stays healthy.
type ServerError struct {
	// Message is the server's text, e.g. "WRONGTYPE Operation against a
	// key holding the wrong kind of value".
	Message string
}

func (e *ServerError) Error() string { return e.Message }

// Prefix is the error code: the first word of the message ("ERR",
// "WRONGTYPE", "NOSCRIPT").
func (e *ServerError) Prefix() string {
	prefix, _, _ := strings.Cut(e.Message, " ")
	return strings.TrimSuffix(prefix, ":")
}

func invalidArgument(msg string) error {
	return &Error{Status: StatusInvalidArgument, Message: msg}
}

var errClosed = &Error{Status: StatusClosed, Message: "the pool is closed"}
