//! Pool metrics after the OpenTelemetry `db.client.connection.*` semantic
//! conventions, plus redkeep's own (health state, reconnects, fast fails,
//! evictions, probe round trips): collected in the core, read as a
//! [`Metrics`] snapshot, rendered as Prometheus text ([`render`],
//! [`Pool::metrics_text`](crate::Pool::metrics_text)), exported through
//! OpenTelemetry with the `otel` feature.
//!
//! | Prometheus name | OpenTelemetry instrument | kind |
//! |---|---|---|
//! | `db_client_connection_count{state}` | `db.client.connection.count` | gauge (idle / used) |
//! | `db_client_connection_idle_min` | `db.client.connection.idle.min` | gauge |
//! | `db_client_connection_max` | `db.client.connection.max` | gauge |
//! | `db_client_connection_pending_requests` | `db.client.connection.pending_requests` | gauge |
//! | `db_client_connection_timeouts_total` | `db.client.connection.timeouts` | counter |
//! | `db_client_connection_create_time_seconds` | `db.client.connection.create_time` | histogram |
//! | `db_client_connection_wait_time_seconds` | `db.client.connection.wait_time` | histogram |
//! | `db_client_connection_use_time_seconds` | `db.client.connection.use_time` | histogram |
//! | `redkeep_health_state{state}` | `redkeep.health.state` | gauge (1 for the current state) |
//! | `redkeep_probe_rtt_seconds` | `redkeep.probe.rtt` | histogram |
//! | `redkeep_reconnects_total`, `redkeep_fast_fails_total`, `redkeep_evictions_total`, ... | `redkeep.reconnects`, ... | counters |
//!
//! Every series carries the pool's redacted address as `pool`
//! (`db.client.connection.pool.name` in OpenTelemetry).

mod health_json;
mod histogram;
#[cfg(feature = "otel")]
mod otel;
mod prometheus;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

pub use self::health_json::health_json;
pub use self::histogram::{HistogramSnapshot, BUCKETS, BUCKETS_NS};
#[cfg(feature = "otel")]
pub use self::otel::register;
pub use self::prometheus::render;

use self::histogram::Histogram;
use crate::health::{Health, State};
use crate::stats::Stats;

/// Records into the pool's OpenTelemetry histogram `$field` too, if registered.
macro_rules! export {
    ($self:ident, $field:ident, $d:expr) => {
        #[cfg(feature = "otel")]
        if let Some(o) = $self.otel.get() {
            o.$field.record($d.as_secs_f64(), &o.attrs);
        }
    };
}

/// The collecting side, one per pool, inside the core.
#[derive(Debug)]
pub(crate) struct Recorder {
    /// The pool's name: its redacted address.
    pub(crate) name: Box<str>,
    /// Whether the call paths time their calls (`Config::metrics`).
    timed: bool,
    create: Histogram,
    wait: Histogram,
    used: Histogram,
    probe_rtt: Histogram,
    /// Callers of the shared path waiting for its connect now.
    pending: AtomicU64,
    /// OpenTelemetry histograms, once registered.
    #[cfg(feature = "otel")]
    otel: std::sync::OnceLock<otel::Histograms>,
}

impl Recorder {
    pub(crate) fn new(name: String, timed: bool) -> Self {
        Self {
            name: name.into_boxed_str(),
            timed,
            create: Histogram::default(),
            wait: Histogram::default(),
            used: Histogram::default(),
            probe_rtt: Histogram::default(),
            pending: AtomicU64::new(0),
            #[cfg(feature = "otel")]
            otel: std::sync::OnceLock::new(),
        }
    }

    /// Sets the OpenTelemetry histograms; false if already set.
    #[cfg(feature = "otel")]
    pub(crate) fn set_otel(&self, h: otel::Histograms) -> bool {
        self.otel.set(h).is_ok()
    }

    /// The start of a wait for a connection (`None`: calls are not timed).
    #[inline]
    pub(crate) fn start(&self) -> Option<Instant> {
        if self.timed {
            Some(Instant::now())
        } else {
            None
        }
    }

    /// Records the wait since `start`; returns the start of the use.
    #[inline]
    pub(crate) fn waited(&self, start: Option<Instant>) -> Option<Instant> {
        start.map(|s| {
            let now = Instant::now();
            let d = now.saturating_duration_since(s);
            self.wait.record(d);
            export!(self, wait_time, d);
            now
        })
    }

    /// Records a wait that did not happen (the connection was ready) and
    /// returns `start` as the start of the use: no clock read.
    #[inline]
    pub(crate) fn ready(&self, start: Option<Instant>) -> Option<Instant> {
        if start.is_some() {
            self.wait.record_zero();
            export!(self, wait_time, Duration::ZERO);
        }
        start
    }

    /// Records the wait since `start` if the caller `waited` (for a
    /// connect), else a zero wait ([`Recorder::ready`]); returns the start
    /// of the use.
    #[inline]
    pub(crate) fn waited_if(&self, start: Option<Instant>, waited: bool) -> Option<Instant> {
        if waited {
            self.waited(start)
        } else {
            self.ready(start)
        }
    }

    /// Records the use of a connection since `start` (from [`Recorder::waited`]).
    #[inline]
    pub(crate) fn used(&self, start: Option<Instant>) {
        if let Some(s) = start {
            let d = s.elapsed();
            self.used.record(d);
            export!(self, use_time, d);
        }
    }

    /// Records the time a successful connect took.
    pub(crate) fn created(&self, took: Duration) {
        self.create.record(took);
        export!(self, create_time, took);
    }

    /// Records a successful health probe's round trip.
    pub(crate) fn probed(&self, rtt: Duration) {
        self.probe_rtt.record(rtt);
        export!(self, probe_rtt, rtt);
    }

    /// Counts a caller waiting for a connect until the guard drops.
    pub(crate) fn pending(&self) -> Pending<'_> {
        self.pending.fetch_add(1, Relaxed);
        Pending(&self.pending)
    }
}

/// A caller counted in `pending_requests`, until dropped.
pub(crate) struct Pending<'a>(&'a AtomicU64);

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// One pool's metrics at one moment, read without I/O
/// ([`Pool::metrics`](crate::Pool::metrics)).
///
/// Connection counts cover every set of the pool: exclusive
/// ([`Pool::get`](crate::Pool::get)), calling-thread
/// ([`Pool::query_blocking`](crate::Pool::query_blocking)) and shared
/// multiplexed ([`Pool::query`](crate::Pool::query)); a shared connection
/// is always `used` (every caller uses it at once).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Metrics {
    /// The pool's redacted address (`db.client.connection.pool.name`).
    pub pool: String,
    /// The health state now.
    pub state: State,
    /// The health snapshot the state comes from.
    pub health: Health,
    /// Connections open and idle now.
    pub idle: u64,
    /// Connections open and in use now.
    pub used: u64,
    /// `pool.min_idle`.
    pub idle_min: u64,
    /// The most connections the pool may hold: the exclusive and the
    /// calling-thread caps (`pool.max_size` each) plus `pool.multiplexed`.
    pub max: u64,
    /// Callers waiting for a connection now (a checkout, or a shared
    /// connection being connected).
    pub pending_requests: u64,
    /// Checkouts that ran out of `timeouts.wait`.
    pub timeouts: u64,
    /// How long successful connects took (handshake and first `PING`).
    pub create_time: HistogramSnapshot,
    /// How long callers waited for a connection (zero if `Config::metrics` is off).
    pub wait_time: HistogramSnapshot,
    /// How long callers held a connection: a checkout until it went back,
    /// a shared command until its reply (zero if `Config::metrics` is off).
    pub use_time: HistogramSnapshot,
    /// Round trips of successful health probes.
    pub probe_rtt: HistogramSnapshot,
    /// The pool's counters and set sizes.
    pub stats: Stats,
    /// Restarts of the local server the pool owns, if it owns one (set it
    /// yourself for a server you supervise, as `redkeep ensure` does).
    pub server_restarts: Option<u64>,
}

impl Metrics {
    pub(crate) fn collect(
        recorder: &Recorder,
        health: Health,
        stats: Stats,
        config: &crate::Config,
        server_restarts: Option<u64>,
    ) -> Self {
        let idle = (stats.idle + stats.thread_idle) as u64;
        let used = (stats.size.saturating_sub(stats.idle)
            + stats.thread_open.saturating_sub(stats.thread_idle)
            + stats.shared_open) as u64;
        Metrics {
            pool: recorder.name.to_string(),
            state: health.state,
            health,
            idle,
            used,
            idle_min: config.pool.min_idle as u64,
            max: (2 * config.pool.max_size + config.pool.multiplexed) as u64,
            pending_requests: stats.waiting as u64 + recorder.pending.load(Relaxed),
            timeouts: stats.checkout_timeouts,
            create_time: recorder.create.snapshot(),
            wait_time: recorder.wait.snapshot(),
            use_time: recorder.used.snapshot(),
            probe_rtt: recorder.probe_rtt.snapshot(),
            stats,
            server_restarts,
        }
    }

    /// This pool's metrics as Prometheus text (format 0.0.4); [`render`]
    /// puts several pools in one exposition.
    pub fn to_prometheus(&self) -> String {
        render(std::slice::from_ref(self))
    }

    /// The `/health` answer for this pool: see [`health_json`].
    pub fn health_json(&self) -> (u16, String) {
        health_json(&self.pool, &self.health, self.server_restarts)
    }
}
