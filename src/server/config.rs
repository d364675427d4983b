//! What to start, where, and how to keep it running.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::addr::ServerAddr;
use crate::backoff::Backoff;
use crate::error::{Error, Param, Result};

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

/// How a spawned server is tied to its owner's life.
///
/// See the [module docs](crate::server) for what each guard guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Guard {
    /// The platform's strongest guard: `PR_SET_PDEATHSIG` on Linux, a Job
    /// Object on Windows, the [`Guard::Watchdog`] on every other unix
    /// (macOS, the BSDs). The environment variable `REDKEEP_GUARD=watchdog`
    /// turns `Auto` into `Watchdog` (so a test run can cover that path).
    #[default]
    Auto,
    /// A forked watchdog process between the owner and the server, on every
    /// unix: it blocks on a pipe only the owner can write, and when the
    /// owner is gone (EOF, however it ended, `kill -9` included) it stops
    /// the server (SIGTERM, SIGKILL after a short deadline). It forwards
    /// SIGTERM, SIGINT and SIGHUP to the server and exits with the server's
    /// status. Not available on Windows (a [`ServerConfig::validate`]
    /// error).
    Watchdog,
}

impl Guard {
    /// The guard named `name`: `"auto"` or `"watchdog"` (the names the CLI's
    /// `--guard`, the C, Go and Python options and `REDKEEP_GUARD` take).
    ///
    /// ```
    /// assert_eq!(redkeep::Guard::parse("watchdog").unwrap(), redkeep::Guard::Watchdog);
    /// assert!(redkeep::Guard::parse("pdeathsig").is_err());
    /// ```
    pub fn parse(name: &str) -> Result<Guard> {
        match name {
            "auto" => Ok(Guard::Auto),
            "watchdog" => Ok(Guard::Watchdog),
            other => Err(Error::config(format!(
                "ServerConfig::guard is {other:?}; expected \"auto\" or \"watchdog\""
            ))
            .with_param(Param::ServerGuard)),
        }
    }

    /// The guard to use: `self`, or with `Auto`, `REDKEEP_GUARD` from the
    /// environment (`auto`, `watchdog`; unset or empty is `auto`).
    pub(crate) fn resolve(self) -> Result<Guard> {
        if self != Guard::Auto {
            return Ok(self);
        }
        match std::env::var("REDKEEP_GUARD").as_deref() {
            Err(_) | Ok("") => Ok(Guard::Auto),
            Ok(name) => Guard::parse(name).map_err(|_| {
                Error::config(format!(
                    "REDKEEP_GUARD is {name:?}; expected \"auto\" or \"watchdog\""
                ))
            }),
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
    /// The `redis-server` (or `valkey-server`) binary. `None` looks at the
    /// `REDKEEP_REDIS_SERVER` environment variable, then for `redis-server`
    /// on `PATH`, then for `valkey-server` on `PATH`.
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
    /// Serve TLS only (crate feature `tls`): a throwaway CA and server
    /// certificate are made in the private directory, and the server
    /// listens with `port 0` and `tls-port` on the TCP address (clients need
    /// no certificate of their own). A TLS config always spawns: it never
    /// attaches to a Redis already at the address (a fixed port that is
    /// taken is an "address in use" error). Clients connect with
    /// [`LocalServer::url`](super::LocalServer::url) (`rediss://`) and
    /// [`LocalServer::client_tls`](super::LocalServer::client_tls) (the CA).
    /// TCP only: redis-server serves TLS on no unix socket.
    ///
    /// Default: `false`.
    pub tls: bool,
    /// How the server is tied to its owner's life ([`Guard`]).
    ///
    /// Default: [`Guard::Auto`].
    pub guard: Guard,
    /// How long a graceful stop (`SHUTDOWN`, with `SAVE` when `persistence`
    /// is on) may take before the server is killed.
    ///
    /// Default: 10 s.
    pub stop_timeout: Duration,
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
            tls: false,
            guard: Guard::Auto,
            stop_timeout: Duration::from_secs(10),
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
    /// A TLS-only server on a free port of `127.0.0.1`, with a throwaway CA
    /// (crate feature `tls`; see [`ServerConfig::tls`](#structfield.tls)).
    pub fn tls() -> Self {
        Self {
            tls: true,
            ..Self::tcp(0)
        }
    }

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
    /// other machines), a password is not empty, `ready_timeout` is
    /// non-zero, the restart backoff is sane. Each error is marked with the
    /// [`Param`] it names.
    pub fn validate(&self) -> Result<()> {
        if let ServerAddr::Tcp { host, .. } = &self.addr {
            if !self.addr.is_loopback() {
                return Err(Error::config(format!(
                    "ServerAddr::Tcp::host is {host:?}, not a loopback address \
                     (use 127.0.0.1, ::1 or localhost)"
                ))
                .with_param(Param::ServerHost));
            }
        }
        #[cfg(not(unix))]
        if let ServerAddr::Unix(_) = &self.addr {
            return Err(Error::config(
                "ServerAddr::Unix: unix sockets are not supported on this platform",
            )
            .with_param(Param::ServerUnixSocket));
        }
        if self.tls {
            if !cfg!(feature = "tls") {
                return Err(Error::config(
                    "ServerConfig::tls is set, but redkeep was built without its `tls` feature",
                ));
            }
            if let ServerAddr::Unix(_) = &self.addr {
                return Err(Error::config(
                    "ServerConfig::tls needs a TCP address: redis-server serves TLS on TCP only, \
                     not on ServerAddr::Unix",
                ));
            }
        }
        let guard = self.guard.resolve()?;
        if cfg!(windows) && guard == Guard::Watchdog {
            return Err(Error::config(
                "ServerConfig::guard is Guard::Watchdog, which is unix only \
                 (Windows uses a Job Object: Guard::Auto)",
            )
            .with_param(Param::ServerGuard));
        }
        if self.password.as_deref() == Some("") {
            return Err(Error::config(
                "ServerConfig::password is empty (leave it unset for a server without a password)",
            )
            .with_param(Param::ServerPassword));
        }
        if self.ready_timeout.is_zero() {
            return Err(
                Error::config("ServerConfig::ready_timeout must be greater than zero")
                    .with_param(Param::ServerReadyTimeout),
            );
        }
        if self.restart.window.is_zero() {
            return Err(
                Error::config("RestartPolicy::window must be greater than zero")
                    .with_param(Param::ServerRestartWindow),
            );
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
            .field("tls", &self.tls)
            .field("guard", &self.guard)
            .field("stop_timeout", &self.stop_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorKind, Language};

    #[test]
    fn validation_errors_are_marked_with_the_setting_they_name() {
        let cases: [(ServerConfig, Param); 4] = [
            (
                ServerConfig {
                    addr: ServerAddr::Tcp {
                        host: "0.0.0.0".to_owned(),
                        port: 1,
                    },
                    ..ServerConfig::default()
                },
                Param::ServerHost,
            ),
            (
                ServerConfig {
                    password: Some(String::new()),
                    ..ServerConfig::default()
                },
                Param::ServerPassword,
            ),
            (
                ServerConfig {
                    ready_timeout: Duration::ZERO,
                    ..ServerConfig::default()
                },
                Param::ServerReadyTimeout,
            ),
            (
                ServerConfig {
                    restart: RestartPolicy {
                        window: Duration::ZERO,
                        ..RestartPolicy::default()
                    },
                    ..ServerConfig::default()
                },
                Param::ServerRestartWindow,
            ),
        ];
        for (cfg, param) in cases {
            let e = cfg.validate().expect_err("invalid");
            assert_eq!(e.kind(), ErrorKind::Config);
            assert_eq!(e.param(), Some(param), "{e}");
            assert!(e.message().contains(param.name(Language::Rust)), "{e}");
            for language in [Language::C, Language::Go, Language::Python, Language::Cli] {
                let shown = e.message_in(language);
                assert!(shown.contains(param.name(language)), "{shown}");
                assert!(!shown.contains(param.name(Language::Rust)), "{shown}");
            }
        }
    }

    #[test]
    fn a_missing_binary_is_named_in_the_callers_words() {
        let e = crate::server::binary::locate(Some(std::path::Path::new("/nope")))
            .expect_err("no binary");
        assert_eq!(e.param(), Some(Param::ServerBinary));
        assert!(e.message().contains("ServerConfig::binary is /nope"), "{e}");
        let py = e.message_in(Language::Python);
        assert!(
            py.contains("binary= is /nope") && !py.contains("ServerConfig"),
            "{py}"
        );
        let go = e.message_in(Language::Go);
        assert!(go.contains("ServerOptions.Binary is /nope"), "{go}");
        let cli = e.message_in(Language::Cli);
        assert!(cli.contains("--redis-server is /nope"), "{cli}");
    }
}
