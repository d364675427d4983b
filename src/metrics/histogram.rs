//! A lock-free histogram with fixed buckets: one relaxed add for the bucket,
//! one for the sum, no allocation, no lock — on a stripe of the calling
//! thread's own, so that threads recording at once do not contend for one
//! cache line (a read sums the stripes).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::stripe::{self, STRIPES};

/// Upper bounds of the buckets, in seconds (the last bucket, `+Inf`, is
/// implicit): from 100 µs, for a command on a local link, to 10 s, for a
/// connect at the end of its timeout. They extend the OpenTelemetry
/// recommendation for `db.client.connection.*` durations
/// (0.001 … 10) downwards, where a pool's commands are.
pub const BUCKETS: [f64; 15] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0,
];

/// The same bounds in whole nanoseconds, as the histograms compare them on
/// record (for bindings that carry durations as integers).
pub const BUCKETS_NS: [u64; 15] = {
    let mut out = [0u64; 15];
    let mut i = 0;
    while i < BUCKETS.len() {
        out[i] = (BUCKETS[i] * 1e9) as u64;
        i += 1;
    }
    out
};

/// One thread's share of a histogram, on cache lines of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Stripe {
    /// `counts[i]` holds durations `<= BUCKETS[i]` and `> BUCKETS[i-1]`;
    /// the last one those above every bound.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_ns: AtomicU64,
}

/// Counts of durations per bucket, and their sum.
#[derive(Debug, Default)]
pub(crate) struct Histogram {
    stripes: [Stripe; STRIPES],
}

impl Histogram {
    /// Records one duration.
    #[inline]
    pub(crate) fn record(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let i = BUCKETS_NS.partition_point(|&bound| bound < ns);
        let stripe = &self.stripes[stripe::index()];
        stripe.counts[i].fetch_add(1, Relaxed);
        stripe.sum_ns.fetch_add(ns, Relaxed);
    }

    /// Records a zero duration: one add, to the first bucket.
    #[inline]
    pub(crate) fn record_zero(&self) {
        self.stripes[stripe::index()].counts[0].fetch_add(1, Relaxed);
    }

    /// The counts now. Concurrent records may land between two loads: the
    /// snapshot is consistent per bucket, not across them (as any scrape).
    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let mut counts = [0u64; BUCKETS.len() + 1];
        let mut sum_ns = 0u64;
        for stripe in &self.stripes {
            for (out, c) in counts.iter_mut().zip(&stripe.counts) {
                *out += c.load(Relaxed);
            }
            sum_ns = sum_ns.saturating_add(stripe.sum_ns.load(Relaxed));
        }
        HistogramSnapshot {
            counts,
            sum: Duration::from_nanos(sum_ns),
        }
    }
}

/// A histogram read at one moment: counts per bucket of [`BUCKETS`] (not
/// cumulative; the last entry counts what lies above the last bound) and
/// the sum of everything recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Per bucket, not cumulative: `counts[i]` lies in
    /// `(BUCKETS[i-1], BUCKETS[i]]`; `counts[BUCKETS.len()]` above the last.
    pub counts: [u64; BUCKETS.len() + 1],
    /// The sum of the recorded durations.
    pub sum: Duration,
}

impl HistogramSnapshot {
    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Cumulative counts, one per bound of [`BUCKETS`] then `+Inf`, as
    /// Prometheus `_bucket{le=...}` series show them.
    pub fn cumulative(&self) -> [u64; BUCKETS.len() + 1] {
        let mut out = self.counts;
        for i in 1..out.len() {
            out[i] += out[i - 1];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_their_upper_bound() {
        let h = Histogram::default();
        h.record(Duration::from_micros(100)); // exactly the first bound
        h.record(Duration::from_micros(101));
        h.record(Duration::from_secs(60));
        h.record(Duration::ZERO);
        h.record_zero();
        let s = h.snapshot();
        assert_eq!(s.counts[0], 3);
        assert_eq!(s.counts[1], 1);
        assert_eq!(s.counts[BUCKETS.len()], 1);
        assert_eq!(s.count(), 5);
        assert_eq!(s.cumulative()[BUCKETS.len()], 5);
        assert_eq!(s.sum, Duration::from_micros(201) + Duration::from_secs(60));
    }

    #[test]
    fn records_of_many_threads_add_up() {
        let h = std::sync::Arc::new(Histogram::default());
        let threads: Vec<_> = (0..STRIPES * 2 + 1)
            .map(|_| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        h.record(Duration::from_millis(2));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = h.snapshot();
        let n = (STRIPES * 2 + 1) as u64 * 1000;
        assert_eq!(s.count(), n);
        assert_eq!(s.counts[4], n); // (1 ms, 2.5 ms]
        assert_eq!(s.sum, Duration::from_millis(2) * n as u32);
    }
}
