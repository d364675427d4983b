package redkeep

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"
)

// Options configure a Pool, in the manner of go-redis. The zero value of
// every field means "the default", stated on the field.
type Options struct {
	// Addr is "host:port". Default: "127.0.0.1:6379". Ignored when URL is set.
	Addr string
	// URL is a full redis:// (or rediss://, redis+unix://) URL; when set it
	// takes precedence over Addr, Username, Password and DB.
	URL string
	// Username for ACL authentication. Default: none.
	Username string
	// Password for AUTH. Default: none. Never logged or put in errors.
	Password string
	// DB is the database number to SELECT. Default: 0.
	DB int

	// PoolSize is the most exclusive connections open at once (commands
	// sent with Do share multiplexed connections and do not count).
	// Default: 16.
	PoolSize int
	// DialTimeout bounds opening one connection, handshake included.
	// Default: 1s.
	DialTimeout time.Duration
	// ReadTimeout bounds the wait for each reply (a blocking command's
	// reply may take its own wait plus ReadTimeout). Default: 2s. A
	// context deadline bounds the whole call on top of it.
	ReadTimeout time.Duration
	// PoolTimeout bounds the wait for a free exclusive connection.
	// Default: 1s.
	PoolTimeout time.Duration
	// MinRetryBackoff is the first reconnect delay while Redis is down.
	// Default: 50ms.
	MinRetryBackoff time.Duration
	// MaxRetryBackoff is the largest reconnect delay. Default: 2s.
	MaxRetryBackoff time.Duration
	// HealthCheckInterval is the time between health probes (PING).
	// Default: 500ms.
	HealthCheckInterval time.Duration

	// SpawnIfAbsent starts a local redis-server at Addr (a loopback
	// address) when nothing answers there. The pool owns it: it is
	// restarted if it crashes, stopped by Close, and killed by the kernel
	// if this process dies (Linux), even by SIGKILL.
	SpawnIfAbsent bool
	// Lazy returns from Open without waiting for a connection; the health
	// watch connects in the background. Default: false (Open fails if
	// Redis does not answer within DialTimeout).
	Lazy bool

	// TLS, when set, makes the connection TLS (a redis:// URL or Addr is
	// upgraded; a rediss:// URL is TLS without it). Default: nil (TLS only
	// for a rediss:// URL, verified against the built-in web roots).
	TLS *TLSOptions

	// Logger receives the library's log records for this pool (Redis down,
	// up, degraded, reconnect attempts, evictions; a spawned server's
	// start, crash and restart), each with a "pool" attribute carrying the
	// redacted address. Records come from the Rust core at the levels
	// Logger is enabled for (trace maps below slog.LevelDebug). Default:
	// nil (the library logs nothing).
	Logger *slog.Logger
}

func (o *Options) addr() string {
	if o.Addr == "" {
		return "127.0.0.1:6379"
	}
	return o.Addr
}

// url builds the URL the library takes.
func (o *Options) url() (string, error) {
	if o.URL != "" {
		return o.URL, nil
	}
	if _, _, err := net.SplitHostPort(o.addr()); err != nil {
		return "", invalidArgument(fmt.Sprintf("Addr %q: %v", o.addr(), err))
	}
	u := url.URL{Scheme: "redis", Host: o.addr()}
	switch {
	case o.Password != "":
		u.User = url.UserPassword(o.Username, o.Password)
	case o.Username != "":
		u.User = url.User(o.Username)
	}
	if o.DB != 0 {
		u.Path = "/" + strconv.Itoa(o.DB)
	}
	return u.String(), nil
}

// ServerOptions say where to attach to, or start, a local redis-server.
// The zero value means "127.0.0.1:6379 with the defaults".
type ServerOptions struct {
	// Addr is "host:port" with a loopback host. Default: "127.0.0.1:6379".
	// Port 0 always starts a new server on a free port.
	Addr string
	// UnixSocket listens on a unix socket instead of TCP: at UnixPath, or
	// in a private 0700 temporary directory when UnixPath is empty.
	UnixSocket bool
	// UnixPath is the socket path, with UnixSocket.
	UnixPath string
	// Binary is the redis-server binary. Default: $REDKEEP_REDIS_SERVER,
	// then redis-server, then valkey-server on PATH.
	Binary string
	// Dir is the working directory. Default: a private temporary
	// directory removed on Close.
	Dir string
	// Password is the requirepass of a spawned server, and the password
	// used to talk to an attached one.
	Password string
	// Args are extra redis-server arguments ("--maxmemory", "64mb").
	Args []string
	// Persistence keeps RDB snapshots and the AOF. Default: off.
	Persistence bool
	// ReadyTimeout bounds the wait for a spawned server's PONG. Default:
	// 10s; a context deadline shortens it.
	ReadyTimeout time.Duration
	// MaxRestarts of a crashed server within a minute. Default: 5. Set
	// NoRestart to never restart.
	MaxRestarts int
	// NoRestart disables restarts of a crashed server.
	NoRestart bool
	// TLS starts a TLS-only server with a throwaway CA made in its private
	// directory (never attached to an existing one; TCP only; use port 0).
	// Its URL is rediss://; clients trust Server.CACertFile
	// (TLSOptions.CAFile). Default: off.
	TLS bool
	// Guard ties a spawned server to this program's life: "" or "auto"
	// (the platform's guard: the parent-death signal on Linux, a Job
	// Object on Windows, the watchdog elsewhere) or "watchdog" (a forked
	// watchdog process that kills the server when this program dies, even
	// by kill -9; unix only). REDKEEP_GUARD=watchdog in the environment
	// also selects it.
	Guard string
}

func (o *ServerOptions) hostPort() (string, uint16, error) {
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, invalidArgument(fmt.Sprintf("Addr %q: %v", addr, err))
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return "", 0, invalidArgument(fmt.Sprintf("Addr %q: bad port", addr))
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, uint16(port), nil
}

func millis(d time.Duration) uint32 {
	switch {
	case d <= 0:
		return 0
	case d < time.Millisecond:
		return 1
	case d > time.Duration(^uint32(0))*time.Millisecond:
		return ^uint32(0)
	default:
		return uint32((d + time.Millisecond - 1) / time.Millisecond)
	}
}
