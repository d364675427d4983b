//! The one process-wide tokio runtime, created on first use.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};

use crate::error::Failure;
use crate::status::redkeep_status;

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);
/// Bumped by every [`redkeep_shutdown`]; a handle built in an older epoch
/// belongs to a runtime that is gone.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// The runtime a handle was created on.
#[derive(Clone)]
pub(crate) struct Rt {
    handle: Handle,
    epoch: u64,
}

impl Rt {
    /// The process-wide runtime, created if needed.
    pub(crate) fn get() -> Result<Rt, Failure> {
        let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(worker_threads())
                .thread_name("redkeep-rt")
                .enable_all()
                .build()
                .map_err(|e| {
                    Failure::new(
                        redkeep_status::REDKEEP_IO,
                        format!("cannot start the redkeep runtime: {e}"),
                    )
                })?;
            *slot = Some(runtime);
        }
        let handle = slot.as_ref().expect("just set").handle().clone();
        Ok(Rt {
            handle,
            epoch: EPOCH.load(Ordering::Acquire),
        })
    }

    /// Fails with `REDKEEP_CLOSED` if the runtime this handle was made on
    /// was shut down.
    pub(crate) fn check(&self) -> Result<(), Failure> {
        if self.epoch == EPOCH.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(Failure::new(
                redkeep_status::REDKEEP_CLOSED,
                "redkeep_shutdown() was called after this handle was created",
            ))
        }
    }

    /// Runs `fut` to completion on the calling thread, with the runtime's
    /// I/O and timers (driven by its workers).
    pub(crate) fn block_on<F: Future>(&self, fut: F) -> Result<F::Output, Failure> {
        self.check()?;
        Ok(self.handle.block_on(fut))
    }

    /// Runs `fut` as a task on the runtime's workers.
    pub(crate) fn spawn<F>(&self, fut: F) -> Result<(), Failure>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.check()?;
        drop(self.handle.spawn(fut));
        Ok(())
    }

    /// Runs `f` inside the runtime's context (for drops and constructors
    /// that spawn tasks), if the runtime is still alive.
    pub(crate) fn enter<T>(&self, f: impl FnOnce() -> T) -> Result<T, Failure> {
        self.check()?;
        let _guard = self.handle.enter();
        Ok(f())
    }
}

/// Worker threads of the runtime: `$REDKEEP_RUNTIME_THREADS` (1 to 64), or 2.
fn worker_threads() -> usize {
    std::env::var("REDKEEP_RUNTIME_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or(2)
}

/// Stops the process-wide runtime and joins its threads (waiting up to 2 s
/// for tasks to finish).
///
/// Optional: call it once at the end of a program that wants a clean exit
/// (leak checkers, embedding hosts that unload the library), after every
/// pool, server and watch has been freed. Handles created before it fail
/// afterwards with `REDKEEP_CLOSED`; a later call that needs the runtime
/// creates a new one. Calling it twice, or before any other call, is a
/// no-op.
///
/// Thread safety: any thread, but not from inside a redkeep call (it must
/// not race with calls that use the runtime).
#[no_mangle]
pub extern "C" fn redkeep_shutdown() {
    ffi_value!((), {
        let runtime = RUNTIME.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(runtime) = runtime {
            EPOCH.fetch_add(1, Ordering::AcqRel);
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    })
}
