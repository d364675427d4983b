//! `redkeep.Pool` (blocking calls) and the core it shares with
//! `redkeep.asyncio.Pool` ([`crate::aio`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use redkeep::redis::aio::ConnectionLike;
use redkeep::redis::{self, Value};
use redkeep::{Config, ErrorKind, Phase};

use crate::config::Options;
use crate::convert::{command, reply, Command};
use crate::errors::to_pyerr;
use crate::health::{PyHealth, PyStats};
use crate::runtime::{block_on, check_pid, foreign, runtime};

/// "Forever" for a blocking command with timeout 0: a year.
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

/// What both pool classes share: the configuration, the pool once it is
/// built, and the process that built it.
pub(crate) struct PoolCore {
    pub(crate) config: Config,
    pool: tokio::sync::OnceCell<redkeep::Pool>,
    closed: AtomicBool,
    pub(crate) pid: u32,
    pub(crate) decode: bool,
}

impl PoolCore {
    /// Builds the core; with `lazy`, the pool too (no network: the health
    /// watch connects in the background); otherwise the pool is connected
    /// on first use ([`PoolCore::pool`]).
    pub(crate) fn new(py: Python<'_>, config: Config, decode: bool, lazy: bool) -> PyResult<Self> {
        let core = Self {
            config,
            pool: tokio::sync::OnceCell::new(),
            closed: AtomicBool::new(false),
            pid: std::process::id(),
            decode,
        };
        // A pool that spawns its server needs `Pool::connect` (asynchronous):
        // `lazy` then only defers it to the first call.
        if lazy && core.config.spawn.is_none() {
            let _entered = runtime().enter();
            let pool = redkeep::Pool::new(core.config.clone()).map_err(|e| to_pyerr(py, &e))?;
            let _ = core.pool.set(pool);
        }
        Ok(core)
    }

    fn closed_error() -> redkeep::Error {
        redkeep::Error::new(ErrorKind::Closed, "the pool is closed")
    }

    /// The pool, connected (and its server spawned, with `spawn_if_absent`)
    /// on first use. A failed connect is tried again by the next call.
    pub(crate) async fn pool(&self) -> Result<&redkeep::Pool, redkeep::Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Self::closed_error());
        }
        let pool = self
            .pool
            .get_or_try_init(|| redkeep::Pool::connect(self.config.clone()))
            .await?;
        if self.closed.load(Ordering::Acquire) {
            // close() ran while this call was connecting.
            pool.close().await;
            return Err(Self::closed_error());
        }
        Ok(pool)
    }

    /// Runs one command: on the shared multiplexed connections, or, for a
    /// blocking command, on an exclusive connection whose reply timeout
    /// covers the command's own timeout.
    pub(crate) async fn run(&self, cmd: &Command) -> Result<Value, redkeep::Error> {
        let pool = self.pool().await?;
        let Some(wait) = cmd.blocking else {
            return pool.query::<Value>(&cmd.cmd).await;
        };
        let timeout = wait.map_or(FOREVER, |w| w + pool.config().timeouts.command);
        let mut guard = InFlight(Some(pool.get().await?));
        let conn = guard.0.as_mut().expect("just set");
        conn.set_command_timeout(timeout);
        let result = conn.req_packed_command(&cmd.cmd).await;
        guard.0.take(); // finished: back to the pool as usual
        match result {
            Ok(value) => value
                .extract_error()
                .map_err(|e| map_redis_error(e, timeout)),
            Err(e) => Err(map_redis_error(e, timeout)),
        }
    }

    pub(crate) async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Some(pool) = self.pool.get() {
            pool.close().await;
        }
    }

    pub(crate) fn health(&self) -> PyHealth {
        match self.pool.get() {
            Some(pool) => PyHealth::from_core(&pool.health()),
            None => PyHealth::not_connected(),
        }
    }

    pub(crate) fn stats(&self) -> PyStats {
        match self.pool.get() {
            Some(pool) => PyStats::from_core(&pool.stats()),
            None => PyStats::default(),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn repr(&self, class: &str) -> String {
        let state = if self.is_closed() {
            "closed"
        } else {
            self.health().state_name()
        };
        format!(
            "<{class} url={:?} state={state}>",
            self.config.redacted_url()
        )
    }
}

/// An exclusive connection with a blocking command in flight. Dropped
/// before the reply (the caller was cancelled), the connection must not go
/// back to the pool: the server is still blocked on the command for it, and
/// whoever got it next would wait behind it.
///
/// The core discards an exclusive connection whose reply timed out, so this
/// sends a `PING` with a 1 ms timeout on it in the background: it cannot be
/// answered before the blocked command, times out, and the connection is
/// dropped (closing it, which also unblocks the server side).
// TODO(core): a `Connection` dropped with a request in flight could be
// discarded by the core itself; this guard is then redundant.
struct InFlight(Option<redkeep::Connection>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(mut conn) = self.0.take() {
            runtime().spawn(async move {
                conn.set_command_timeout(Duration::from_millis(1));
                let _ = conn.req_packed_command(&redis::cmd("PING")).await;
            });
        }
    }
}

/// A redis-rs error from an exclusive connection, mapped by the core; a
/// reply timeout names this call's timeout.
fn map_redis_error(e: redis::RedisError, timeout: Duration) -> redkeep::Error {
    if e.is_timeout() {
        return redkeep::Error::new(
            ErrorKind::Timeout(Phase::Command),
            format!("command timed out after {timeout:?}"),
        );
    }
    redkeep::Error::from(e)
}

/// Keeps the objects of a forked parent from being torn down in the child:
/// their tokio resources belong to a runtime whose threads are not there.
pub(crate) fn forget_if_foreign(core: &Arc<PoolCore>) {
    if foreign(core.pid) {
        std::mem::forget(Arc::clone(core));
    }
}

macro_rules! options {
    ($url:ident, $max_connections:ident, $socket_timeout:ident, $socket_connect_timeout:ident,
     $pool_timeout:ident, $health_check_interval:ident, $retry_backoff_min:ident,
     $retry_backoff_max:ident, $spawn_if_absent:ident) => {
        Options {
            url: $url,
            max_connections: $max_connections,
            socket_timeout: $socket_timeout,
            socket_connect_timeout: $socket_connect_timeout,
            pool_timeout: $pool_timeout,
            health_check_interval: $health_check_interval,
            retry_backoff_min: $retry_backoff_min,
            retry_backoff_max: $retry_backoff_max,
            spawn_if_absent: $spawn_if_absent,
        }
    };
}
pub(crate) use options;

/// A resilient Redis pool (blocking calls; the GIL is released while waiting).
#[pyclass(module = "redkeep", name = "Pool", frozen)]
pub(crate) struct SyncPool {
    core: Arc<PoolCore>,
}

#[pymethods]
impl SyncPool {
    #[new]
    #[pyo3(signature = (
        url = "redis://127.0.0.1:6379".to_owned(), *, max_connections = None,
        socket_timeout = None, socket_connect_timeout = None, pool_timeout = None,
        health_check_interval = None, retry_backoff_min = None, retry_backoff_max = None,
        spawn_if_absent = false, decode_responses = false, lazy = false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        url: String,
        max_connections: Option<i64>,
        socket_timeout: Option<f64>,
        socket_connect_timeout: Option<f64>,
        pool_timeout: Option<f64>,
        health_check_interval: Option<f64>,
        retry_backoff_min: Option<f64>,
        retry_backoff_max: Option<f64>,
        spawn_if_absent: bool,
        decode_responses: bool,
        lazy: bool,
    ) -> PyResult<Self> {
        let config = options!(
            url,
            max_connections,
            socket_timeout,
            socket_connect_timeout,
            pool_timeout,
            health_check_interval,
            retry_backoff_min,
            retry_backoff_max,
            spawn_if_absent
        )
        .into_config(py)?;
        let core = Arc::new(PoolCore::new(py, config, decode_responses, lazy)?);
        if !lazy {
            let connected = block_on(py, async { core.pool().await.map(|_| ()) })?;
            connected.map_err(|e| to_pyerr(py, &e))?;
        }
        Ok(Self { core })
    }

    /// Runs one command and returns its reply.
    #[pyo3(signature = (*args))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "Pool")?;
        let cmd = command(args)?;
        let core = &self.core;
        if let (Some(pool), None) = (core.pool.get(), cmd.blocking) {
            // A command that does not wait on the server runs on this thread,
            // GIL released: one round trip, no hop to a runtime thread.
            let pool = pool.clone();
            return match py.detach(|| pool.query_blocking::<Value>(&cmd.cmd, None)) {
                Ok(value) => reply(py, value, core.decode),
                Err(e) => Err(to_pyerr(py, &e)),
            };
        }
        match block_on(py, core.run(&cmd))? {
            Ok(value) => reply(py, value, core.decode),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// The current health, read without sending a command.
    fn health(&self) -> PyHealth {
        self.core.health()
    }

    /// The pool's counters.
    fn stats(&self) -> PyStats {
        self.core.stats()
    }

    /// Stops the health watch and drops every connection (and stops a server
    /// started by `spawn_if_absent`). Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if foreign(self.core.pid) {
            return Ok(());
        }
        block_on(py, self.core.close())
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.core.is_closed()
    }

    /// The URL with its password replaced by `***`.
    #[getter]
    fn url(&self) -> String {
        self.core.config.redacted_url()
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        self.core.repr("redkeep.Pool")
    }
}

impl Drop for SyncPool {
    fn drop(&mut self) {
        forget_if_foreign(&self.core);
    }
}
