//! What to start, where, and how to keep it running.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::addr::ServerAddr;
use crate::backoff::Backoff;
use crate::error::{Error, Result};

/// How a crashed spawned server is restarted.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartPolicy {
    /// Restarts allowed within `window`; one more crash and the supervisor
    /// gives up. `0` never restarts.
    ///
    /// Default: `5`.
    pub max_restarts: u32,
    /// The sliding window over which restarts are counted.
    ///
    /// Default: 60 s.
    pub window: Duration,
    /// Delay before each restart.
    ///
    /// Default: 100 ms, doubling up to 5 s, jitter 0.5.
    pub backoff: Backoff,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            max_restarts: 5,
            window: Duration::from_secs(60),
            backoff: Backoff {
                initial: Duration::from_millis(100),
                max: Duration::from_secs(5),
                ..Backoff::default()
            },
        }
    }
}

/// A local `redis-server` to attach to or start.
#[derive(Clone)]
pub struct ServerConfig {
    /// Where it listens.
    ///
    /// Default: TCP `127.0.0.1:6379`.
    pub addr: ServerAddr,
    /// The `redis-server` binary. `None` looks at the `REDKEEP_REDIS_SERVER`
    /// environment variable, then for `redis-server` on `PATH`.
    ///
    /// Default: `None`.
    pub binary: Option<PathBuf>,
    /// Extra arguments, as `redis-server` takes them (`["--maxmemory", "64mb"]`).
    ///
    /// Default: none.
    pub args: Vec<String>,
    /// Working directory for data and the log. `None` makes a private
    /// temporary directory, removed on shutdown.
    ///
    /// Default: `None`.
    pub dir: Option<PathBuf>,
    /// Keep data: on leaves redis-server's own snapshot settings (and lets
    /// a graceful stop save); off means `save ""` and `appendonly no`.
    ///
    /// Default: `false`.
    pub persistence: bool,
    /// `requirepass` for a spawned server, and the password used to talk to
    /// an attached one. Never logged.
    ///
    /// Default: `None`.
    pub password: Option<String>,
    /// How long a spawned server may take to answer `PONG`.
    ///
    /// Default: 10 s.
    pub ready_timeout: Duration,
    /// What to do when a spawned server crashes.
    pub restart: RestartPolicy,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: ServerAddr::default(),
            binary: None,
            args: Vec::new(),
            dir: None,
            persistence: false,
            password: None,
            ready_timeout: Duration::from_secs(10),
            restart: RestartPolicy::default(),
        }
    }
}

impl ServerConfig {
    /// A TCP server on `127.0.0.1:port` (`0` picks a free port).
    pub fn tcp(port: u16) -> Self {
        Self {
            addr: ServerAddr::Tcp {
                host: "127.0.0.1".to_owned(),
                port,
            },
            ..Self::default()
        }
    }
}

impl ServerConfig {
    /// A server on a unix socket named `redis.sock` in a private (0700)
    /// temporary directory, removed on shutdown.
    pub fn unix() -> Self {
        Self {
            addr: ServerAddr::Unix(None),
            ..Self::default()
        }
    }

    /// Checks the configuration without touching the network: a TCP host
    /// is a loopback address (a spawned server must not be reachable from
    /// other machines), `ready_timeout` is non-zero, the restart backoff is
    /// sane.
    pub fn validate(&self) -> Result<()> {
        if let ServerAddr::Tcp { host, .. } = &self.addr {
            if !self.addr.is_loopback() {
                return Err(Error::config(format!(
                    "ServerConfig::addr host {host:?} is not a loopback address \
                     (use 127.0.0.1, ::1 or localhost)"
                )));
            }
        }
        #[cfg(not(unix))]
        if let ServerAddr::Unix(_) = &self.addr {
            return Err(Error::config(
                "ServerConfig::addr: unix sockets are not supported on this platform",
            ));
        }
        if self.ready_timeout.is_zero() {
            return Err(Error::config(
                "ServerConfig::ready_timeout must be greater than zero",
            ));
        }
        if self.restart.window.is_zero() {
            return Err(Error::config(
                "RestartPolicy::window must be greater than zero",
            ));
        }
        self.restart.backoff.validate()
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("addr", &self.addr)
            .field("binary", &self.binary)
            .field("args", &self.args)
            .field("dir", &self.dir)
            .field("persistence", &self.persistence)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("ready_timeout", &self.ready_timeout)
            .field("restart", &self.restart)
            .finish()
    }
}
