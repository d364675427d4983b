//! `redkeep_watch`: wait for health changes of a pool.

use std::sync::Mutex;

use tokio::sync::watch;

use crate::args::{arg_out, arg_ref, write_out};
use crate::cancel::{redkeep_cancel, with_cancel};
use crate::error::{redkeep_error, Failure};
use crate::pool::{redkeep_health, redkeep_pool};
use crate::runtime::Rt;
use crate::status::{redkeep_phase, redkeep_status};

/// A subscription to a pool's health changes.
///
/// Ownership: created by [`redkeep_pool_watch`], released by
/// [`redkeep_watch_free`]; it may outlive the pool (it then reports
/// `REDKEEP_CLOSED` or waits until its timeout). Thread safety: one [`redkeep_watch_next`] at a
/// time (concurrent calls wait for each other); use one watch per thread to
/// wait in parallel.
pub struct redkeep_watch {
    rx: Mutex<watch::Receiver<redkeep::Health>>,
    rt: Rt,
}

/// Subscribes to the pool's health changes; the first
/// [`redkeep_watch_next`] reports the first change after this call.
///
/// On success `*out` receives a watch owned by the caller.
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_watch(
    pool: *const redkeep_pool,
    out: *mut *mut redkeep_watch,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        arg_out(out, "out")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, std::ptr::null_mut()) };
        // SAFETY: NULL or a live pool per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        let mut rx = pool.pool.watch();
        rx.mark_unchanged();
        let handle = Box::new(redkeep_watch {
            rx: Mutex::new(rx),
            rt: pool.rt.clone(),
        });
        // SAFETY: as above; the caller owns the watch.
        unsafe { write_out(out, Box::into_raw(handle)) };
        Ok(())
    })
}

/// Blocks until the pool's health changes, then fills `*out` with the new
/// health. Changes that happen while nobody waits are coalesced: the next
/// call reports the latest state at once.
///
/// Returns `REDKEEP_TIMEOUT` if nothing changed within `timeout_ms` (`0`
/// waits without limit), `REDKEEP_CANCELLED` when `cancel` (may be `NULL`)
/// is triggered, `REDKEEP_CLOSED` when the pool is gone.
/// Thread safety: see [`redkeep_watch`].
#[no_mangle]
pub unsafe extern "C" fn redkeep_watch_next(
    watch: *const redkeep_watch,
    timeout_ms: u32,
    cancel: *const redkeep_cancel,
    out: *mut redkeep_health,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        // SAFETY: NULL or a live watch / cancel handle per the contract.
        let watch = unsafe { arg_ref(watch, "watch") }?;
        // SAFETY: as above.
        let cancel = unsafe { cancel.as_ref() };
        arg_out(out, "out")?;
        let mut rx = watch.rx.lock().unwrap_or_else(|p| p.into_inner());
        let wait = async {
            rx.changed()
                .await
                .map_err(|_| Failure::new(redkeep_status::REDKEEP_CLOSED, "the pool is gone"))?;
            Ok(redkeep_health::from_health(&rx.borrow_and_update()))
        };
        let health = watch
            .rt
            .block_on(with_cancel(cancel, at_most(timeout_ms, wait)))??;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, health) };
        Ok(())
    })
}

/// Waits for `wait` at most `timeout_ms` (`0` = no limit): this is the
/// watch's own wait for a change, not a command's timeout.
async fn at_most<T>(
    timeout_ms: u32,
    wait: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    if timeout_ms == 0 {
        return wait.await;
    }
    let limit = std::time::Duration::from_millis(u64::from(timeout_ms));
    match tokio::time::timeout(limit, wait).await {
        Ok(result) => result,
        Err(_) => Err(Failure {
            status: redkeep_status::REDKEEP_TIMEOUT,
            // As documented since the first version of the ABI.
            phase: redkeep_phase::REDKEEP_PHASE_COMMAND,
            message: format!("no health change within {timeout_ms}ms"),
        }),
    }
}

/// Releases a watch. `NULL` is a no-op.
///
/// Thread safety: no call may use the watch during or after this one.
#[no_mangle]
pub unsafe extern "C" fn redkeep_watch_free(watch: *mut redkeep_watch) {
    ffi_value!((), {
        if !watch.is_null() {
            // SAFETY: came from Box::into_raw in redkeep_pool_watch; freed once.
            drop(unsafe { Box::from_raw(watch) });
        }
    })
}
