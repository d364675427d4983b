//! The core's process-wide tokio runtime ([`redkeep::runtime`]), as Python
//! uses it: blocking calls that wake up for Ctrl-C, and the bridge
//! pyo3-async-runtimes needs for asyncio.
//!
//! The core builds the runtime on first use and again in a forked child (a
//! tokio runtime does not survive `fork()`: the child has its memory but
//! none of its worker threads, so the parent's is leaked there). Pools and
//! servers remember the pid that created them and refuse to work in another
//! process; see [`check_pid`]. Python never shuts the runtime down: it lives
//! as long as the process.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3_async_runtimes::generic::{ContextExt, JoinError, Runtime as GenericRuntime};
use pyo3_async_runtimes::TaskLocals;
use tokio::runtime::Handle;

use crate::errors::to_pyerr;

/// How often a blocking call wakes up to let Python handle signals (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// The runtime of this process, built on first use (and again after fork).
pub(crate) fn runtime(py: Python<'_>) -> PyResult<Handle> {
    redkeep::runtime::handle()
        .map(|(handle, _epoch)| handle)
        .map_err(|e| to_pyerr(py, &e))
}

/// [`runtime`] where no exception can be raised: the bridge's `spawn`,
/// which [`future_into_py`] only reaches after [`runtime`] succeeded.
fn bridge_runtime() -> Handle {
    match redkeep::runtime::handle() {
        Ok((handle, _epoch)) => handle,
        Err(e) => panic!("{e}"),
    }
}

/// Fails with a clear error when an object made in process `owner` is used
/// in another one (a child after `fork()`).
pub(crate) fn check_pid(py: Python<'_>, owner: u32, what: &str) -> PyResult<()> {
    let pid = std::process::id();
    if pid == owner {
        return Ok(());
    }
    Err(crate::errors::closed_error(
        py,
        format!(
            "this {what} was created in process {owner} and cannot be used in process {pid} \
             (after fork): create a new one in the child"
        ),
    ))
}

/// Whether an object made in process `owner` is being dropped in a forked
/// child, where its tokio resources belong to a runtime with no threads.
pub(crate) fn foreign(owner: u32) -> bool {
    std::process::id() != owner
}

/// Runs `fut` to completion on the runtime with the GIL released.
///
/// Every [`SIGNAL_CHECK`] the waiting thread takes the GIL back briefly to
/// run Python's signal handlers; a `KeyboardInterrupt` drops (cancels) the
/// future and is raised.
pub(crate) fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime(py)?;
    py.detach(|| {
        rt.block_on(async move {
            let mut fut = std::pin::pin!(fut);
            loop {
                tokio::select! {
                    biased;
                    out = &mut fut => return Ok(out),
                    () = tokio::time::sleep(SIGNAL_CHECK) => {}
                }
                Python::attach(|py| py.check_signals())?;
            }
        })
    })
}

/// The bridge pyo3-async-runtimes needs, over [`runtime`].
pub(crate) struct Rt;

tokio::task_local! {
    static TASK_LOCALS: std::cell::OnceCell<TaskLocals>;
}

/// A join error from our runtime.
pub(crate) struct RtJoinError(tokio::task::JoinError);

impl JoinError for RtJoinError {
    fn is_panic(&self) -> bool {
        self.0.is_panic()
    }
    fn into_panic(self) -> Box<dyn std::any::Any + Send + 'static> {
        self.0.into_panic()
    }
}

/// A join handle from our runtime.
pub(crate) struct RtJoinHandle(tokio::task::JoinHandle<()>);

impl Future for RtJoinHandle {
    type Output = Result<(), RtJoinError>;
    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map_err(RtJoinError)
    }
}

impl GenericRuntime for Rt {
    type JoinError = RtJoinError;
    type JoinHandle = RtJoinHandle;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        RtJoinHandle(bridge_runtime().spawn(fut))
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        RtJoinHandle(bridge_runtime().spawn_blocking(f))
    }
}

impl ContextExt for Rt {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = std::cell::OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS
            .try_with(|c| c.get().cloned())
            .unwrap_or_default()
    }
}

/// Turns a Rust future into an asyncio awaitable on our runtime; cancelling
/// the awaitable drops the Rust future.
pub(crate) fn future_into_py<F, T>(py: Python<'_>, fut: F) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    // Builds the runtime if needed, so that a failure to start it is an
    // exception here rather than a panic in the bridge.
    runtime(py)?;
    pyo3_async_runtimes::generic::future_into_py::<Rt, F, T>(py, fut)
}
