package redkeep

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
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

	// Addrs, as in go-redis's UniversalOptions: with MasterName, the
	// sentinels' "host:port" addresses (unless SentinelAddrs is set); else,
	// two or more addresses (or one, with IsClusterMode) are the seed nodes
	// of a Redis Cluster, and one address is the same as Addr. Username and
	// Password log in to every node. Not with URL or Addr.
	Addrs []string
	// IsClusterMode makes a single Addrs entry a Cluster seed, as in
	// go-redis.
	IsClusterMode bool
	// MasterName is the name the sentinels know the master by
	// ("mymaster"); with it the pool finds and follows the master through
	// SentinelAddrs (or Addrs). Username, Password and DB are the master's.
	MasterName string
	// SentinelAddrs are the sentinels' "host:port" addresses (go-redis's
	// FailoverOptions.SentinelAddrs), with MasterName.
	SentinelAddrs []string
	// SentinelUsername and SentinelPassword log in to the sentinels (kept
	// apart from the master's Username and Password). Default: none.
	SentinelUsername string
	// SentinelPassword: see SentinelUsername. Never logged.
	SentinelPassword string

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
	// if this process dies (Linux), even by SIGKILL. One server only: not
	// with URL, Addrs or MasterName.
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

// url builds the URL the library takes (the core parses it: one server,
// redis+sentinel://, or a comma list of cluster nodes).
func (o *Options) url() (string, error) {
	multi := o.multi()
	switch {
	case o.URL != "" && multi:
		return "", invalidArgument("Options.URL cannot be combined with Addrs, MasterName, SentinelAddrs, SentinelUsername, SentinelPassword or IsClusterMode: give one or the other")
	case o.URL != "":
		return o.URL, nil
	case o.Addr != "" && multi:
		return "", invalidArgument("Options.Addr cannot be combined with Addrs, MasterName or SentinelAddrs: use Addrs")
	case o.MasterName != "":
		return o.sentinelURL()
	case len(o.SentinelAddrs) > 0 || o.SentinelUsername != "" || o.SentinelPassword != "":
		return "", invalidArgument("Options.SentinelAddrs, SentinelUsername and SentinelPassword need MasterName")
	case len(o.Addrs) > 1 || (len(o.Addrs) == 1 && o.IsClusterMode):
		return o.clusterURL()
	case o.IsClusterMode:
		return "", invalidArgument("Options.IsClusterMode needs Addrs")
	case len(o.Addrs) == 1:
		return o.singleURL(o.Addrs[0])
	}
	return o.singleURL(o.addr())
}

// multi says whether any Sentinel or Cluster field is set.
func (o *Options) multi() bool {
	return len(o.Addrs) > 0 || o.MasterName != "" || len(o.SentinelAddrs) > 0 ||
		o.SentinelUsername != "" || o.SentinelPassword != "" || o.IsClusterMode
}

// singleURL is redis://[user[:pass]@]addr[/db].
func (o *Options) singleURL(addr string) (string, error) {
	if err := checkAddr("Addr", addr); err != nil {
		return "", err
	}
	u := url.URL{Scheme: "redis", Host: addr}
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

// clusterURL is the core's cluster form: a comma list of redis:// URLs
// (a trailing comma keeps a single seed a cluster).
func (o *Options) clusterURL() (string, error) {
	if o.DB != 0 {
		return "", invalidArgument("Options.DB must be 0 for a Redis Cluster (it has only database 0)")
	}
	var b strings.Builder
	for i, addr := range o.Addrs {
		if err := checkAddr(fmt.Sprintf("Addrs[%d]", i), addr); err != nil {
			return "", err
		}
		b.WriteString("redis://")
		b.WriteString(userinfo(o.Username, o.Password))
		b.WriteString(addr)
		b.WriteByte(',')
	}
	s := b.String()
	if len(o.Addrs) > 1 {
		s = strings.TrimSuffix(s, ",")
	}
	return s, nil
}

// sentinelURL is the core's
// redis+sentinel://[user:pass@]h:p,h:p/master[/db][?sentinel_username=U&sentinel_password=P].
func (o *Options) sentinelURL() (string, error) {
	addrs := o.SentinelAddrs
	switch {
	case len(addrs) > 0 && len(o.Addrs) > 0:
		return "", invalidArgument("Options.SentinelAddrs and Addrs both set with MasterName: give the sentinels once")
	case len(addrs) == 0:
		addrs = o.Addrs
	}
	if len(addrs) == 0 {
		return "", invalidArgument("Options.MasterName needs SentinelAddrs (or Addrs): the sentinels' host:port")
	}
	if o.IsClusterMode {
		return "", invalidArgument("Options.IsClusterMode cannot be combined with MasterName")
	}
	for i, addr := range addrs {
		if err := checkAddr(fmt.Sprintf("SentinelAddrs[%d]", i), addr); err != nil {
			return "", err
		}
	}
	if strings.ContainsAny(o.MasterName, "/?#@,") {
		return "", invalidArgument(fmt.Sprintf("Options.MasterName %q: must not contain / ? # @ or ,", o.MasterName))
	}
	s := "redis+sentinel://" + userinfo(o.Username, o.Password) + strings.Join(addrs, ",") + "/" + o.MasterName
	if o.DB != 0 {
		s += "/" + strconv.Itoa(o.DB)
	}
	var query []string
	if o.SentinelUsername != "" {
		query = append(query, "sentinel_username="+escape(o.SentinelUsername))
	}
	if o.SentinelPassword != "" {
		query = append(query, "sentinel_password="+escape(o.SentinelPassword))
	}
	if len(query) > 0 {
		s += "?" + strings.Join(query, "&")
	}
	return s, nil
}

// checkAddr says whether addr is host:port.
func checkAddr(field, addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return invalidArgument(fmt.Sprintf("%s %q: %v", field, addr, err))
	}
	return nil
}

// userinfo is "user:pass@", "user@" or "", percent-encoded.
func userinfo(user, pass string) string {
	switch {
	case pass != "":
		return escape(user) + ":" + escape(pass) + "@"
	case user != "":
		return escape(user) + "@"
	}
	return ""
}

// escape percent-encodes every byte but RFC 3986's unreserved ones, so a
// credential is safe in a userinfo or a query value alike.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
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
