//! The one process-wide tokio runtime for callers that do not bring their
//! own: the C ABI, the Go package over it, and the Python package. Rust
//! programs use their own runtime and never need this.
//!
//! It is built on first use, with `$REDKEEP_RUNTIME_THREADS` worker threads
//! (1 to 64; default: the number of CPUs, between 2 and 4). A forked child
//! gets a new one on its first use: a tokio runtime does not survive
//! `fork()` (the child has its memory but none of its threads), so the
//! parent's is leaked there, never dropped. [`shutdown`] stops it and joins
//! its threads; the next use builds another.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use tokio::runtime::{Handle, Runtime};

use crate::error::{Error, ErrorKind, Result};

struct Current {
    runtime: Runtime,
    pid: u32,
    epoch: u64,
}

static CURRENT: Mutex<Option<Current>> = Mutex::new(None);
static EPOCH: Mutex<u64> = Mutex::new(0);

/// What [`handle`] returns, readable without a lock: taken on every call of
/// an asyncio `execute`, and after `fork()` a lock held by a thread that no
/// longer exists would never be released.
struct Published {
    handle: Handle,
    pid: u32,
    epoch: u64,
}

static PUBLISHED: ArcSwapOption<Published> = ArcSwapOption::const_empty();

/// The runtime's handle, and the epoch it belongs to: [`is_current`] tells
/// whether that runtime still runs.
pub fn handle() -> Result<(Handle, u64)> {
    if let Some(p) = PUBLISHED.load().as_ref() {
        if p.pid == crate::server::pid::current() {
            return Ok((p.handle.clone(), p.epoch));
        }
    }
    let out = build_or_get()?;
    PUBLISHED.store(Some(Arc::new(Published {
        handle: out.0.clone(),
        pid: crate::server::pid::current(),
        epoch: out.1,
    })));
    Ok(out)
}

fn build_or_get() -> Result<(Handle, u64)> {
    let mut current = lock(&CURRENT);
    let pid = crate::server::pid::current();
    if let Some(c) = current.take() {
        if c.pid == pid {
            let out = (c.runtime.handle().clone(), c.epoch);
            *current = Some(c);
            return Ok(out);
        }
        // A forked child: the runtime's threads are not here.
        std::mem::forget(c);
        *lock(&EPOCH) += 1;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .thread_name("redkeep-rt")
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot start the redkeep runtime: {e}"),
            )
        })?;
    let epoch = *lock(&EPOCH);
    let out = (runtime.handle().clone(), epoch);
    *current = Some(Current {
        runtime,
        pid,
        epoch,
    });
    Ok(out)
}

/// Whether the runtime of `epoch` (from [`handle`]) is still the running one.
pub fn is_current(epoch: u64) -> bool {
    PUBLISHED
        .load()
        .as_ref()
        .is_some_and(|p| p.epoch == epoch && p.pid == crate::server::pid::current())
}

/// Stops the runtime, waiting up to `timeout` for its tasks, and joins its
/// threads. Handles from before fail [`is_current`]; a later [`handle`]
/// builds a new runtime. A no-op if none runs (or in a forked child, whose
/// inherited runtime has no threads to join).
pub fn shutdown(timeout: Duration) {
    PUBLISHED.store(None);
    let taken = lock(&CURRENT).take();
    if let Some(c) = taken {
        *lock(&EPOCH) += 1;
        if c.pid == crate::server::pid::current() {
            c.runtime.shutdown_timeout(timeout);
        } else {
            std::mem::forget(c);
        }
    }
}

/// `$REDKEEP_RUNTIME_THREADS` (1 to 64), or the CPUs between 2 and 4.
fn worker_threads() -> usize {
    std::env::var("REDKEEP_RUNTIME_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .clamp(2, 4)
        })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shutdown_ends_the_epoch_and_the_next_use_builds_a_new_runtime() {
        let (handle, epoch) = handle().unwrap();
        assert_eq!(handle.block_on(async { 7 }), 7);
        assert!(is_current(epoch));
        shutdown(Duration::from_secs(1));
        assert!(!is_current(epoch));
        let (again, next) = super::handle().unwrap();
        assert_ne!(next, epoch);
        assert_eq!(again.block_on(async { 8 }), 8);
        shutdown(Duration::from_secs(1));
    }
}
