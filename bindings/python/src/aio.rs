//! `redkeep.asyncio.Pool`: the pool of [`crate::pool`] with awaitables.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use redkeep::redis::Value;

use crate::config::Options;
use crate::convert::{command, Outcome};
use crate::errors::to_pyerr;
use crate::health::{PyHealth, PyStats};
use crate::pool::{forget_if_foreign, options, PoolCore};
use crate::runtime::{check_pid, foreign, future_into_py};

/// The same pool for asyncio: every call that talks to Redis returns an awaitable.
#[pyclass(module = "redkeep.asyncio", name = "Pool", frozen)]
pub(crate) struct AsyncPool {
    core: Arc<PoolCore>,
    /// Whether a call without a runtime thread ([`crate::evented`]) is in
    /// flight: one at a time, the others go through the runtime.
    #[cfg(unix)]
    busy: Arc<std::sync::atomic::AtomicBool>,
    /// Calls in flight on the runtime: while there are any, new calls join
    /// them there (their replies come back in the same batches).
    on_runtime: Arc<AtomicUsize>,
}

/// Counts one call in flight on the runtime while it lives.
struct OnRuntime(Arc<AtomicUsize>);

impl OnRuntime {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(count.clone())
    }
}

impl Drop for OnRuntime {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[pymethods]
impl AsyncPool {
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
        Ok(Self {
            core,
            #[cfg(unix)]
            busy: Arc::default(),
            on_runtime: Arc::default(),
        })
    }

    /// Runs one command; the awaitable resolves to its reply. Cancelling it
    /// drops the request.
    #[pyo3(signature = (*args))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "Pool")?;
        let cmd = command(args)?;
        // One call at a time on this pool: the loop itself reads the reply.
        #[cfg(unix)]
        let cmd = match self.core.built() {
            Some(pool) if self.on_runtime.load(Ordering::Acquire) == 0 => {
                match crate::evented::start(py, pool, &self.busy, self.core.decode, cmd)? {
                    crate::evented::Started::Future(future) => return Ok(future),
                    crate::evented::Started::UseRuntime(cmd) => cmd,
                }
            }
            _ => cmd,
        };
        let core = self.core.clone();
        let counted = OnRuntime::enter(&self.on_runtime);
        let call = async move {
            let _counted = counted;
            match core.run(&cmd).await {
                Ok(value) => Outcome::Reply(value, core.decode),
                Err(e) => Outcome::Error(e),
            }
        };
        // The loop's wake-up channel (one per loop, completions in
        // batches); a loop that cannot watch a descriptor gets the bridge.
        #[cfg(unix)]
        let call = match crate::completion::spawn(py, call)? {
            Ok(future) => return Ok(future),
            Err(call) => call,
        };
        future_into_py(py, async move { Ok(call.await) })
    }

    /// Connects now (idempotent); otherwise the first command does.
    fn connect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "Pool")?;
        let core = self.core.clone();
        future_into_py(py, async move {
            Ok(match core.pool().await {
                Ok(_) => Outcome::Reply(Value::Nil, false),
                Err(e) => Outcome::Error(e),
            })
        })
    }

    /// Resolves to a `redkeep.asyncio.Subscriber`: a dedicated connection
    /// that re-subscribes by itself when the pool is up again after an outage.
    fn subscriber<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "Pool")?;
        let core = self.core.clone();
        future_into_py(py, async move {
            match async { core.pool().await?.subscriber().await }.await {
                Ok(sub) => Ok(crate::subscriber::AsyncSubscriber::new(
                    crate::subscriber::SubCore::new(sub, core.decode),
                )),
                Err(e) => Err(Python::attach(|py| to_pyerr(py, &e))),
            }
        })
    }

    /// The current health, read without sending a command (not awaitable).
    fn health(&self) -> PyHealth {
        self.core.health()
    }

    /// The pool's counters (not awaitable).
    fn stats(&self) -> PyStats {
        self.core.stats()
    }

    /// The pool's metrics as Prometheus text, rendered by the core (not
    /// awaitable); "" before the pool connects.
    fn metrics_text(&self) -> String {
        self.core.metrics_text()
    }

    /// The `/health` answer: (200 while up else 503, JSON body) (not awaitable).
    fn health_json(&self) -> (u16, String) {
        self.core.health_json()
    }

    /// Closes the pool; idempotent.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        future_into_py(py, async move {
            if !foreign(core.pid) {
                core.close().await;
            }
            Ok(())
        })
    }

    /// The same as `aclose()`.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.aclose(py)
    }

    /// Whether the pool was closed.
    #[getter]
    fn closed(&self) -> bool {
        self.core.is_closed()
    }

    /// The URL with its password replaced by `***`.
    #[getter]
    fn url(&self) -> String {
        self.core.config.redacted_url()
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let core = slf.get().core.clone();
        check_pid(py, core.pid, "Pool")?;
        let this: Py<Self> = slf.unbind();
        future_into_py(py, async move {
            match core.pool().await {
                Ok(_) => Ok(this),
                Err(e) => Err(Python::attach(|py| to_pyerr(py, &e))),
            }
        })
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        future_into_py(py, async move {
            if !foreign(core.pid) {
                core.close().await;
            }
            Ok(false)
        })
    }

    fn __repr__(&self) -> String {
        self.core.repr("redkeep.asyncio.Pool")
    }
}

impl AsyncPool {
    /// What this pool shares with the redis-py adapter ([`crate::client`]).
    pub(crate) fn core(&self) -> &Arc<PoolCore> {
        &self.core
    }
}

impl Drop for AsyncPool {
    fn drop(&mut self) {
        forget_if_foreign(&self.core);
    }
}
