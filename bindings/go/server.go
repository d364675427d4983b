package redkeep

/*
#include "redkeep.h"
*/
import "C"

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Server is a Redis at a local address: attached to (someone else's, left
// alone by Close), or spawned by this process and supervised — restarted
// if it crashes, stopped by Close, and killed by the kernel when this
// process dies, even by SIGKILL (Linux), so it never outlives its owner.
//
// A Server is safe for concurrent use. Close it when done; a cleanup stops
// a forgotten one only as a leak guard.
type Server struct {
	mu          sync.Mutex
	ptr         *C.redkeep_server
	url         string
	redactedURL string
	addr        string
	caCertFile  string
	spawned     bool
	cleanup     runtime.Cleanup
}

// EnsureServer attaches to the Redis at opt.Addr, or starts a
// redis-server there when nothing listens (port 0: always a new server on
// a free port). It returns once the server answers PONG. An address held
// by something that is not Redis is an error (ErrSpawn), never attached
// to. The context's deadline shortens opt.ReadyTimeout; cancelling it
// returns ctx.Err() at once (a server that comes up later is stopped).
func EnsureServer(ctx context.Context, opt ServerOptions) (*Server, error) {
	if dl, ok := ctx.Deadline(); ok {
		if remaining := time.Until(dl); opt.ReadyTimeout <= 0 || remaining < opt.ReadyTimeout {
			opt.ReadyTimeout = max(remaining, time.Millisecond)
		}
	}
	copts, err := opt.toC()
	if err != nil {
		return nil, err
	}
	defer copts.free()
	c, err := begin(ctx)
	if err != nil {
		return nil, err
	}
	var ptr *C.redkeep_server
	var cerr *C.redkeep_error
	status := C.redkeep_server_ensure(&copts.opts, c.cancel, &ptr, &cerr)
	if err := c.end(ctx, takeError(status, cerr)); err != nil {
		return nil, err
	}
	s := &Server{
		ptr:         ptr,
		url:         C.GoString(C.redkeep_server_url(ptr)),
		redactedURL: C.GoString(C.redkeep_server_redacted_url(ptr)),
		addr:        C.GoString(C.redkeep_server_addr(ptr)),
		caCertFile:  C.GoString(C.redkeep_server_ca_cert_path(ptr)),
		spawned:     bool(C.redkeep_server_spawned(ptr)),
	}
	s.cleanup = runtime.AddCleanup(s, func(ptr *C.redkeep_server) { C.redkeep_server_free(ptr) }, ptr)
	return s, nil
}

// CACertFile is the PEM file of the throwaway CA that signed a TLS
// server's certificate (ServerOptions.TLS), for TLSOptions.CAFile or
// redis-cli --tls --cacert; removed with the server. "" without TLS.
func (s *Server) CACertFile() string { return s.caCertFile }

// Addr is the resolved address, "host:port" (never port 0) or the unix
// socket's path.
func (s *Server) Addr() string { return s.addr }

// URL is the URL to connect with, password included: pass it to
// Options.URL. Do not log it; see RedactedURL.
func (s *Server) URL() string { return s.url }

// RedactedURL is URL with the password replaced by "***".
func (s *Server) RedactedURL() string { return s.redactedURL }

// Spawned reports whether this process started the server (false:
// attached to an existing one).
func (s *Server) Spawned() bool { return s.spawned }

// PID is the spawned server's current process id; 0 for an attached
// server, while a crashed one restarts, and after Close.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return 0
	}
	pid := int(C.redkeep_server_pid(s.ptr))
	runtime.KeepAlive(s)
	return pid
}

// Restarts is how many times the supervisor restarted a crashed server.
func (s *Server) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return 0
	}
	n := int(C.redkeep_server_restarts(s.ptr))
	runtime.KeepAlive(s)
	return n
}

// Close stops a spawned server and waits until it is gone (an attached
// one is left alone). Idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return nil
	}
	s.cleanup.Stop()
	var cerr *C.redkeep_error
	status := C.redkeep_server_shutdown(s.ptr, &cerr)
	s.ptr = nil
	return takeError(status, cerr)
}
