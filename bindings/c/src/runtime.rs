//! The core's process-wide tokio runtime ([`redkeep::runtime`]), as the C
//! handles use it: each remembers the runtime it was made on and fails with
//! `REDKEEP_CLOSED` once that runtime is gone.

use std::future::Future;
use std::time::Duration;

use tokio::runtime::Handle;

use crate::error::Failure;
use crate::status::redkeep_status;

/// The runtime a handle was created on.
#[derive(Clone)]
pub(crate) struct Rt {
    handle: Handle,
    /// The core runtime's epoch: ended by [`redkeep_shutdown`] (and, for a
    /// forked child, by the fork).
    epoch: u64,
}

impl Rt {
    /// The process-wide runtime, created if needed.
    pub(crate) fn get() -> Result<Rt, Failure> {
        let (handle, epoch) = redkeep::runtime::handle()?;
        Ok(Rt { handle, epoch })
    }

    /// Fails with `REDKEEP_CLOSED` if the runtime this handle was made on
    /// is gone.
    pub(crate) fn check(&self) -> Result<(), Failure> {
        if redkeep::runtime::is_current(self.epoch) {
            Ok(())
        } else {
            Err(Failure::new(
                redkeep_status::REDKEEP_CLOSED,
                "the runtime this handle was created on is gone: redkeep_shutdown() was \
                 called after it was created, or this is a forked child",
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

/// Stops the process-wide runtime and joins its threads (waiting up to 2 s
/// for its tasks to finish).
///
/// The runtime is created on first use, with `$REDKEEP_RUNTIME_THREADS`
/// worker threads (1 to 64; default: the number of CPUs, between 2 and 4).
/// It is the same runtime the Rust core gives every binding; a forked child
/// gets a new one on its first call (handles inherited from the parent fail
/// there with `REDKEEP_CLOSED`).
///
/// Optional: call it once at the end of a program that wants a clean exit
/// (leak checkers, embedding hosts that unload the library), after every
/// pool, server and watch has been freed. Handles created before it fail
/// afterwards with `REDKEEP_CLOSED` (freeing them is still safe); a later
/// call that needs the runtime creates a new one. Calling it twice, or
/// before any other call, is a no-op.
///
/// Thread safety: any thread, but not from inside a redkeep call (it must
/// not race with calls that use the runtime).
#[no_mangle]
pub extern "C" fn redkeep_shutdown() {
    ffi_value!((), {
        redkeep::runtime::shutdown(Duration::from_secs(2));
    })
}
