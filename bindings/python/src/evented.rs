//! The asyncio call that needs no runtime thread: the core writes the
//! command on a calling-thread connection ([`redkeep::Pool::begin_evented`])
//! and the event loop reads the reply when the socket is readable
//! (`loop.add_reader`), with a `loop.call_later` timer for the core's reply
//! timeout. Used while no other such call of the pool is in flight (one
//! task awaiting one call at a time: the shape of most handlers); anything
//! else goes through the runtime and [`crate::completion`].
//!
//! Only glue: which connection, whether the command may go this way, what
//! a timeout or a failure does to the connection, and the one re-send of a
//! read-only command are the core's decisions.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::intern;
use pyo3::prelude::*;

use redkeep::redis::Cmd;
use redkeep::{Begun, Finished, PendingReply};

use crate::convert::Outcome;

/// What [`start`] did with a command.
pub(crate) enum Started<'py> {
    /// The call's future.
    Future(Bound<'py, PyAny>),
    /// Not started: run it through the runtime.
    UseRuntime(Cmd),
}

/// Starts `cmd` on the running loop without a runtime thread if it can go
/// that way; `busy` is the pool's flag of such a call in flight.
pub(crate) fn start<'py>(
    py: Python<'py>,
    pool: &redkeep::Pool,
    busy: &Arc<AtomicBool>,
    decode: bool,
    cmd: Cmd,
) -> PyResult<Started<'py>> {
    let event_loop = crate::completion::running_loop(py)?;
    if busy.swap(true, Ordering::AcqRel) {
        return Ok(Started::UseRuntime(cmd));
    }
    let started = begin(py, &event_loop, pool, busy, decode, cmd);
    if started.is_err() {
        busy.store(false, Ordering::Release);
    }
    started
}

/// [`start`] once `busy` is taken: clears it unless the call is in flight.
fn begin<'py>(
    py: Python<'py>,
    event_loop: &Bound<'py, PyAny>,
    pool: &redkeep::Pool,
    busy: &Arc<AtomicBool>,
    decode: bool,
    cmd: Cmd,
) -> PyResult<Started<'py>> {
    let pending = match pool.begin_evented(cmd) {
        Begun::Written(pending) => pending,
        Begun::UseRuntime(cmd) => {
            busy.store(false, Ordering::Release);
            return Ok(Started::UseRuntime(cmd));
        }
        Begun::Finished(finished) => {
            busy.store(false, Ordering::Release);
            let future = event_loop.call_method0(intern!(py, "create_future"))?;
            finish(py, event_loop, &future, finished, decode);
            return Ok(Started::Future(future));
        }
    };
    let future = event_loop.call_method0(intern!(py, "create_future"))?;
    let fd = pending.raw_fd();
    let timeout = pending.timeout().as_secs_f64();
    let call = Bound::new(
        py,
        EventedCall {
            state: Mutex::new(Some(State {
                pending,
                timer: None,
            })),
            event_loop: event_loop.clone().unbind(),
            future: future.clone().unbind(),
            busy: busy.clone(),
            fd,
            decode,
        },
    )?;
    // From here on the call ends through `readable` or `expired` only.
    let registered = event_loop
        .call_method1(intern!(py, "add_reader"), (fd, call.clone()))
        .and_then(|_| {
            event_loop.call_method1(
                intern!(py, "call_later"),
                (timeout, call.getattr(intern!(py, "expired"))?),
            )
        });
    match registered {
        Ok(timer) => {
            if let Some(state) = lock(&call.get().state).as_mut() {
                state.timer = Some(timer.unbind());
            }
            Ok(Started::Future(future))
        }
        Err(e) => {
            // Unwatched: drop the written call (its connection with it).
            let _ = event_loop.call_method1(intern!(py, "remove_reader"), (fd,));
            lock(&call.get().state).take();
            busy.store(false, Ordering::Release);
            Err(e)
        }
    }
}

struct State {
    pending: PendingReply,
    timer: Option<Py<PyAny>>,
}

/// One call in flight: the loop calls it when the socket is readable, and
/// its `expired` when the reply timeout passes.
#[pyclass(module = "redkeep._redkeep", frozen)]
struct EventedCall {
    state: Mutex<Option<State>>,
    event_loop: Py<PyAny>,
    future: Py<PyAny>,
    busy: Arc<AtomicBool>,
    fd: i32,
    decode: bool,
}

#[pymethods]
impl EventedCall {
    /// The socket is readable: reads what came, and ends the call once the
    /// reply is complete.
    fn __call__(&self, py: Python<'_>) {
        let mut guard = lock(&self.state);
        let Some(state) = guard.as_mut() else {
            return;
        };
        let Some(finished) = state.pending.poll() else {
            return;
        };
        let state = guard.take();
        drop(guard);
        if let Some(State {
            timer: Some(timer), ..
        }) = state
        {
            let _ = timer.bind(py).call_method0(intern!(py, "cancel"));
        }
        self.end(py);
        let event_loop = self.event_loop.bind(py);
        finish(py, event_loop, self.future.bind(py), finished, self.decode);
    }

    /// The reply timeout passed.
    fn expired(&self, py: Python<'_>) {
        let Some(state) = lock(&self.state).take() else {
            return;
        };
        self.end(py);
        let err = state.pending.expire();
        finish(
            py,
            self.event_loop.bind(py),
            self.future.bind(py),
            Finished::Done(Err(err)),
            self.decode,
        );
    }
}

impl EventedCall {
    fn end(&self, py: Python<'_>) {
        let _ = self
            .event_loop
            .bind(py)
            .call_method1(intern!(py, "remove_reader"), (self.fd,));
        self.busy.store(false, Ordering::Release);
    }
}

/// Resolves `future` with how the call ended (unless it was cancelled),
/// sending a read-only command once more through the runtime if the core
/// says so.
fn finish(
    py: Python<'_>,
    event_loop: &Bound<'_, PyAny>,
    future: &Bound<'_, PyAny>,
    finished: Finished,
    decode: bool,
) {
    let cancelled = future
        .call_method0(intern!(py, "done"))
        .and_then(|d| d.is_truthy())
        .unwrap_or(true);
    if cancelled {
        return;
    }
    let result = match finished {
        Finished::Done(Ok(value)) => Outcome::Reply(value, decode).into_pyobject(py),
        Finished::Done(Err(e)) => Err(crate::errors::to_pyerr(py, &e)),
        Finished::SendAgain(resend) => {
            let call = async move {
                match resend.run().await {
                    Ok(value) => Outcome::Reply(value, decode),
                    Err(e) => Outcome::Error(e),
                }
            };
            match crate::completion::spawn_into(py, event_loop, future, call) {
                Ok(true) => return,
                Ok(false) => Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "redkeep: this event loop cannot watch a socket",
                )),
                Err(e) => Err(e),
            }
        }
    };
    let _ = match result {
        Ok(value) => future.call_method1(intern!(py, "set_result"), (value,)),
        Err(e) => future.call_method1(intern!(py, "set_exception"), (e.into_value(py),)),
    };
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
