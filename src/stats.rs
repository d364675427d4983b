//! Pool counters.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters since the pool was built, plus the size of each connection set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Exclusive connections open now (idle + checked out).
    pub size: usize,
    /// Exclusive connections idle now.
    pub idle: usize,
    /// Callers waiting for an exclusive connection now.
    pub waiting: usize,
    /// Successful [`Pool::get`](crate::Pool::get) checkouts.
    pub checkouts: u64,
    /// Checkouts that hit `timeouts.wait`.
    pub checkout_timeouts: u64,
    /// Calls refused with `Unavailable` because the pool was `Down`.
    pub fast_fails: u64,
    /// Connections opened successfully (exclusive, shared and probe).
    pub connects: u64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Reconnect attempts made by the health watch while `Down`.
    pub reconnects: u64,
    /// Connections dropped because they broke, timed out mid-protocol, were
    /// idle when Redis went down, or predate an outage.
    pub evicted: u64,
    /// Health probes sent.
    pub probes: u64,
    /// Health probes that failed.
    pub probe_failures: u64,
    /// Shared multiplexed connections open now (at most `pool.multiplexed`).
    pub shared_open: usize,
    /// Calling-thread connections ([`Pool::query_blocking`](crate::Pool::query_blocking))
    /// open now, idle or in use (at most `pool.max_size`).
    pub thread_open: usize,
    /// Calling-thread connections idle now.
    pub thread_idle: usize,
    /// Times a [`Subscriber`](crate::Subscriber) re-subscribed on a new
    /// connection after losing its own.
    pub resubscribes: u64,
}

/// The atomic side of [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) checkouts: AtomicU64,
    pub(crate) checkout_timeouts: AtomicU64,
    pub(crate) fast_fails: AtomicU64,
    pub(crate) connects: AtomicU64,
    pub(crate) connect_failures: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) evicted: AtomicU64,
    pub(crate) probes: AtomicU64,
    pub(crate) probe_failures: AtomicU64,
    pub(crate) resubscribes: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self, size: usize, idle: usize, waiting: usize) -> Stats {
        Stats {
            size,
            idle,
            waiting,
            checkouts: self.checkouts.load(Relaxed),
            checkout_timeouts: self.checkout_timeouts.load(Relaxed),
            fast_fails: self.fast_fails.load(Relaxed),
            connects: self.connects.load(Relaxed),
            connect_failures: self.connect_failures.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            evicted: self.evicted.load(Relaxed),
            probes: self.probes.load(Relaxed),
            probe_failures: self.probe_failures.load(Relaxed),
            shared_open: 0,
            thread_open: 0,
            thread_idle: 0,
            resubscribes: self.resubscribes.load(Relaxed),
        }
    }
}
