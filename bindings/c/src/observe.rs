//! Observability: the core's metrics snapshot (as a struct and as
//! Prometheus text) and `/health` answer for a pool, and the library's log events delivered to a callback.

use std::ffi::{c_char, c_void, CString};

use crate::args::{arg_out, arg_ref, write_out};
use crate::error::{redkeep_error, Failure};
use crate::pool::{redkeep_health, redkeep_pool, redkeep_stats};
use crate::status::redkeep_status;

/// Writes an owned copy of `text` (NUL-terminated) to `*out` and its length
/// without the NUL to `*out_len` (if not `NULL`).
fn give_string(text: String, out: *mut *mut c_char, out_len: *mut usize) -> Result<(), Failure> {
    let len = text.len();
    let owned = CString::new(text)
        .map_err(|_| Failure::new(redkeep_status::REDKEEP_PANIC, "a NUL inside library text"))?;
    // SAFETY: `out` was checked non-NULL by the caller of this function.
    unsafe { write_out(out, owned.into_raw()) };
    if !out_len.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out_len, len) };
    }
    Ok(())
}

/// The pool's metrics as Prometheus text (format 0.0.4), every series
/// labelled `pool="<redacted address>"`: the OpenTelemetry
/// `db.client.connection.*` conventions (connection count by state, pending
/// requests, timeouts, create/wait/use time histograms) and redkeep's own
/// (health state, probe round trips, reconnects, fast fails, evictions, ...).
/// Serve it as is, with `Content-Type: text/plain; version=0.0.4`.
///
/// On success `*out` receives an owned NUL-terminated string, released
/// with [`redkeep_string_free`], and `*out_len` (may be `NULL`) its length.
/// Thread safety: any thread; no I/O.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_metrics_text(
    pool: *const redkeep_pool,
    out: *mut *mut c_char,
    out_len: *mut usize,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        arg_out(out, "out")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, std::ptr::null_mut()) };
        // SAFETY: NULL or a live pool per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        give_string(pool.pool.metrics_text(), out, out_len)
    })
}

/// How many bucket upper bounds a [`redkeep_histogram`] has (the core's
/// fixed buckets, 100 µs … 10 s).
pub const REDKEEP_HISTOGRAM_BOUNDS: usize = 15;

/// How many buckets a [`redkeep_histogram`] counts: one per bound, then
/// the one above the last bound (`+Inf`).
pub const REDKEEP_HISTOGRAM_BUCKETS: usize = 16;

const _: () = assert!(REDKEEP_HISTOGRAM_BOUNDS == redkeep::metrics::BUCKETS.len());
const _: () = assert!(REDKEEP_HISTOGRAM_BUCKETS == REDKEEP_HISTOGRAM_BOUNDS + 1);

/// A duration histogram read at one moment, with the core's fixed buckets
/// (no pointers inside: copy it freely). The shape of an OpenTelemetry
/// explicit-bucket histogram: `counts[i]` holds durations in
/// `(bounds_ns[i-1], bounds_ns[i]]`, not cumulative, and
/// `counts[REDKEEP_HISTOGRAM_BOUNDS]` those above the last bound.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct redkeep_histogram {
    /// Upper bounds of the buckets, in nanoseconds, ascending.
    pub bounds_ns: [u64; REDKEEP_HISTOGRAM_BOUNDS],
    /// Durations per bucket (not cumulative).
    pub counts: [u64; REDKEEP_HISTOGRAM_BUCKETS],
    /// How many durations were recorded (the sum of `counts`).
    pub count: u64,
    /// The sum of the recorded durations, in nanoseconds.
    pub sum_ns: u64,
}

impl redkeep_histogram {
    fn from_core(h: &redkeep::metrics::HistogramSnapshot) -> Self {
        Self {
            bounds_ns: redkeep::metrics::BUCKETS_NS,
            counts: h.counts,
            count: h.count(),
            sum_ns: u64::try_from(h.sum.as_nanos()).unwrap_or(u64::MAX),
        }
    }
}

/// Every metric of a pool at one moment, filled by
/// [`redkeep_pool_metrics`] from the core's snapshot (no pointers inside:
/// copy it freely). The same numbers [`redkeep_pool_metrics_text`] renders;
/// the comments name each field's OpenTelemetry instrument. The pool's
/// name (`db.client.connection.pool.name`) is [`redkeep_pool_name`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct redkeep_metrics {
    /// `db.client.connection.count`, `state=idle`: connections open and
    /// idle now, in every set of the pool.
    pub idle: u64,
    /// `db.client.connection.count`, `state=used`: connections open and in
    /// use now (a shared connection is always in use).
    pub used: u64,
    /// `db.client.connection.idle.min`: the pool's `min_idle`.
    pub idle_min: u64,
    /// `db.client.connection.max`: the most connections the pool may hold.
    pub max: u64,
    /// `db.client.connection.pending_requests`: callers waiting for a
    /// connection now.
    pub pending_requests: u64,
    /// `db.client.connection.timeouts`: checkouts that ran out of their
    /// wait timeout.
    pub timeouts: u64,
    /// `db.client.connection.create_time`: how long successful connects
    /// took.
    pub create_time: redkeep_histogram,
    /// `db.client.connection.wait_time`: how long callers waited for a
    /// connection (empty when the pool's metrics timing is off).
    pub wait_time: redkeep_histogram,
    /// `db.client.connection.use_time`: how long callers held a connection
    /// (empty when the pool's metrics timing is off).
    pub use_time: redkeep_histogram,
    /// `redkeep.probe.rtt`: round trips of successful health probes.
    pub probe_rtt: redkeep_histogram,
    /// `redkeep.health.state` (`health.state`) and the rest of the health
    /// snapshot.
    pub health: redkeep_health,
    /// The pool's counters (`redkeep.reconnects` is `stats.reconnects`,
    /// `redkeep.fast_fails` `stats.fast_fails`, `redkeep.evictions`
    /// `stats.evicted`, ...) and set sizes.
    pub stats: redkeep_stats,
    /// `redkeep.server.restarts` (Prometheus `redkeep_server_restarts_total`;
    /// the core's OpenTelemetry export does not register it yet): restarts
    /// of the local server the pool owns (meaningful when
    /// `has_server_restarts`).
    pub server_restarts: u64,
    /// Whether the pool owns a local server (`server_restarts` is set).
    pub has_server_restarts: bool,
}

impl redkeep_metrics {
    fn from_core(m: &redkeep::Metrics) -> Self {
        Self {
            idle: m.idle,
            used: m.used,
            idle_min: m.idle_min,
            max: m.max,
            pending_requests: m.pending_requests,
            timeouts: m.timeouts,
            create_time: redkeep_histogram::from_core(&m.create_time),
            wait_time: redkeep_histogram::from_core(&m.wait_time),
            use_time: redkeep_histogram::from_core(&m.use_time),
            probe_rtt: redkeep_histogram::from_core(&m.probe_rtt),
            health: redkeep_health::from_health(&m.health),
            stats: redkeep_stats::from_stats(&m.stats),
            server_restarts: m.server_restarts.unwrap_or(0),
            has_server_restarts: m.server_restarts.is_some(),
        }
    }
}

/// Fills `*out` with the pool's metrics now, read without I/O: the core's
/// snapshot (the one [`redkeep_pool_metrics_text`] renders), as a struct.
/// On failure `*out` is zeroed. Thread safety: any thread; no I/O.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_metrics(
    pool: *const redkeep_pool,
    out: *mut redkeep_metrics,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        arg_out(out, "out")?;
        // SAFETY: non-NULL and writable per the contract; every field is an
        // integer, a bool, an array of them or a fieldless enum whose 0 is
        // a variant, so all-zero bytes are a valid value.
        unsafe { write_out(out, std::mem::zeroed()) };
        // SAFETY: NULL or a live pool per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        let metrics = redkeep_metrics::from_core(&pool.pool.metrics());
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, metrics) };
        Ok(())
    })
}

/// The pool's `/health` answer: `*out_status` receives the HTTP status
/// (`200` while the pool is up, `503` otherwise) and `*out` an owned JSON
/// object (`pool`, `state`, `since`, `for_seconds`, `last_error`,
/// `rtt_seconds`, `consecutive_failures`, `generation`, `restarts`),
/// released with [`redkeep_string_free`]; `*out_len` (may be `NULL`) its
/// length. Thread safety: any thread; no I/O.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_health_json(
    pool: *const redkeep_pool,
    out_status: *mut u16,
    out: *mut *mut c_char,
    out_len: *mut usize,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        arg_out(out, "out")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, std::ptr::null_mut()) };
        arg_out(out_status, "out_status")?;
        // SAFETY: NULL or a live pool per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        let (status, body) = pool.pool.health_json();
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out_status, status) };
        give_string(body, out, out_len)
    })
}

/// The pool's name: its address with the password redacted, as it appears
/// in the `pool` label of its metrics and the `pool` field of its log
/// records. Owned; release it with [`redkeep_string_free`].
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_name(
    pool: *const redkeep_pool,
    out: *mut *mut c_char,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        arg_out(out, "out")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, std::ptr::null_mut()) };
        // SAFETY: NULL or a live pool per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        give_string(pool.pool.name().to_owned(), out, std::ptr::null_mut())
    })
}

/// Releases a string the library returned as owned. `NULL` is a no-op.
#[no_mangle]
pub unsafe extern "C" fn redkeep_string_free(s: *mut c_char) {
    ffi_value!((), {
        if !s.is_null() {
            // SAFETY: came from CString::into_raw in this library; freed once.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

/// Log levels, most severe first.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum redkeep_log_level {
    /// No records (only as a `min_level`: stops forwarding).
    REDKEEP_LOG_OFF = 0,
    /// Errors: the library gave something up (a reconnect, a server).
    REDKEEP_LOG_ERROR = 1,
    /// Warnings: Redis went down or degraded, a server crashed.
    REDKEEP_LOG_WARN = 2,
    /// State changes: Redis is up, a server was spawned or restarted.
    REDKEEP_LOG_INFO = 3,
    /// Details: connects, reconnect attempts, evictions.
    REDKEEP_LOG_DEBUG = 4,
    /// Everything.
    REDKEEP_LOG_TRACE = 5,
}

/// One log record, valid only during the callback. Every string is
/// NUL-terminated UTF-8 and never holds a password.
#[repr(C)]
pub struct redkeep_log_record {
    /// Its level.
    pub level: redkeep_log_level,
    /// The module that logged it, e.g. `redkeep::pool::core`.
    pub target: *const c_char,
    /// The message, e.g. `redis is down`.
    pub message: *const c_char,
    /// The pool's redacted address, or `NULL` for an event of no pool
    /// (a local server's, for instance).
    pub pool: *const c_char,
    /// The innermost span (`connect`, `reconnect`), or `NULL`.
    pub span: *const c_char,
    /// The other fields as `name=value` pairs separated by spaces (values
    /// with spaces quoted), or an empty string.
    pub fields: *const c_char,
    /// The other fields one by one: `field_count` names and values.
    pub field_names: *const *const c_char,
    /// The values, in the order of `field_names`.
    pub field_values: *const *const c_char,
    /// How many fields.
    pub field_count: usize,
}

/// A log callback: `user_data` as registered, and the record.
pub type redkeep_log_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, record: *const redkeep_log_record)>;

/// The registered `user_data`, sent to the log thread.
struct UserData(*mut c_void);
// SAFETY: the caller of redkeep_set_log_callback promises that `user_data`
// may be used from the library's log thread.
unsafe impl Send for UserData {}
// SAFETY: as above; the library only passes the pointer back.
unsafe impl Sync for UserData {}

impl UserData {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn get(&self) -> *mut c_void {
        self.0
    }
}

fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

/// Sends the library's log events at `min_level` and above to `callback`,
/// replacing any earlier one; `callback` `NULL` or `min_level`
/// `REDKEEP_LOG_OFF` stops forwarding.
///
/// Records are delivered one at a time, in order, on one thread of the
/// library's own (`redkeep-log`), never inside a library lock: the
/// callback may call any `redkeep_` function. If it falls behind by more
/// than a few thousand records, newer ones are dropped. `user_data` is
/// passed back as is and must stay valid, and usable from that thread,
/// until the callback is replaced. Returns `REDKEEP_INVALID_ARGUMENT` for
/// an unknown level. Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_set_log_callback(
    callback: redkeep_log_fn,
    user_data: *mut c_void,
    min_level: u32,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        let level = match min_level {
            0 => None,
            1 => Some(tracing::Level::ERROR),
            2 => Some(tracing::Level::WARN),
            3 => Some(tracing::Level::INFO),
            4 => Some(tracing::Level::DEBUG),
            5 => Some(tracing::Level::TRACE),
            other => {
                return Err(Failure::invalid(format!(
                    "min_level: {other} is not a redkeep_log_level (0 off … 5 trace)"
                )))
            }
        };
        let sink: Option<redkeep::log_forward::Sink> = match (callback, level) {
            (Some(callback), Some(_)) => {
                let user_data = UserData(user_data);
                Some(Box::new(move |r: &redkeep::log_forward::Record| {
                    let level = match r.level {
                        tracing::Level::ERROR => redkeep_log_level::REDKEEP_LOG_ERROR,
                        tracing::Level::WARN => redkeep_log_level::REDKEEP_LOG_WARN,
                        tracing::Level::INFO => redkeep_log_level::REDKEEP_LOG_INFO,
                        tracing::Level::DEBUG => redkeep_log_level::REDKEEP_LOG_DEBUG,
                        tracing::Level::TRACE => redkeep_log_level::REDKEEP_LOG_TRACE,
                    };
                    let target = c_string(&r.target);
                    let message = c_string(&r.message);
                    let pool = r.pool.as_deref().map(c_string);
                    let span = r.span.as_deref().map(c_string);
                    let fields = c_string(&r.fields_text());
                    let names: Vec<CString> = r.fields.iter().map(|(k, _)| c_string(k)).collect();
                    let values: Vec<CString> = r.fields.iter().map(|(_, v)| c_string(v)).collect();
                    let name_ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
                    let value_ptrs: Vec<*const c_char> =
                        values.iter().map(|v| v.as_ptr()).collect();
                    let record = redkeep_log_record {
                        level,
                        target: target.as_ptr(),
                        message: message.as_ptr(),
                        pool: pool.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
                        span: span.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                        fields: fields.as_ptr(),
                        field_names: name_ptrs.as_ptr(),
                        field_values: value_ptrs.as_ptr(),
                        field_count: name_ptrs.len(),
                    };
                    // SAFETY: the callback and user_data are the caller's,
                    // per the contract; the record outlives the call.
                    unsafe { callback(user_data.get(), &record) };
                }))
            }
            _ => None,
        };
        redkeep::log_forward::set_sink(sink, level.unwrap_or(tracing::Level::ERROR))
            .map_err(|e| Failure::new(redkeep_status::REDKEEP_INVALID_ARGUMENT, e.to_string()))
    })
}
