//! How an asyncio call gets its answer back from the runtime: one wake-up
//! channel per event loop, and completions resolved in batches on the
//! loop's own thread.
//!
//! A call creates its `asyncio.Future` with `loop.create_future()` and
//! spawns one task on the core's runtime. When the task ends, a runtime
//! thread pushes the raw outcome (a redis `Value` or an error, no Python
//! object) onto the loop's queue and, only if the queue was not already
//! signalled, writes one byte to a socket pair whose read end the loop
//! watches (`loop.add_reader`). The loop then drains the whole queue in one
//! callback: it turns each reply into Python objects and resolves its
//! future. A runtime thread never takes the GIL, and a burst of replies
//! costs one wake-up of the loop, not one `call_soon_threadsafe` each.
//!
//! Cancelling the future (its task cancelled, `wait_for` timing out) aborts
//! the runtime task, which drops the core's call: a request waiting for a
//! connection leaves the queue, one in flight is abandoned.
//!
//! Only a conversion of completions: the call itself is the core's
//! ([`crate::pool::PoolCore::run`]), with every rule it applies.

use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::convert::Outcome;
use crate::runtime::runtime;

/// What a runtime task hands back to the loop.
enum Done {
    /// The call ended with this reply or error.
    Ready(Outcome),
    /// The task was dropped before it ended (aborted because the future
    /// was cancelled, or the runtime went away).
    Dropped,
    /// The task panicked: the future gets an exception, never a hang.
    Panicked,
}

/// One finished call: its future and what to resolve it with.
struct Completion {
    future: Py<PyAny>,
    canceller: Py<PyAny>,
    done: Done,
}

/// The part of a loop's waker that runtime threads use.
struct Shared {
    queue: Mutex<Vec<Completion>>,
    /// Whether a wake-up byte is on its way and not yet drained: later
    /// completions ride on it.
    signalled: AtomicBool,
    write: UnixStream,
}

impl Shared {
    fn push(&self, completion: Completion) {
        lock(&self.queue).push(completion);
        if !self.signalled.swap(true, Ordering::AcqRel) {
            // A full socket (`WouldBlock`) already has a wake-up pending;
            // a closed one means the loop is gone: nothing to wake.
            let _ = (&self.write).write(&[1]);
        }
    }
}

/// The wake-up channel of one event loop: the read end is registered with
/// `loop.add_reader`, and calling the object drains the queue.
#[pyclass(module = "redkeep._redkeep", frozen)]
pub(crate) struct LoopWaker {
    shared: Arc<Shared>,
    read: UnixStream,
    /// The drained batch, kept to reuse its allocation.
    spare: Mutex<Vec<Completion>>,
}

#[pymethods]
impl LoopWaker {
    /// Resolves every completed call (the loop's reader callback).
    fn __call__(&self, py: Python<'_>) {
        let mut buf = [0u8; 64];
        loop {
            match (&self.read).read(&mut buf) {
                Ok(n) if n == buf.len() => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                _ => break,
            }
        }
        // Cleared before the queue is taken: a completion pushed after
        // this point signals again, so none is left behind unwoken.
        self.shared.signalled.store(false, Ordering::Release);
        let mut batch = lock(&self.spare);
        std::mem::swap(&mut *batch, &mut *lock(&self.shared.queue));
        for completion in batch.drain(..) {
            resolve(py, completion);
        }
    }
}

/// Resolves one future (unless it was cancelled meanwhile). An error here
/// concerns that call only, never the rest of the batch.
fn resolve(py: Python<'_>, completion: Completion) {
    let future = completion.future.bind(py);
    let finished = future
        .call_method0(intern!(py, "done"))
        .and_then(|d| d.is_truthy())
        .unwrap_or(true);
    if finished {
        return;
    }
    // Not cancelled: the canceller must not run (it would be scheduled on
    // the loop for nothing).
    let _ = future.call_method1(
        intern!(py, "remove_done_callback"),
        (completion.canceller.bind(py),),
    );
    let result = match completion.done {
        Done::Ready(outcome) => outcome.into_pyobject(py),
        Done::Panicked => Err(PyRuntimeError::new_err(
            "redkeep: the call panicked (a bug: please report it)",
        )),
        Done::Dropped => Err(crate::errors::closed_error(
            py,
            "the call was dropped: the runtime stopped".to_owned(),
        )),
    };
    let _ = match result {
        Ok(value) => future.call_method1(intern!(py, "set_result"), (value,)),
        Err(e) => future.call_method1(intern!(py, "set_exception"), (e.into_value(py),)),
    };
}

/// Aborts the runtime task when its future is cancelled (a done callback,
/// removed before the future is resolved, so it only runs on cancel).
#[pyclass(module = "redkeep._redkeep", frozen)]
struct Canceller {
    abort: OnceLock<tokio::task::AbortHandle>,
}

#[pymethods]
impl Canceller {
    fn __call__(&self, _future: &Bound<'_, PyAny>) {
        if let Some(abort) = self.abort.get() {
            abort.abort();
        }
    }
}

/// A call in flight on the runtime: delivers its outcome, or on drop
/// (abort, panic) says so, so that the future never hangs and its Python
/// objects are released on the loop's thread.
struct Pending {
    shared: Arc<Shared>,
    objects: Option<(Py<PyAny>, Py<PyAny>)>,
}

impl Pending {
    fn finish(mut self, done: Done) {
        if let Some((future, canceller)) = self.objects.take() {
            self.shared.push(Completion {
                future,
                canceller,
                done,
            });
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some((future, canceller)) = self.objects.take() {
            let done = if std::thread::panicking() {
                Done::Panicked
            } else {
                Done::Dropped
            };
            self.shared.push(Completion {
                future,
                canceller,
                done,
            });
        }
    }
}

/// Runs `fut` on the runtime and returns an `asyncio.Future` of the
/// running loop that resolves to its outcome; when this loop cannot
/// watch a file descriptor (`add_reader`), `fut` comes back unrun, for the
/// caller's fallback.
pub(crate) fn spawn<'py, F>(py: Python<'py>, fut: F) -> PyResult<Result<Bound<'py, PyAny>, F>>
where
    F: Future<Output = Outcome> + Send + 'static,
{
    let event_loop = running_loop(py)?;
    let Some(shared) = waker_for(py, &event_loop)? else {
        return Ok(Err(fut));
    };
    let future = event_loop.call_method0(intern!(py, "create_future"))?;
    resolve_with(py, &shared, &future, fut)?;
    Ok(Ok(future))
}

/// Resolves `future` (of `event_loop`) with the outcome of `fut`, run on
/// the runtime; `false` if the loop cannot watch a file descriptor.
pub(crate) fn spawn_into<F>(
    py: Python<'_>,
    event_loop: &Bound<'_, PyAny>,
    future: &Bound<'_, PyAny>,
    fut: F,
) -> PyResult<bool>
where
    F: Future<Output = Outcome> + Send + 'static,
{
    let Some(shared) = waker_for(py, event_loop)? else {
        return Ok(false);
    };
    resolve_with(py, &shared, future, fut)?;
    Ok(true)
}

fn resolve_with<F>(
    py: Python<'_>,
    shared: &Arc<Shared>,
    future: &Bound<'_, PyAny>,
    fut: F,
) -> PyResult<()>
where
    F: Future<Output = Outcome> + Send + 'static,
{
    let rt = runtime(py)?;
    let canceller = Bound::new(
        py,
        Canceller {
            abort: OnceLock::new(),
        },
    )?;
    let pending = Pending {
        shared: shared.clone(),
        objects: Some((
            future.clone().unbind(),
            canceller.clone().into_any().unbind(),
        )),
    };
    let task = rt.spawn(async move {
        let outcome = fut.await;
        pending.finish(Done::Ready(outcome));
    });
    let _ = canceller.get().abort.set(task.abort_handle());
    future.call_method1(intern!(py, "add_done_callback"), (canceller,))?;
    Ok(())
}

/// `asyncio.get_running_loop()`.
pub(crate) fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    GET_RUNNING_LOOP
        .import(py, "asyncio", "get_running_loop")?
        .call0()
}

/// The loop used last and its waker (read with the GIL held): the common
/// case of one loop skips the registry. It keeps that loop alive.
static LAST: Mutex<Option<LastLoop>> = Mutex::new(None);

/// A loop and its waker (`None`: the loop cannot watch a descriptor).
type LastLoop = (Py<PyAny>, Option<Arc<Shared>>);

/// The waker of `event_loop` (`None`: the loop cannot watch a file
/// descriptor), made and registered on its first call. Wakers live in a
/// `weakref.WeakKeyDictionary` keyed by loop, so each lives (with its
/// sockets) as long as its loop.
fn waker_for(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Option<Arc<Shared>>> {
    if let Some((last, shared)) = lock(&LAST).as_ref() {
        if last.bind(py).is(event_loop) {
            return Ok(shared.clone());
        }
    }
    static WAKERS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let wakers = WAKERS
        .get_or_try_init(py, || {
            py.import("weakref")?
                .getattr("WeakKeyDictionary")?
                .call0()
                .map(Bound::unbind)
        })?
        .bind(py);
    let known = wakers.call_method1(intern!(py, "get"), (event_loop,))?;
    let shared = if known.is_none() {
        match register(py, event_loop)? {
            Some(waker) => {
                let shared = waker.get().shared.clone();
                wakers.set_item(event_loop, waker)?;
                Some(shared)
            }
            None => {
                // Remembered, so the next call does not try again.
                wakers.set_item(event_loop, false)?;
                None
            }
        }
    } else {
        known
            .cast::<LoopWaker>()
            .ok()
            .map(|waker| waker.get().shared.clone())
    };
    *lock(&LAST) = Some((event_loop.clone().unbind(), shared.clone()));
    Ok(shared)
}

/// A new waker with its read end registered on `event_loop`; `None` if the
/// loop has no `add_reader` (Windows' proactor loop).
fn register<'py>(
    py: Python<'py>,
    event_loop: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, LoopWaker>>> {
    let io = |e: std::io::Error| PyRuntimeError::new_err(format!("redkeep: wake-up channel: {e}"));
    let (read, write) = UnixStream::pair().map_err(io)?;
    read.set_nonblocking(true).map_err(io)?;
    write.set_nonblocking(true).map_err(io)?;
    let fd = read.as_raw_fd();
    let waker = Bound::new(
        py,
        LoopWaker {
            shared: Arc::new(Shared {
                queue: Mutex::new(Vec::new()),
                signalled: AtomicBool::new(false),
                write,
            }),
            read,
            spare: Mutex::new(Vec::new()),
        },
    )?;
    match event_loop.call_method1(intern!(py, "add_reader"), (fd, waker.clone())) {
        Ok(_) => Ok(Some(waker)),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyNotImplementedError>(py) => Ok(None),
        Err(e) => Err(e),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
