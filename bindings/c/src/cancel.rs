//! `redkeep_cancel`: lets another thread abandon a blocking call.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A cancellation handle, created by the caller and passed to blocking
/// calls (`redkeep_pool_exec`, `redkeep_watch_next`, ...). Triggering it makes
/// every call currently waiting on it — and every later call given it —
/// return `REDKEEP_CANCELLED` promptly.
///
/// Cancelling a command that was already written does not unsend it: the
/// server may still execute it.
///
/// Ownership: created by [`redkeep_cancel_new`], released by
/// [`redkeep_cancel_free`] once no call uses it any more.
/// Thread safety: [`redkeep_cancel_trigger`] and [`redkeep_cancel_is_triggered`]
/// may be called from any thread, concurrently with calls using the handle.
pub struct redkeep_cancel {
    triggered: AtomicBool,
    notify: Notify,
}

impl redkeep_cancel {
    pub(crate) fn new() -> Self {
        Self {
            triggered: AtomicBool::new(false),
            notify: Notify::new(),
        }
    }

    pub(crate) fn trigger(&self) {
        self.triggered.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// Resolves once the handle is triggered.
    pub(crate) async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.triggered.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn is_triggered(&self) -> bool {
        self.triggered.load(Ordering::Acquire)
    }
}

/// Creates an untriggered cancellation handle. Returns `NULL` only if
/// allocation fails (it aborts in practice).
///
/// Ownership: the caller owns it; release it with [`redkeep_cancel_free`].
#[no_mangle]
pub extern "C" fn redkeep_cancel_new() -> *mut redkeep_cancel {
    ffi_value!(std::ptr::null_mut(), {
        Box::into_raw(Box::new(redkeep_cancel::new()))
    })
}

/// Triggers the handle: calls waiting on it return `REDKEEP_CANCELLED`.
/// Idempotent; `NULL` is a no-op.
///
/// Thread safety: any thread, concurrently with calls using the handle (but
/// not with [`redkeep_cancel_free`]).
#[no_mangle]
pub unsafe extern "C" fn redkeep_cancel_trigger(cancel: *const redkeep_cancel) {
    ffi_value!((), {
        // SAFETY: the caller passes NULL or a live handle.
        if let Some(cancel) = unsafe { cancel.as_ref() } {
            cancel.trigger();
        }
    })
}

/// Whether the handle was triggered (`false` for `NULL`).
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_cancel_is_triggered(cancel: *const redkeep_cancel) -> bool {
    ffi_value!(false, {
        // SAFETY: the caller passes NULL or a live handle.
        unsafe { cancel.as_ref() }.is_some_and(|c| c.is_triggered())
    })
}

/// Releases the handle. `NULL` is a no-op.
///
/// Thread safety: no call may be using the handle, and no thread may
/// trigger it, during or after this call.
#[no_mangle]
pub unsafe extern "C" fn redkeep_cancel_free(cancel: *mut redkeep_cancel) {
    ffi_value!((), {
        if !cancel.is_null() {
            // SAFETY: came from Box::into_raw in redkeep_cancel_new; freed once.
            drop(unsafe { Box::from_raw(cancel) });
        }
    })
}

/// Runs `fut`, or gives up with `REDKEEP_CANCELLED` when `cancel` fires.
pub(crate) async fn with_cancel<T>(
    cancel: Option<&redkeep_cancel>,
    fut: impl std::future::Future<Output = Result<T, crate::error::Failure>>,
) -> Result<T, crate::error::Failure> {
    let Some(cancel) = cancel else {
        return fut.await;
    };
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(crate::error::Failure::new(
            crate::status::redkeep_status::REDKEEP_CANCELLED,
            "the call was cancelled",
        )),
        result = fut => result,
    }
}
