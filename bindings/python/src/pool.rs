//! `redkeep.Pool` (blocking calls) and the core it shares with
//! `redkeep.asyncio.Pool` ([`crate::aio`]).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use redkeep::redis::{self, Value};
use redkeep::{Config, ErrorKind};

use crate::config::Options;
use crate::convert::{command, reply, Shape};
use crate::errors::to_pyerr;
use crate::health::{PyHealth, PyStats};
use crate::runtime::{block_on, check_pid, foreign, runtime};

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
            let rt = runtime(py)?;
            let _entered = rt.enter();
            let pool = redkeep::Pool::new(core.config.clone()).map_err(|e| to_pyerr(py, &e))?;
            let _ = core.pool.set(pool);
        }
        Ok(core)
    }

    /// The pool, connected (and its server spawned, with `spawn_if_absent`)
    /// on first use. A failed connect is tried again by the next call. Once
    /// built, the pool itself answers every call, closed or not.
    pub(crate) async fn pool(&self) -> Result<&redkeep::Pool, redkeep::Error> {
        if let Some(pool) = self.pool.get() {
            return Ok(pool);
        }
        if self.is_closed() {
            // Closed before it was ever built: there is no pool to ask.
            return Err(redkeep::Error::new(ErrorKind::Closed, "the pool is closed"));
        }
        let pool = self
            .pool
            .get_or_try_init(|| redkeep::Pool::connect(self.config.clone()))
            .await?;
        if self.is_closed() {
            // close() ran while this call was connecting: close what it built,
            // so the call below fails as every call on a closed pool does.
            pool.close().await;
        }
        Ok(pool)
    }

    /// The pool if it is built already (no connect here).
    pub(crate) fn built(&self) -> Option<&redkeep::Pool> {
        self.pool.get()
    }

    /// Runs one command through the core's one call path, which decides
    /// everything about it (refused, shared or exclusive connection, timeouts).
    pub(crate) async fn run(&self, cmd: &redis::Cmd) -> Result<Value, redkeep::Error> {
        self.pool().await?.query_with::<Value>(cmd, None).await
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
            None if self.is_closed() => PyHealth::closed(),
            None => PyHealth::not_connected(),
        }
    }

    pub(crate) fn stats(&self) -> PyStats {
        match self.pool.get() {
            Some(pool) => PyStats::from_core(&pool.stats()),
            None => PyStats::default(),
        }
    }

    /// The core's Prometheus text ("" before the pool connects).
    pub(crate) fn metrics_text(&self) -> String {
        crate::observe::metrics_text(self.pool.get())
    }

    /// The core's `/health` answer: (status, JSON).
    pub(crate) fn health_json(&self) -> (u16, String) {
        crate::observe::health_json(self.pool.get(), self.is_closed())
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.pool.get().is_some_and(|p| p.is_closed())
    }

    pub(crate) fn repr(&self, class: &str) -> String {
        let state = self.health().state_name();
        format!(
            "<{class} url={:?} state={state}>",
            self.config.redacted_url()
        )
    }
}

/// Runs `cmd` for a caller that blocks its thread: an ordinary command on
/// this thread with the GIL released (one round trip, no hop to a runtime
/// thread), a command that waits on the server on the runtime (the core
/// picks its connection) while this thread wakes up for Ctrl-C.
pub(crate) fn run_blocking(
    py: Python<'_>,
    core: &PoolCore,
    cmd: &redis::Cmd,
) -> PyResult<Result<Value, redkeep::Error>> {
    let pool = match core.pool.get() {
        Some(pool) => pool.clone(),
        // A lazy pool that spawns its server: built by the first call.
        None => block_on(py, core.pool())?
            .map_err(|e| to_pyerr(py, &e))?
            .clone(),
    };
    Ok(if redkeep::command_class(cmd).is_blocking() {
        block_on(py, pool.query_with::<Value>(cmd, None))?
    } else {
        py.detach(|| pool.query_blocking::<Value>(cmd, None))
    })
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
     $retry_backoff_max:ident, $spawn_if_absent:ident, $ssl:ident, $ssl_ca_certs:ident,
     $ssl_certfile:ident, $ssl_keyfile:ident, $ssl_cert_reqs:ident) => {
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
            ssl: $ssl,
            ssl_ca_certs: $ssl_ca_certs,
            ssl_certfile: $ssl_certfile,
            ssl_keyfile: $ssl_keyfile,
            ssl_cert_reqs: $ssl_cert_reqs,
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
        spawn_if_absent = false, decode_responses = false, lazy = false, ssl = false,
        ssl_ca_certs = None, ssl_certfile = None, ssl_keyfile = None, ssl_cert_reqs = None
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
        ssl: bool,
        ssl_ca_certs: Option<PathBuf>,
        ssl_certfile: Option<PathBuf>,
        ssl_keyfile: Option<PathBuf>,
        ssl_cert_reqs: Option<Py<PyAny>>,
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
            spawn_if_absent,
            ssl,
            ssl_ca_certs,
            ssl_certfile,
            ssl_keyfile,
            ssl_cert_reqs
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
        let result = run_blocking(py, core, &cmd)?;
        match result {
            Ok(value) => reply(py, value, Shape::pool(core.decode)),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// A subscriber on a dedicated connection that re-subscribes by itself
    /// when the pool is up again after an outage (`redkeep.Subscriber`).
    fn subscriber(&self, py: Python<'_>) -> PyResult<crate::subscriber::SyncSubscriber> {
        check_pid(py, self.core.pid, "Pool")?;
        let core = &self.core;
        let sub = block_on(py, async { core.pool().await?.subscriber().await })?
            .map_err(|e| to_pyerr(py, &e))?;
        let sub = crate::subscriber::SubCore::new(sub, core.decode);
        Ok(crate::subscriber::SyncSubscriber::new(sub))
    }

    /// The current health, read without sending a command.
    fn health(&self) -> PyHealth {
        self.core.health()
    }

    /// The pool's counters.
    fn stats(&self) -> PyStats {
        self.core.stats()
    }

    /// The pool's metrics as Prometheus text (format 0.0.4), rendered by
    /// the core; "" before the pool connects.
    fn metrics_text(&self) -> String {
        self.core.metrics_text()
    }

    /// The `/health` answer: (200 while up else 503, JSON body).
    fn health_json(&self) -> (u16, String) {
        self.core.health_json()
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

impl SyncPool {
    /// What this pool shares with the redis-py adapter ([`crate::client`]).
    pub(crate) fn core(&self) -> &Arc<PoolCore> {
        &self.core
    }
}

impl Drop for SyncPool {
    fn drop(&mut self) {
        forget_if_foreign(&self.core);
    }
}
