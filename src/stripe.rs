//! Striping: state that every call touches, split in a few copies so that
//! threads running calls at once do not contend for one cache line. A
//! thread always takes the same stripe; threads take stripes in turn.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// How many stripes striped state has: enough for the worker threads of a
/// typical runtime plus the calling threads of a binding, few enough that
/// reading every stripe (a scrape, a close) stays cheap.
pub(crate) const STRIPES: usize = 8;

/// The calling thread's stripe, in `0..STRIPES`.
#[inline]
pub(crate) fn index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static MINE: usize = NEXT.fetch_add(1, Relaxed) % STRIPES;
    }
    MINE.with(|i| *i)
}
