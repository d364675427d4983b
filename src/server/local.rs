//! `ensure_server` and the [`LocalServer`] it returns.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::addr::ServerAddr;
use super::binary;
use super::certs::{self, TlsFiles};
use super::config::ServerConfig;
use super::diagnose::Cause;
use super::launch::Plan;
use super::resp::{self, Answer};
use super::supervisor::{self, ServerStatus, Supervision};
use super::workdir::PrivateDir;
use crate::error::{Error, ErrorKind, Param, Result};

/// How long the attach probe waits for an answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// New ports tried when a picked free port is lost to another process.
const PORT_ATTEMPTS: usize = 8;

/// Whether a [`LocalServer`] was already running or was started by us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A Redis already answered at the address; it belongs to someone else
    /// and is left alone on shutdown.
    Attached,
    /// redkeep started it; it is supervised and dies with its owner.
    Spawned {
        /// The current process id (it changes when the server is restarted).
        pid: u32,
    },
}

/// A Redis at a local address: attached to, or spawned and supervised.
///
/// Returned by [`ensure_server`]. `LocalServer` is `Send + Sync`; share it
/// behind an `Arc`. Dropping it stops a spawned server (see
/// [`LocalServer::shutdown`]), blocking the dropping thread until the
/// process is gone — a few milliseconds, at most `stop_timeout` (10 s)
/// before it is killed. Call
/// [`LocalServer::stop`] first in async code to avoid that.
///
/// # Behavior
///
/// - A spawned server is watched by a supervisor thread. When it crashes,
///   it is restarted on the same address after a [`RestartPolicy`](super::RestartPolicy)
///   backoff delay, and a restart counts as done only after a real `PONG`.
///   More than `max_restarts` within `window` and the supervisor gives up:
///   [`LocalServer::status`] becomes [`ServerStatus::Failed`] with the
///   reason, also available from [`LocalServer::failure`].
/// - While restarting, clients see connection errors; the
///   [`Pool`](crate::Pool) health watch turns `Down` and back `Up` by itself.
/// - An attached server is not supervised.
pub struct LocalServer {
    /// Resolved (see [`ServerAddr::is_resolved`]).
    addr: ServerAddr,
    password: Option<String>,
    supervision: Option<Arc<Supervision>>,
    status: watch::Receiver<ServerStatus>,
    log: Option<PathBuf>,
    /// A TLS server's certificates (inside the run dir).
    tls: Option<Arc<TlsFiles>>,
    /// The process that attached or spawned it: a forked child inherits
    /// the value but not the server, and never stops it.
    owner_pid: u32,
    /// `ServerConfig::stop_timeout`.
    stop_timeout: Duration,
    // Held last: removed after the server stopped.
    _run_dir: Option<Arc<PrivateDir>>,
}

impl LocalServer {
    /// The URL to connect with, password included
    /// (`redis://:password@127.0.0.1:6379` or
    /// `redis+unix:///path/redis.sock?pass=password`; `rediss://` for a TLS
    /// server, whose CA clients need: [`LocalServer::client_tls`]). Do not
    /// log it: use [`LocalServer::redacted_url`] for that.
    pub fn url(&self) -> String {
        self.url_with_db(0)
    }

    /// [`LocalServer::url`] selecting database `db` (`/db` for TCP,
    /// `db=` in the query of a unix socket URL; `0` adds nothing).
    pub fn url_with_db(&self, db: i64) -> String {
        self.scheme(self.addr.url(self.password.as_deref(), db))
    }

    /// [`LocalServer::url`] with the password replaced by `***`.
    pub fn redacted_url(&self) -> String {
        self.scheme(self.addr.redacted_url(self.password.is_some(), 0))
    }

    /// `rediss://` for a TLS server.
    fn scheme(&self, url: String) -> String {
        match &self.tls {
            Some(_) => url.replacen("redis://", "rediss://", 1),
            None => url,
        }
    }

    /// Whether it serves TLS only ([`ServerConfig::tls`](super::ServerConfig::tls)).
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// A TLS server's throwaway CA certificate (PEM), inside its private
    /// directory and removed with it; `None` without TLS. Give it to
    /// clients that are not redkeep (`redis-cli --tls --cacert PATH`).
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.tls.as_deref().map(|t| t.ca.as_path())
    }

    /// What a redkeep client needs to trust a TLS server (its CA, no client
    /// certificate), for [`Config::tls`](crate::Config::tls); `None`
    /// without TLS.
    pub fn client_tls(&self) -> Option<crate::TlsConfig> {
        self.ca_cert_path().map(|ca| crate::TlsConfig {
            ca_cert: Some(crate::Pem::File(ca.to_owned())),
            ..crate::TlsConfig::default()
        })
    }

    pub(crate) fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls.as_deref()
    }

    pub(crate) fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The resolved address: a TCP port is never `0` here, and a unix
    /// socket always has its path.
    pub fn addr(&self) -> &ServerAddr {
        &self.addr
    }

    /// The TCP port, or `None` for a unix socket.
    pub fn port(&self) -> Option<u16> {
        self.addr.port()
    }

    /// Attached or spawned; for a spawned server, its current pid (the last
    /// known one if it is restarting, stopped or failed).
    pub fn origin(&self) -> Origin {
        match self.supervision {
            None => Origin::Attached,
            Some(ref sup) => Origin::Spawned {
                pid: sup.last_pid(),
            },
        }
    }

    /// The current pid of a spawned server while it runs; `None` while it
    /// restarts, after it stopped or failed, and for an attached server.
    pub fn pid(&self) -> Option<u32> {
        match &*self.status.borrow() {
            ServerStatus::Running { pid } => Some(*pid),
            _ => None,
        }
    }

    /// What the server is doing now. Cheap: no I/O.
    pub fn status(&self) -> ServerStatus {
        self.status.borrow().clone()
    }

    /// A receiver of every status change (restarts, give-up, stop).
    pub fn watch(&self) -> watch::Receiver<ServerStatus> {
        self.status.clone()
    }

    /// The supervisor's reason for giving up, if it did.
    pub fn failure(&self) -> Option<String> {
        match &*self.status.borrow() {
            ServerStatus::Failed { reason } => Some(reason.clone()),
            _ => None,
        }
    }

    /// How many times the supervisor restarted the server.
    pub fn restarts(&self) -> u32 {
        self.supervision.as_ref().map_or(0, |s| s.restarts())
    }

    /// The spawned server's log (stdout and stderr), inside its private run
    /// directory; removed with it on shutdown.
    pub fn log_path(&self) -> Option<&Path> {
        self.log.as_deref()
    }

    /// Stops a spawned server (an attached one is left alone) and waits
    /// until it is gone; idempotent. Usable through a shared reference, so
    /// an owner behind an `Arc` can stop it.
    ///
    /// # Behavior
    ///
    /// Graceful on every platform: `SHUTDOWN NOSAVE` over a connection
    /// (`SHUTDOWN SAVE` with `persistence`, so the final snapshot is
    /// complete), or SIGTERM if it cannot be reached; then, past
    /// [`ServerConfig::stop_timeout`] (10 s by default), SIGKILL to its
    /// process group (Windows: its job is terminated). The process is
    /// always reaped.
    pub async fn stop(&self) -> Result<()> {
        let Some(sup) = self.supervision.clone().filter(|_| self.is_ours()) else {
            return Ok(());
        };
        let timeout = self.stop_timeout;
        tokio::task::spawn_blocking(move || sup.stop(timeout))
            .await
            .map_err(|e| Error::new(ErrorKind::Spawn, format!("stopping redis-server: {e}")))
    }

    /// [`LocalServer::stop`] without a runtime (blocks the thread).
    pub fn stop_blocking(&self) {
        if let Some(sup) = self.supervision.as_ref().filter(|_| self.is_ours()) {
            sup.stop(self.stop_timeout);
        }
    }

    /// SIGKILLs a spawned server, as a crash would (the supervisor restarts
    /// it or gives up, per its [`RestartPolicy`](super::RestartPolicy)),
    /// and waits up to 5 s until it was reaped; an attached one is left
    /// alone. For test deployments that kill a node on purpose.
    pub(crate) fn kill(&self) {
        let Some(sup) = self.supervision.as_ref().filter(|_| self.is_ours()) else {
            return;
        };
        let pid = sup.last_pid();
        sup.kill();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline
            && matches!(&*self.status.borrow(), ServerStatus::Running { pid: p } if *p == pid)
        {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Whether this process is the one that attached or spawned it (not a
    /// forked child, where stopping or dropping it leaves it running).
    fn is_ours(&self) -> bool {
        std::process::id() == self.owner_pid
    }

    /// Stops a spawned server and waits until it is gone; an attached one
    /// is left alone. Same as [`LocalServer::stop`], consuming the value.
    pub async fn shutdown(self) -> Result<()> {
        self.stop().await
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if !self.is_ours() {
            // A forked child: the server, its supervisor and its directory
            // belong to the parent. Leave them untouched.
            std::mem::forget(self.supervision.take());
            std::mem::forget(self._run_dir.take());
            return;
        }
        self.stop_blocking();
    }
}

impl fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalServer")
            .field("url", &self.redacted_url())
            .field("origin", &self.origin())
            .field("status", &self.status())
            .finish()
    }
}

/// Connects to the Redis at `cfg.addr`, or starts one there if nothing
/// listens.
///
/// # Behavior
///
/// - **A Redis answers** (`PONG`, or an auth error such as `NOAUTH`, which
///   still proves a Redis): [`Origin::Attached`]. If it is `LOADING`, the
///   call retries until `PONG` or `ready_timeout`.
/// - **Something else holds the address** (not RESP, silent, closes the
///   connection): an [`ErrorKind::Spawn`] error saying so. redkeep never
///   attaches to it and never starts a server over it.
/// - **Nothing listens**: `redis-server` is started (see [`ServerConfig`])
///   and [`Origin::Spawned`] is returned only after it answered `PONG` — from
///   that very process, checked by pid — retrying while it is `LOADING`. If
///   it exits first, the error names the cause (address in use, bad
///   directive, permission, version) and carries the tail of its log. With
///   port `0` a free port is picked, and a new one is tried (up to 8 times)
///   when another process takes it first.
/// - **TLS** ([`ServerConfig::tls`]): always spawned, never attached —
///   a Redis already at a fixed port makes the start fail with "address in
///   use". The server listens with TLS only, readiness is a `PONG` over TLS
///   verified against its throwaway CA, and [`LocalServer::url`] is
///   `rediss://`.
/// - A spawned server binds only the configured loopback host (or a unix
///   socket with mode 0700 in a private 0700 directory), keeps no data
///   unless `persistence` is set, and dies with its owner (see the
///   [module docs](crate::server) for the per-platform guarantee).
///
/// The blocking work runs on tokio's blocking pool; see
/// [`ensure_server_blocking`] to call it without a runtime.
pub async fn ensure_server(cfg: ServerConfig) -> Result<LocalServer> {
    tokio::task::spawn_blocking(move || ensure_server_blocking(cfg))
        .await
        .map_err(|e| Error::new(ErrorKind::Spawn, format!("ensure_server: {e}")))?
}

/// [`ensure_server`] for callers without a tokio runtime: it blocks the
/// calling thread until the server is attached or ready.
///
/// The spawned server does *not* depend on the calling thread: it is forked
/// from a library-owned thread, so the caller may be a short-lived thread.
pub fn ensure_server_blocking(cfg: ServerConfig) -> Result<LocalServer> {
    cfg.validate()?;
    match cfg.addr.normalized() {
        ServerAddr::Tcp { host, port: 0 } => spawn_on_free_port(&cfg, &host),
        // A TLS config always spawns: a server already there is "in use".
        addr @ ServerAddr::Tcp { .. } if cfg.tls => spawn_at(&cfg, addr),
        addr @ (ServerAddr::Tcp { .. } | ServerAddr::Unix(Some(_))) => attach_or_spawn(&cfg, addr),
        ServerAddr::Unix(None) => {
            let run_dir = Arc::new(private_dir()?);
            let addr = ServerAddr::Unix(Some(run_dir.path().join("redis.sock")));
            spawn(&cfg, addr, run_dir, None).map_err(|e| e.error)
        }
    }
}

fn attach_or_spawn(cfg: &ServerConfig, addr: ServerAddr) -> Result<LocalServer> {
    let deadline = Instant::now() + cfg.ready_timeout;
    loop {
        match resp::ping(&addr, cfg.password.as_deref(), PROBE_TIMEOUT) {
            Answer::Nothing => break,
            Answer::Loading if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Answer::Loading => {
                let waited = crate::util::fmt_duration(cfg.ready_timeout);
                return Err(Error::new(
                    ErrorKind::Spawn,
                    format!(
                        "the Redis at {addr} is still LOADING after \
                         ServerConfig::ready_timeout ({waited})"
                    ),
                )
                .with_param(Param::ServerReadyTimeout));
            }
            Answer::Pong | Answer::Auth(_) | Answer::RedisError(_) => {
                tracing::info!(addr = %addr, "attached to a running Redis");
                return Ok(attached(cfg, addr));
            }
            Answer::NotRedis(why) => {
                let param = addr.param();
                return Err(Error::new(
                    ErrorKind::Spawn,
                    format!(
                        "{addr} is held by a program that is not Redis ({why}); \
                         not attaching to it and not starting a server over it \
                         (choose another address: {})",
                        param.name(crate::Language::Rust)
                    ),
                )
                .with_param(param));
            }
        }
    }
    spawn_at(cfg, addr)
}

/// Spawns at a resolved address, in a new private directory.
fn spawn_at(cfg: &ServerConfig, addr: ServerAddr) -> Result<LocalServer> {
    let run_dir = Arc::new(private_dir()?);
    let tls = tls_files(cfg, &run_dir)?;
    spawn(cfg, addr, run_dir, tls).map_err(|e| e.error)
}

/// The certificates of a TLS server, made once per run dir (restarts and
/// new port attempts reuse them).
fn tls_files(cfg: &ServerConfig, run_dir: &PrivateDir) -> Result<Option<Arc<TlsFiles>>> {
    if !cfg.tls {
        return Ok(None);
    }
    certs::make(run_dir.path()).map(|t| Some(Arc::new(t)))
}

fn attached(cfg: &ServerConfig, addr: ServerAddr) -> LocalServer {
    let (_tx, status) = watch::channel(ServerStatus::Attached);
    LocalServer {
        addr,
        password: cfg.password.clone(),
        supervision: None,
        status,
        log: None,
        tls: None,
        owner_pid: std::process::id(),
        stop_timeout: cfg.stop_timeout,
        _run_dir: None,
    }
}

fn spawn_on_free_port(cfg: &ServerConfig, host: &str) -> Result<LocalServer> {
    let run_dir = Arc::new(private_dir()?);
    let tls = tls_files(cfg, &run_dir)?;
    let mut last = None;
    for attempt in 1..=PORT_ATTEMPTS {
        let port = free_port(host)?;
        let addr = ServerAddr::Tcp {
            host: host.to_owned(),
            port,
        };
        match spawn(cfg, addr, run_dir.clone(), tls.clone()) {
            Ok(server) => return Ok(server),
            Err(e) if e.cause == Cause::AddressInUse => {
                tracing::debug!(port, attempt, "picked port was taken first, trying another");
                // Start the next attempt with a fresh log.
                let _ = std::fs::remove_file(run_dir.path().join("redis.log"));
                last = Some(e.error);
            }
            Err(e) => return Err(e.error),
        }
    }
    Err(last.expect("at least one attempt"))
}

/// A port the OS says is free now (bind to port 0, read it, release it).
/// The caller retries on a new one if it is taken before the server binds.
fn free_port(host: &str) -> Result<u16> {
    let listener = std::net::TcpListener::bind((host, 0)).map_err(|e| {
        Error::new(
            ErrorKind::Spawn,
            format!("cannot find a free port on {host} (ServerAddr::Tcp::host): {e}"),
        )
        .with_param(Param::ServerHost)
    })?;
    Ok(listener.local_addr()?.port())
}

/// A new private directory, after removing those left by owners that died
/// without cleaning up (see [`workdir::remove_stale`](super::workdir::remove_stale)).
fn private_dir() -> Result<PrivateDir> {
    PrivateDir::new_removing_stale().map_err(|e| {
        Error::new(
            ErrorKind::Spawn,
            format!("cannot create a private temporary directory: {e}"),
        )
        .with_source(e)
    })
}

fn spawn(
    cfg: &ServerConfig,
    addr: ServerAddr,
    run_dir: Arc<PrivateDir>,
    tls: Option<Arc<TlsFiles>>,
) -> std::result::Result<LocalServer, super::launch::StartError> {
    debug_assert!(addr.is_resolved());
    let binary =
        binary::locate(cfg.binary.as_deref()).map_err(|error| super::launch::StartError {
            cause: Cause::Unknown,
            error,
        })?;
    let plan = Plan {
        binary,
        addr: addr.clone(),
        data_dir: cfg.dir.clone().unwrap_or_else(|| run_dir.path().to_owned()),
        dir_set: cfg.dir.is_some(),
        run_dir: run_dir.clone(),
        args: cfg.args.clone(),
        password: cfg.password.clone(),
        persistence: cfg.persistence,
        ready_timeout: cfg.ready_timeout,
        tls: tls.clone(),
        guard: cfg
            .guard
            .resolve()
            .map_err(|error| super::launch::StartError {
                cause: Cause::Unknown,
                error,
            })?,
    };
    tracing::info!(binary = %plan.binary.display(), addr = %addr, "spawning redis-server");
    let started = Instant::now();
    let running = plan.start(&|| false)?;
    let pid = running.killer.pid();
    tracing::info!(pid, addr = %addr, elapsed = ?started.elapsed(), "redis-server ready");
    let log = plan.log_path();
    let supervision = supervisor::start(plan, running, cfg.restart.clone()).map_err(|e| {
        super::launch::StartError {
            cause: Cause::Unknown,
            error: Error::new(
                ErrorKind::Spawn,
                format!("cannot start the supervisor thread: {e}"),
            ),
        }
    })?;
    let status = supervision.status.subscribe();
    Ok(LocalServer {
        addr,
        password: cfg.password.clone(),
        supervision: Some(supervision),
        status,
        log: Some(log),
        tls,
        owner_pid: std::process::id(),
        stop_timeout: cfg.stop_timeout,
        _run_dir: Some(run_dir),
    })
}
