//! The one error type of the crate, with a kind callers can match on.

use std::fmt;

/// The phase of a request that ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Opening a connection (TCP or unix connect, TLS, `AUTH`/`HELLO`, `SELECT`).
    Connect,
    /// Waiting for a free connection in the exclusive pool.
    Wait,
    /// Waiting for the reply to a command.
    Command,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect",
            Phase::Wait => "pool wait",
            Phase::Command => "command",
        })
    }
}

/// What went wrong, coarse enough to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A phase ran past its timeout; the phase says which.
    Timeout(Phase),
    /// The pool is `Down`: the call failed fast without touching the network.
    Unavailable,
    /// The connection failed: refused, reset, closed, authentication refused,
    /// or the peer did not speak the Redis protocol.
    Connection,
    /// The server answered with an error reply (`-ERR ...`, `WRONGTYPE ...`).
    Response,
    /// The pool was closed.
    Closed,
    /// The configuration is invalid (bad URL, unknown scheme, `max_size = 0`, ...).
    Config,
    /// A local `redis-server` could not be started or supervised.
    Spawn,
    /// An operating-system I/O error outside a Redis connection.
    Io,
    /// The pool refused the command without sending it: it changes the
    /// state of the connection it runs on (`SELECT`, `MULTI`, `WATCH`,
    /// `SUBSCRIBE`, `CLIENT SETNAME`, ...), which other callers share. The
    /// message names the tool to use instead. See
    /// [`CommandClass::ConnectionState`](crate::CommandClass::ConnectionState).
    Refused,
}

/// The language a caller uses redkeep from, for [`Error::message_in`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Language {
    /// The Rust crate.
    Rust,
    /// The C ABI.
    C,
    /// The Go package.
    Go,
    /// The Python package.
    Python,
    /// The `redkeep` command line.
    Cli,
}

/// A setting an error can be about, named in each language's own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Param {
    /// The `redis-server` binary to start.
    ServerBinary,
    /// The TCP host a local server binds.
    ServerHost,
    /// The TCP port a local server listens on.
    ServerPort,
    /// Whether a local server listens on a unix socket instead of TCP.
    ServerUnixSocket,
    /// The path of a local server's unix socket.
    ServerUnixPath,
    /// A local server's data directory.
    ServerDir,
    /// A local server's password (`requirepass`).
    ServerPassword,
    /// Extra `redis-server` arguments.
    ServerArgs,
    /// How long a spawned server may take to answer `PONG`.
    ServerReadyTimeout,
    /// The window over which a spawned server's restarts are counted.
    ServerRestartWindow,
    /// How a spawned server is tied to its owner ([`Guard`](crate::Guard)).
    ServerGuard,
    /// The most exclusive connections a pool opens (`pool.max_size`).
    PoolMaxSize,
    /// Exclusive connections kept open while Redis is up (`pool.min_idle`).
    PoolMinIdle,
    /// Shared multiplexed connections (`pool.multiplexed`).
    PoolMultiplexed,
    /// The connect timeout (`timeouts.connect`).
    TimeoutConnect,
    /// The wait for a free exclusive connection (`timeouts.wait`).
    TimeoutWait,
    /// The wait for a reply (`timeouts.command`).
    TimeoutCommand,
    /// The time between two health probes (`health.interval`).
    HealthInterval,
    /// How long a health probe waits for `PONG` (`health.timeout`).
    HealthTimeout,
    /// Failed probes in a row that turn a pool down
    /// (`health.failures_before_down`).
    HealthFailuresBeforeDown,
    /// The first reconnect delay (`backoff.initial`).
    BackoffInitial,
    /// The largest reconnect delay (`backoff.max`).
    BackoffMax,
    /// The growth factor between reconnect delays (`backoff.multiplier`).
    BackoffMultiplier,
    /// The random fraction of each reconnect delay (`backoff.jitter`).
    BackoffJitter,
    /// How long reconnecting goes on without success (`backoff.max_elapsed`).
    BackoffMaxElapsed,
    /// The TLS client certificate for mutual TLS (`TlsConfig::client_cert`).
    TlsClientCert,
    /// The TLS client certificate's private key (`TlsConfig::client_key`).
    TlsClientKey,
}

impl Param {
    /// Every setting, in declaration order (more may come: `Param` is
    /// non-exhaustive).
    pub const ALL: &'static [Param] = &[
        Param::ServerBinary,
        Param::ServerHost,
        Param::ServerPort,
        Param::ServerUnixSocket,
        Param::ServerUnixPath,
        Param::ServerDir,
        Param::ServerPassword,
        Param::ServerArgs,
        Param::ServerReadyTimeout,
        Param::ServerRestartWindow,
        Param::ServerGuard,
        Param::PoolMaxSize,
        Param::PoolMinIdle,
        Param::PoolMultiplexed,
        Param::TimeoutConnect,
        Param::TimeoutWait,
        Param::TimeoutCommand,
        Param::HealthInterval,
        Param::HealthTimeout,
        Param::HealthFailuresBeforeDown,
        Param::BackoffInitial,
        Param::BackoffMax,
        Param::BackoffMultiplier,
        Param::BackoffJitter,
        Param::BackoffMaxElapsed,
        Param::TlsClientCert,
        Param::TlsClientKey,
    ];

    /// How `language` names this setting: a field, option or flag the
    /// caller writes, or, where that language has none, a short
    /// description ("the restart window").
    pub fn name(self, language: Language) -> &'static str {
        use Language::*;
        match (self, language) {
            (Param::ServerBinary, Rust) => "ServerConfig::binary",
            (Param::ServerBinary, C) => "redkeep_server_options.binary",
            (Param::ServerBinary, Go) => "ServerOptions.Binary",
            (Param::ServerBinary, Python) => "binary=",
            (Param::ServerBinary, Cli) => "--redis-server",
            (Param::ServerHost, Rust) => "ServerAddr::Tcp::host",
            (Param::ServerHost, C) => "redkeep_server_options.host",
            (Param::ServerHost, Go) => "the host in ServerOptions.Addr",
            (Param::ServerHost, Python) => "host=",
            (Param::ServerHost, Cli) => "--bind",
            (Param::ServerPort, Rust) => "ServerAddr::Tcp::port",
            (Param::ServerPort, C) => "redkeep_server_options.port",
            (Param::ServerPort, Go) => "the port in ServerOptions.Addr",
            (Param::ServerPort, Python) => "port=",
            (Param::ServerPort, Cli) => "--port",
            (Param::ServerUnixSocket, Rust) => "ServerAddr::Unix",
            (Param::ServerUnixSocket, C) => "redkeep_server_options.unix_socket",
            (Param::ServerUnixSocket, Go) => "ServerOptions.UnixSocket",
            (Param::ServerUnixSocket, Python) => "unix_socket=",
            (Param::ServerUnixSocket, Cli) => "--unix",
            (Param::ServerUnixPath, Rust) => "the path of ServerAddr::Unix",
            (Param::ServerUnixPath, C) => "redkeep_server_options.unix_path",
            (Param::ServerUnixPath, Go) => "ServerOptions.UnixPath",
            (Param::ServerUnixPath, Python) => "the path given as unix_socket=",
            // `--unix` always makes a fresh private directory.
            (Param::ServerUnixPath, Cli) => "the socket path of --unix",
            (Param::ServerDir, Rust) => "ServerConfig::dir",
            (Param::ServerDir, C) => "redkeep_server_options.dir",
            (Param::ServerDir, Go) => "ServerOptions.Dir",
            (Param::ServerDir, Python) => "dir=",
            (Param::ServerDir, Cli) => "--dir",
            (Param::ServerPassword, Rust) => "ServerConfig::password",
            (Param::ServerPassword, C) => "redkeep_server_options.password",
            (Param::ServerPassword, Go) => "ServerOptions.Password",
            (Param::ServerPassword, Python) => "password=",
            (Param::ServerPassword, Cli) => "--password",
            (Param::ServerArgs, Rust) => "ServerConfig::args",
            (Param::ServerArgs, C) => "redkeep_server_options.args",
            (Param::ServerArgs, Go) => "ServerOptions.Args",
            (Param::ServerArgs, Python) => "args=",
            (Param::ServerArgs, Cli) => "the redis-server arguments after `--`",
            (Param::ServerReadyTimeout, Rust) => "ServerConfig::ready_timeout",
            (Param::ServerReadyTimeout, C) => "redkeep_server_options.ready_timeout_ms",
            (Param::ServerReadyTimeout, Go) => "ServerOptions.ReadyTimeout",
            (Param::ServerReadyTimeout, Python) => "ready_timeout=",
            (Param::ServerReadyTimeout, Cli) => "--ready-timeout",
            (Param::ServerRestartWindow, Rust) => "RestartPolicy::window",
            (Param::ServerRestartWindow, C) => "redkeep_server_options.restart_window_ms",
            // Go, Python and the CLI keep the default window (60 s).
            (Param::ServerRestartWindow, Go | Python | Cli) => "the restart window",
            (Param::ServerGuard, Rust) => "ServerConfig::guard",
            (Param::ServerGuard, C) => "redkeep_server_options.guard",
            (Param::ServerGuard, Go) => "ServerOptions.Guard",
            (Param::ServerGuard, Python) => "guard=",
            (Param::ServerGuard, Cli) => "--guard",
            // Pool settings: the Rust names are `Config`'s field paths. Go,
            // Python and the CLI describe the settings they have no option
            // for (their defaults are always valid).
            (Param::PoolMaxSize, Rust) => "pool.max_size",
            (Param::PoolMaxSize, C) => "redkeep_pool_options.max_size",
            (Param::PoolMaxSize, Go) => "Options.PoolSize",
            (Param::PoolMaxSize, Python) => "max_connections=",
            (Param::PoolMaxSize, Cli) => "the pool size",
            (Param::PoolMinIdle, Rust) => "pool.min_idle",
            (Param::PoolMinIdle, C) => "redkeep_pool_options.min_idle",
            (Param::PoolMinIdle, Go | Python | Cli) => "the idle-connection minimum",
            (Param::PoolMultiplexed, Rust) => "pool.multiplexed",
            (Param::PoolMultiplexed, C) => "redkeep_pool_options.multiplexed",
            (Param::PoolMultiplexed, Go | Python | Cli) => "the shared-connection count",
            (Param::TimeoutConnect, Rust) => "timeouts.connect",
            (Param::TimeoutConnect, C) => "redkeep_pool_options.connect_timeout_ms",
            (Param::TimeoutConnect, Go) => "Options.DialTimeout",
            (Param::TimeoutConnect, Python) => "socket_connect_timeout=",
            (Param::TimeoutConnect, Cli) => "the connect timeout",
            (Param::TimeoutWait, Rust) => "timeouts.wait",
            (Param::TimeoutWait, C) => "redkeep_pool_options.wait_timeout_ms",
            (Param::TimeoutWait, Go) => "Options.PoolTimeout",
            (Param::TimeoutWait, Python) => "pool_timeout=",
            (Param::TimeoutWait, Cli) => "the pool wait timeout",
            (Param::TimeoutCommand, Rust) => "timeouts.command",
            (Param::TimeoutCommand, C) => "redkeep_pool_options.command_timeout_ms",
            (Param::TimeoutCommand, Go) => "Options.ReadTimeout",
            (Param::TimeoutCommand, Python) => "socket_timeout=",
            (Param::TimeoutCommand, Cli) => "the command timeout",
            (Param::HealthInterval, Rust) => "health.interval",
            (Param::HealthInterval, C) => "redkeep_pool_options.health_interval_ms",
            (Param::HealthInterval, Go) => "Options.HealthCheckInterval",
            (Param::HealthInterval, Python) => "health_check_interval=",
            (Param::HealthInterval, Cli) => "the health check interval",
            (Param::HealthTimeout, Rust) => "health.timeout",
            (Param::HealthTimeout, C) => "redkeep_pool_options.health_timeout_ms",
            (Param::HealthTimeout, Go | Python | Cli) => "the health probe timeout",
            (Param::HealthFailuresBeforeDown, Rust) => "health.failures_before_down",
            (Param::HealthFailuresBeforeDown, C) => {
                "redkeep_pool_options.health_failures_before_down"
            }
            (Param::HealthFailuresBeforeDown, Go | Python | Cli) => {
                "the number of failed probes before down"
            }
            (Param::BackoffInitial, Rust) => "backoff.initial",
            (Param::BackoffInitial, C) => "redkeep_pool_options.backoff_initial_ms",
            (Param::BackoffInitial, Go) => "Options.MinRetryBackoff",
            (Param::BackoffInitial, Python) => "retry_backoff_min=",
            (Param::BackoffInitial, Cli) => "the first reconnect delay",
            (Param::BackoffMax, Rust) => "backoff.max",
            (Param::BackoffMax, C) => "redkeep_pool_options.backoff_max_ms",
            (Param::BackoffMax, Go) => "Options.MaxRetryBackoff",
            (Param::BackoffMax, Python) => "retry_backoff_max=",
            (Param::BackoffMax, Cli) => "the largest reconnect delay",
            (Param::BackoffMultiplier, Rust) => "backoff.multiplier",
            (Param::BackoffMultiplier, C) => "redkeep_pool_options.backoff_multiplier",
            (Param::BackoffMultiplier, Go | Python | Cli) => "the reconnect backoff multiplier",
            (Param::BackoffJitter, Rust) => "backoff.jitter",
            (Param::BackoffJitter, C) => "redkeep_pool_options.backoff_jitter",
            (Param::BackoffJitter, Go | Python | Cli) => "the reconnect backoff jitter",
            (Param::BackoffMaxElapsed, Rust) => "backoff.max_elapsed",
            (Param::BackoffMaxElapsed, C) => "redkeep_pool_options.backoff_max_elapsed_ms",
            (Param::BackoffMaxElapsed, Go | Python | Cli) => "the reconnect give-up time",
            (Param::TlsClientCert, Rust) => "TlsConfig::client_cert",
            (Param::TlsClientCert, C) => "redkeep_pool_options.tls_cert_file",
            (Param::TlsClientCert, Go) => "TLSOptions.CertFile",
            (Param::TlsClientCert, Python) => "ssl_certfile=",
            (Param::TlsClientCert, Cli) => "the TLS client certificate",
            (Param::TlsClientKey, Rust) => "TlsConfig::client_key",
            (Param::TlsClientKey, C) => "redkeep_pool_options.tls_key_file",
            (Param::TlsClientKey, Go) => "TLSOptions.KeyFile",
            (Param::TlsClientKey, Python) => "ssl_keyfile=",
            (Param::TlsClientKey, Cli) => "the TLS client key",
        }
    }
}

/// The error type of every fallible redkeep call.
///
/// Its `Display` says what failed in one line and never contains a password.
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// The settings `message` names the Rust way; the first is the one the
    /// error is about.
    params: Vec<Param>,
    /// A tail of `message` that only Rust callers can act on (it names
    /// Rust items); other languages' messages leave it out.
    rust_only: Option<&'static str>,
    /// Whether the connection broke before the command was written (a
    /// failed connect): such a command may be sent without any risk.
    unsent: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            params: Vec::new(),
            rust_only: None,
            unsent: false,
            source: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn timeout(phase: Phase, after: std::time::Duration) -> Self {
        Self::new(
            ErrorKind::Timeout(phase),
            format!(
                "{phase} timed out after {}",
                crate::util::fmt_duration(after)
            ),
        )
    }

    pub(crate) fn unavailable(reason: Option<&str>) -> Self {
        let message = match reason {
            Some(reason) => format!("redis is unavailable (pool is down: {reason})"),
            None => "redis is unavailable (pool is down)".to_owned(),
        };
        Self::new(ErrorKind::Unavailable, message)
    }

    /// A per-call timeout (bounding the whole call) ran out.
    pub(crate) fn call_timeout(after: std::time::Duration) -> Self {
        Self::new(
            ErrorKind::Timeout(Phase::Command),
            format!(
                "the call timed out after {} (per-call timeout)",
                crate::util::fmt_duration(after)
            ),
        )
    }

    pub(crate) fn closed_during_call() -> Self {
        Self::new(ErrorKind::Closed, "the pool was closed during the call")
    }

    pub(crate) fn closed() -> Self {
        Self::new(ErrorKind::Closed, "the pool is closed")
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// Marks the error as being about `param`, whose Rust name
    /// (`param.name(Language::Rust)`) appears in the message.
    pub(crate) fn with_param(mut self, param: Param) -> Self {
        self.params.retain(|p| *p != param);
        self.params.insert(0, param);
        self
    }

    /// Marks a further setting the message names the Rust way (as in
    /// "pool.min_idle (4) exceeds pool.max_size (2)"); [`Error::param`]
    /// stays the one set by `with_param`.
    pub(crate) fn also_naming(mut self, param: Param) -> Self {
        if !self.params.contains(&param) {
            self.params.push(param);
        }
        self
    }

    /// Appends `tail` to the message for Rust callers only.
    pub(crate) fn with_rust_hint(mut self, tail: &'static str) -> Self {
        self.message.push_str(tail);
        self.rust_only = Some(tail);
        self
    }

    /// The setting this error is about, if any.
    pub fn param(&self) -> Option<Param> {
        self.params.first().copied()
    }

    /// The message with the settings it names named as `language` names
    /// them (`binary=` in Python, `ServerOptions.Binary` in Go, ...).
    ///
    /// A Rust name is replaced only where it stands whole: `backoff.max`
    /// is not touched inside `backoff.max_elapsed`, nor `backoff.initial`
    /// inside `RestartPolicy::backoff.initial`.
    pub fn message_in(&self, language: Language) -> String {
        if language == Language::Rust {
            return self.message.clone();
        }
        let message = match self.rust_only {
            Some(tail) => self.message.strip_suffix(tail).unwrap_or(&self.message),
            None => &self.message,
        };
        rename_params(message, &self.params, language)
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether a phase timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout(_))
    }

    /// Whether the pool was `Down` and failed fast.
    pub fn is_unavailable(&self) -> bool {
        self.kind == ErrorKind::Unavailable
    }

    /// Whether trying again later may succeed (timeouts, unavailability,
    /// connection failures other than a refused password). A caller decides
    /// whether its command is safe to repeat: redkeep never repeats a write.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            ErrorKind::Timeout(_) | ErrorKind::Unavailable => true,
            ErrorKind::Connection => !self.message.contains("authentication"),
            _ => false,
        }
    }

    /// Maps a redis-rs error met while talking on an established connection.
    pub(crate) fn from_redis(err: redis::RedisError, phase: Phase) -> Self {
        use redis::ErrorKind as K;
        if PoolClosed::is(&err) {
            return Error::closed_during_call();
        }
        // `NOAUTH` (no password given) and `WRONGPASS` are server replies,
        // but what they mean is a refused login.
        let refused_login = matches!(err.code(), Some("NOAUTH" | "WRONGPASS"));
        let kind = match err.kind() {
            _ if refused_login => ErrorKind::Connection,
            K::Server(_) | K::Extension => ErrorKind::Response,
            K::InvalidClientConfig => ErrorKind::Config,
            K::UnexpectedReturnType => ErrorKind::Response,
            _ if err.is_timeout() => ErrorKind::Timeout(phase),
            _ => ErrorKind::Connection,
        };
        let message = match (kind, err.kind()) {
            (ErrorKind::Response, K::UnexpectedReturnType) => {
                format!("unexpected reply type: {err}")
            }
            // The server's own words, as `redis-cli` shows them.
            (ErrorKind::Response, _) => match (err.code(), err.detail()) {
                (Some(code), Some(detail)) => format!("{code} {detail}"),
                (Some(code), None) => code.to_owned(),
                _ => err.to_string(),
            },
            (ErrorKind::Timeout(p), _) => format!("{p} timed out: {err}"),
            (_, K::AuthenticationFailed) => {
                format!("authentication failed (wrong user or password?): {err}")
            }
            _ if refused_login => {
                format!("authentication failed (password required or wrong?): {err}")
            }
            (_, K::Parse) => format!(
                "the peer does not speak the Redis protocol (is this a Redis server?): {err}"
            ),
            (_, _) if phase == Phase::Connect => format!("cannot connect: {err}"),
            _ => format!("connection error: {err}"),
        };
        Self::new(kind, message).with_source(err)
    }

    /// Whether this error means the connection it happened on is unusable.
    pub(crate) fn breaks_connection(&self) -> bool {
        self.kind == ErrorKind::Connection
    }

    /// Marks a connect's error: nothing was sent.
    pub(crate) fn before_send(mut self) -> Self {
        self.unsent = true;
        self
    }

    /// Whether a read-only command that met this error may be sent again:
    /// it was sent and its connection dropped. (A failed connect is not
    /// repeated: the health watch owns reconnecting.)
    pub(crate) fn allows_resend(&self) -> bool {
        self.breaks_connection() && !self.unsent
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("params", &self.params)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Whether `c` continues a Rust name (an identifier character).
fn continues_name(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `message` with each whole occurrence of a param's Rust name replaced by
/// its name in `language`, in one pass (a replacement is never rewritten
/// again, and where two Rust names start at the same place the longer wins).
fn rename_params(message: &str, params: &[Param], language: Language) -> String {
    let mut params = params.to_vec();
    params.sort_by_key(|p| std::cmp::Reverse(p.name(Language::Rust).len()));
    // Whole: not preceded by a name or a path (`x.`, `X::`), and not
    // followed by more of a name or of a path (`_elapsed`, `.host`).
    let whole_at = |i: usize, rust: &str| {
        let Some(after) = message[i..].strip_prefix(rust) else {
            return false;
        };
        let before = message[..i].chars().next_back();
        let after_path = after
            .strip_prefix("::")
            .or_else(|| after.strip_prefix('.'))
            .unwrap_or("");
        !before.is_some_and(|c| continues_name(c) || c == '.' || c == ':')
            && !after.chars().next().is_some_and(continues_name)
            && !after_path.chars().next().is_some_and(continues_name)
    };
    let mut out = String::with_capacity(message.len());
    let mut i = 0;
    while let Some(c) = message[i..].chars().next() {
        match params.iter().find(|p| whole_at(i, p.name(Language::Rust))) {
            Some(p) => {
                out.push_str(p.name(language));
                i += p.name(Language::Rust).len();
            }
            None => {
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// The cause inside the redis-rs error that a command on an exclusive
/// connection returns when `Pool::close` ends it, so that converting it
/// gives `Closed` again.
#[derive(Debug)]
pub(crate) struct PoolClosed;

impl PoolClosed {
    const TEXT: &'static str = "the pool was closed during the call (redkeep)";

    pub(crate) fn into_redis(self) -> redis::RedisError {
        redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            self,
        ))
    }

    /// redis-rs keeps the cause behind an `Arc` it does not expose, so the
    /// mark is found by its text (which no server or socket error has).
    fn is(err: &redis::RedisError) -> bool {
        err.kind() == redis::ErrorKind::Io && err.to_string().contains(PoolClosed::TEXT)
    }
}

impl fmt::Display for PoolClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PoolClosed::TEXT)
    }
}

impl std::error::Error for PoolClosed {}

/// Maps an error from a redis-rs call (for example on a connection from
/// [`Pool::get`](crate::Pool::get)) as if it happened while waiting for a
/// reply: a server error reply is `Response`, a reply timeout is
/// `Timeout(Command)`, a refused login or a dropped connection is
/// `Connection`.
impl From<redis::RedisError> for Error {
    fn from(err: redis::RedisError) -> Self {
        Error::from_redis(err, Phase::Command)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, err.to_string()).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_names_its_phase() {
        let e = Error::timeout(Phase::Wait, std::time::Duration::from_millis(250));
        assert_eq!(e.kind(), ErrorKind::Timeout(Phase::Wait));
        assert_eq!(e.to_string(), "pool wait timed out after 250ms");
        assert!(e.is_timeout() && e.is_retryable() && !e.is_unavailable());
    }

    const LANGUAGES: [Language; 5] = [
        Language::Rust,
        Language::C,
        Language::Go,
        Language::Python,
        Language::Cli,
    ];

    /// A new variant fails to compile here until it is listed, here and in
    /// [`Param::ALL`].
    fn listed(p: Param) {
        match p {
            Param::ServerBinary
            | Param::ServerHost
            | Param::ServerPort
            | Param::ServerUnixSocket
            | Param::ServerUnixPath
            | Param::ServerDir
            | Param::ServerPassword
            | Param::ServerArgs
            | Param::ServerReadyTimeout
            | Param::ServerRestartWindow
            | Param::ServerGuard
            | Param::PoolMaxSize
            | Param::PoolMinIdle
            | Param::PoolMultiplexed
            | Param::TimeoutConnect
            | Param::TimeoutWait
            | Param::TimeoutCommand
            | Param::HealthInterval
            | Param::HealthTimeout
            | Param::HealthFailuresBeforeDown
            | Param::BackoffInitial
            | Param::BackoffMax
            | Param::BackoffMultiplier
            | Param::BackoffJitter
            | Param::BackoffMaxElapsed
            | Param::TlsClientCert
            | Param::TlsClientKey => {}
        }
    }

    #[test]
    fn every_param_has_a_distinct_name_in_each_language() {
        assert_eq!(Param::ALL.len(), 27, "Param::ALL lists every variant once");
        for language in LANGUAGES {
            let mut seen = std::collections::HashMap::new();
            for &p in Param::ALL {
                listed(p);
                let name = p.name(language);
                assert!(!name.trim().is_empty(), "{p:?} in {language:?}");
                if let Some(other) = seen.insert(name, p) {
                    panic!("{p:?} and {other:?} are both {name:?} in {language:?}");
                }
            }
        }
    }

    #[test]
    fn message_in_names_the_param_as_each_language_does() {
        for &p in Param::ALL {
            let rust = p.name(Language::Rust);
            let e = Error::config(format!("bad {rust}: fix {rust}.")).with_param(p);
            assert_eq!(e.param(), Some(p));
            assert_eq!(e.message_in(Language::Rust), e.message());
            for language in LANGUAGES {
                let name = p.name(language);
                assert_eq!(
                    e.message_in(language),
                    format!("bad {name}: fix {name}."),
                    "{p:?} in {language:?}"
                );
            }
        }
        let plain = Error::config("ServerConfig::binary, unmarked");
        assert_eq!(plain.message_in(Language::Go), plain.message());
    }

    #[test]
    fn message_in_replaces_only_whole_names() {
        let e = Error::config(
            "backoff.max (1s) and backoff.max_elapsed, RestartPolicy::backoff.max, \
             xbackoff.max, backoff.max.x, `backoff.max`",
        )
        .with_param(Param::BackoffMax);
        assert_eq!(
            e.message_in(Language::Go),
            "Options.MaxRetryBackoff (1s) and backoff.max_elapsed, RestartPolicy::backoff.max, \
             xbackoff.max, backoff.max.x, `Options.MaxRetryBackoff`"
        );
    }

    #[test]
    fn message_in_renames_every_setting_a_message_names() {
        let e = Error::config("pool.min_idle (4) exceeds pool.max_size (2)")
            .with_param(Param::PoolMinIdle)
            .also_naming(Param::PoolMaxSize);
        assert_eq!(e.param(), Some(Param::PoolMinIdle));
        assert_eq!(
            e.message_in(Language::C),
            "redkeep_pool_options.min_idle (4) exceeds redkeep_pool_options.max_size (2)"
        );
        assert_eq!(
            e.message_in(Language::Python),
            "the idle-connection minimum (4) exceeds max_connections= (2)"
        );
        // Where one Rust name starts another, the longer one wins; a
        // replacement is never rewritten again.
        let e = Error::config("ServerAddr::Unix or the path of ServerAddr::Unix")
            .with_param(Param::ServerUnixSocket)
            .also_naming(Param::ServerUnixPath);
        assert_eq!(
            e.message_in(Language::Go),
            "ServerOptions.UnixSocket or ServerOptions.UnixPath"
        );
    }

    #[test]
    fn config_errors_are_not_retryable() {
        assert!(!Error::config("bad").is_retryable());
        assert!(Error::unavailable(None).is_retryable());
    }
}
