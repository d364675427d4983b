//! `redkeep_pool`: open, run commands, read health and stats, close.

use std::ffi::c_char;
use std::time::Duration;

use redkeep::redis;

use crate::args::{arg_command, arg_out, arg_packed_command, arg_ref, arg_str, write_out};
use crate::cancel::{redkeep_cancel, with_cancel};
use crate::error::{redkeep_error, Failure};
use crate::options::redkeep_pool_options;
use crate::reply::redkeep_reply;
use crate::runtime::Rt;
use crate::status::redkeep_status;

/// A resilient Redis pool (see the Rust crate's `Pool`): timeouts on every
/// phase, one reconnect in flight, a health watch that makes calls fail fast
/// with `REDKEEP_UNAVAILABLE` while Redis is down.
///
/// Ownership: created by [`redkeep_pool_open`], released by
/// [`redkeep_pool_free`]. Thread safety: every function except
/// [`redkeep_pool_free`] may be called from many threads at once on the
/// same pool; commands from concurrent callers are pipelined on shared
/// connections.
pub struct redkeep_pool {
    pub(crate) pool: redkeep::Pool,
    pub(crate) rt: Rt,
}

/// The pool's view of Redis.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum redkeep_state {
    /// The last probe got its `PONG`.
    REDKEEP_STATE_UP = 0,
    /// Some probes failed (fewer than needed for down), or not probed yet.
    /// Commands still go to Redis.
    REDKEEP_STATE_DEGRADED = 1,
    /// Redis is considered gone: commands fail fast with
    /// `REDKEEP_UNAVAILABLE`; the pool reconnects on its backoff schedule.
    REDKEEP_STATE_DOWN = 2,
    /// `redkeep_pool_close` was called: commands fail with `REDKEEP_CLOSED`.
    REDKEEP_STATE_CLOSED = 3,
}

/// A health snapshot, filled by the library (no pointers inside: copy it
/// freely).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct redkeep_health {
    /// The current state.
    pub state: redkeep_state,
    /// Failed probes or connects in a row.
    pub consecutive_failures: u32,
    /// Milliseconds since the pool entered this state.
    pub since_ms: u64,
    /// Round-trip time of the last successful probe, in microseconds
    /// (meaningful when `has_rtt`).
    pub rtt_us: u64,
    /// Increments each time the pool goes down.
    pub generation: u64,
    /// Whether `rtt_us` is set.
    pub has_rtt: bool,
    /// Why the last probe or connect failed since the pool was last up:
    /// NUL-terminated UTF-8, truncated to fit, empty if none. Never contains
    /// a password.
    pub last_error: [c_char; 256],
}

/// Pool counters since the pool was built, plus the size of each connection
/// set: exclusive (`size`, `idle`), shared (`shared_open`) and
/// calling-thread (`thread_open`, `thread_idle`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct redkeep_stats {
    /// Exclusive connections open now (idle + checked out).
    pub size: u64,
    /// Exclusive connections idle now.
    pub idle: u64,
    /// Callers waiting for an exclusive connection now.
    pub waiting: u64,
    /// Successful exclusive checkouts.
    pub checkouts: u64,
    /// Checkouts that hit the wait timeout.
    pub checkout_timeouts: u64,
    /// Calls refused with `REDKEEP_UNAVAILABLE` because the pool was down.
    pub fast_fails: u64,
    /// Connections opened successfully.
    pub connects: u64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Reconnect attempts made by the health watch while down.
    pub reconnects: u64,
    /// Connections dropped (broken, timed out, idle at an outage, stale).
    pub evicted: u64,
    /// Health probes sent.
    pub probes: u64,
    /// Health probes that failed.
    pub probe_failures: u64,
    /// Shared multiplexed connections open now (at most the pool's
    /// `multiplexed` setting): they carry the ordinary commands run with a
    /// `cancel` handle or through
    /// [`redkeep_pool_submit`](crate::redkeep_pool_submit).
    pub shared_open: u64,
    /// Calling-thread connections open now, idle or in use (at most
    /// `max_size`): they carry the ordinary commands run without a `cancel`
    /// handle.
    pub thread_open: u64,
    /// Calling-thread connections idle now.
    pub thread_idle: u64,
}

impl redkeep_state {
    pub(crate) fn from_core(s: redkeep::State) -> Self {
        match s {
            redkeep::State::Up => redkeep_state::REDKEEP_STATE_UP,
            redkeep::State::Degraded => redkeep_state::REDKEEP_STATE_DEGRADED,
            redkeep::State::Down => redkeep_state::REDKEEP_STATE_DOWN,
            redkeep::State::Closed => redkeep_state::REDKEEP_STATE_CLOSED,
        }
    }
}

/// `msg` as NUL-terminated UTF-8 in a fixed buffer, truncated at a
/// character boundary to fit (a NUL inside becomes `?`).
pub(crate) fn c_text<const N: usize>(msg: &str) -> [c_char; N] {
    let mut out = [0 as c_char; N];
    let mut end = msg.len().min(N.saturating_sub(1));
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    for (dst, src) in out.iter_mut().zip(msg.as_bytes()[..end].iter()) {
        *dst = if *src == 0 { b'?' } else { *src } as c_char;
    }
    out
}

impl redkeep_stats {
    pub(crate) fn from_stats(s: &redkeep::Stats) -> Self {
        Self {
            size: s.size as u64,
            idle: s.idle as u64,
            waiting: s.waiting as u64,
            checkouts: s.checkouts,
            checkout_timeouts: s.checkout_timeouts,
            fast_fails: s.fast_fails,
            connects: s.connects,
            connect_failures: s.connect_failures,
            reconnects: s.reconnects,
            evicted: s.evicted,
            probes: s.probes,
            probe_failures: s.probe_failures,
            shared_open: s.shared_open as u64,
            thread_open: s.thread_open as u64,
            thread_idle: s.thread_idle as u64,
        }
    }
}

impl redkeep_health {
    pub(crate) fn from_health(h: &redkeep::Health) -> Self {
        Self {
            state: redkeep_state::from_core(h.state),
            consecutive_failures: h.consecutive_failures,
            since_ms: u64::try_from(h.since.elapsed().as_millis()).unwrap_or(u64::MAX),
            rtt_us: h
                .rtt
                .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            generation: h.generation,
            has_rtt: h.rtt.is_some(),
            last_error: c_text(h.last_error.as_deref().unwrap_or("")),
        }
    }
}

/// Opens a pool for `url` (`redis://[user[:password]@]host[:port][/db]`,
/// `rediss://...` for TLS, `redis+unix:///path?db=N`); the `tls_*` options
/// give the CA and a client certificate, and make a `redis://` URL TLS.
///
/// `opts` may be `NULL` for the defaults. Unless `opts->lazy`, the call
/// blocks until a working connection is made and fails (for example with
/// `REDKEEP_TIMEOUT` or `REDKEEP_CONNECTION`) if Redis does not answer
/// within `connect_timeout_ms`. With `opts->spawn_if_absent`, a local
/// `redis-server` is started at `opts->spawn`'s address if nothing answers
/// there (see that field); the pool owns it, and [`redkeep_pool_close`]
/// stops it. `lazy` cannot be combined with `spawn_if_absent` (starting a
/// server is waited for): that returns `REDKEEP_CONFIG`.
///
/// `cancel` may be `NULL`; when another thread triggers it, the call returns
/// `REDKEEP_CANCELLED` at once (a server it was starting is stopped).
///
/// On success `*out` receives a pool owned by the caller (release it with
/// [`redkeep_pool_free`]); on failure `*out` is `NULL`.
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_open(
    url: *const c_char,
    opts: *const redkeep_pool_options,
    cancel: *const redkeep_cancel,
    out: *mut *mut redkeep_pool,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        arg_out(out, "out")?;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, std::ptr::null_mut()) };
        // SAFETY: the caller passes a valid C string or NULL.
        let url = unsafe { arg_str(url, "url") }?;
        let defaults = redkeep_pool_options::default();
        // SAFETY: NULL or a valid options struct per the contract.
        let opts = unsafe { opts.as_ref() }.unwrap_or(&defaults);
        // SAFETY: NULL or a live cancel handle per the contract.
        let cancel = unsafe { cancel.as_ref() };
        // SAFETY: the options' strings are valid per the contract.
        let mut config = unsafe { opts.pool_config(url) }?;
        if opts.spawn_if_absent {
            // SAFETY: the options' strings are valid per the contract.
            config.spawn = Some(unsafe { opts.spawn.server_config() }?);
        }
        let rt = Rt::get()?;
        let pool = if opts.lazy {
            rt.enter(|| redkeep::Pool::new(config))??
        } else {
            let connect = async { redkeep::Pool::connect(config).await.map_err(Failure::from) };
            rt.block_on(with_cancel(cancel, connect))??
        };
        let handle = Box::new(redkeep_pool { pool, rt });
        // SAFETY: as above; the caller now owns the pool.
        unsafe { write_out(out, Box::into_raw(handle)) };
        Ok(())
    })
}

/// Runs one command and returns its reply tree.
///
/// The command is `argc` arguments: `argv[i]` points to `argv_len[i]`
/// bytes (binary-safe, no NUL needed; a zero-length argument may be
/// `NULL`). `argc` must be at least 1.
///
/// `argc` is at most `REDKEEP_MAX_ARGS` and the lengths add up to at most
/// `REDKEEP_MAX_COMMAND_BYTES`; past either bound the call returns
/// `REDKEEP_INVALID_ARGUMENT` before reading an argument.
///
/// `timeout_ms` bounds the whole call, on every path: connecting, waiting
/// for a connection and the reply (`0`: only the pool's own timeouts
/// apply). Past it the call returns `REDKEEP_TIMEOUT` (phase `COMMAND`).
/// `cancel` may be `NULL`; when another thread triggers it, the call returns
/// `REDKEEP_CANCELLED`. Neither timeout nor cancellation unsends a command
/// already written: the server may still run it.
///
/// The pool decides how the command runs, as for every language (the Rust
/// core's `Pool::query_with`): a command that changes its connection's
/// state (`SELECT`, `MULTI`, `WATCH`, `SUBSCRIBE`, `CLIENT SETNAME`, ...)
/// returns `REDKEEP_REFUSED` without being sent; a blocking command
/// (`BLPOP`, `XREAD ... BLOCK`, `WAIT`, ...) runs on a connection of its
/// own, with a reply timeout of its own wait plus `command_timeout_ms`, and
/// never holds up other callers; other commands share the pool's
/// connections. Without a `cancel` handle, those run on the calling thread
/// (blocking I/O, one round trip, no hop to another thread).
///
/// A server error reply returns `REDKEEP_RESPONSE` with the server's text as
/// the error message. While the pool is down the call returns
/// `REDKEEP_UNAVAILABLE` at once; after [`redkeep_pool_close`] (also one
/// made while the call runs), `REDKEEP_CLOSED`. Read-only commands (`GET`,
/// ...) are resent once if their connection dropped; writes never are.
///
/// On success `*reply` receives a tree owned by the caller (release it with
/// [`redkeep_reply_free`](crate::redkeep_reply_free)); on failure it is
/// `NULL`. Thread safety: any thread, concurrently with other calls on the
/// same pool.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_exec(
    pool: *const redkeep_pool,
    argc: usize,
    argv: *const *const u8,
    argv_len: *const usize,
    timeout_ms: u32,
    cancel: *const redkeep_cancel,
    reply: *mut *mut redkeep_reply,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        arg_out(reply, "reply")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(reply, std::ptr::null_mut()) };
        // SAFETY: NULL or a live pool / cancel handle per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        // SAFETY: as above.
        let cancel = unsafe { cancel.as_ref() };
        // SAFETY: `argv`, `argv_len` and each argument valid per the contract.
        let cmd = unsafe { arg_command(argc, argv, argv_len) }?;
        let value = run(pool, &cmd, timeout_ms, cancel)?;
        // SAFETY: as above; the caller now owns the reply.
        unsafe {
            write_out(
                reply,
                Box::into_raw(Box::new(redkeep_reply::from_value(value))),
            )
        };
        Ok(())
    })
}

/// Like [`redkeep_pool_exec`], with the arguments packed into one buffer:
/// argument `i` is the next `lens[i]` bytes of `buf`, and the lengths must
/// add up to `buf_len` exactly. Convenient for bindings whose memory may not
/// hold pointers handed to C (Go).
///
/// Bounds, timeout, cancellation, the pool's rules, ownership and thread
/// safety as [`redkeep_pool_exec`].
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_exec_packed(
    pool: *const redkeep_pool,
    buf: *const u8,
    buf_len: usize,
    lens: *const usize,
    argc: usize,
    timeout_ms: u32,
    cancel: *const redkeep_cancel,
    reply: *mut *mut redkeep_reply,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        arg_out(reply, "reply")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(reply, std::ptr::null_mut()) };
        // SAFETY: NULL or a live pool / cancel handle per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        // SAFETY: as above.
        let cancel = unsafe { cancel.as_ref() };
        // SAFETY: `buf` and `lens` valid per the contract.
        let cmd = unsafe { arg_packed_command(buf, buf_len, lens, argc) }?;
        let value = run(pool, &cmd, timeout_ms, cancel)?;
        // SAFETY: as above; the caller now owns the reply.
        unsafe {
            write_out(
                reply,
                Box::into_raw(Box::new(redkeep_reply::from_value(value))),
            )
        };
        Ok(())
    })
}

fn run(
    pool: &redkeep_pool,
    cmd: &redis::Cmd,
    timeout_ms: u32,
    cancel: Option<&redkeep_cancel>,
) -> Result<redis::Value, Failure> {
    let timeout = per_call_timeout(timeout_ms);
    match cancel {
        // Nothing can cancel this call: the core runs it on this thread (or
        // hands a blocking command to its runtime and waits).
        None => {
            pool.rt.check()?;
            Ok(pool.pool.query_blocking(cmd, timeout)?)
        }
        Some(cancel) => pool
            .rt
            .block_on(with_cancel(Some(cancel), query(&pool.pool, cmd, timeout)))?,
    }
}

/// The core's one call path, with its error converted.
pub(crate) async fn query(
    pool: &redkeep::Pool,
    cmd: &redis::Cmd,
    timeout: Option<Duration>,
) -> Result<redis::Value, Failure> {
    Ok(pool.query_with(cmd, timeout).await?)
}

/// A `timeout_ms` argument (`0` = none) as the core's per-call timeout.
pub(crate) fn per_call_timeout(timeout_ms: u32) -> Option<Duration> {
    (timeout_ms != 0).then(|| Duration::from_millis(u64::from(timeout_ms)))
}

/// Fills `*out` with the pool's current health, without sending a command.
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_health(
    pool: *const redkeep_pool,
    out: *mut redkeep_health,
) -> redkeep_status {
    ffi_status!(std::ptr::null_mut(), {
        // SAFETY: NULL or a live pool per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        arg_out(out, "out")?;
        let health = redkeep_health::from_health(&pool.pool.health());
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, health) };
        Ok(())
    })
}

/// Fills `*out` with the pool's counters.
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_stats(
    pool: *const redkeep_pool,
    out: *mut redkeep_stats,
) -> redkeep_status {
    ffi_status!(std::ptr::null_mut(), {
        // SAFETY: NULL or a live pool per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        arg_out(out, "out")?;
        let stats = redkeep_stats::from_stats(&pool.pool.stats());
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, stats) };
        Ok(())
    })
}

/// Closes the pool: stops the health watch, drops every connection and
/// stops a server the pool spawned (`spawn_if_absent`), waiting until it is
/// gone. Commands in flight, on every path, end with `REDKEEP_CLOSED` within
/// about 100 ms, and later ones fail with it at once (a command already
/// written may still run on the server). Idempotent. The handle stays valid
/// until [`redkeep_pool_free`]; its health reads `REDKEEP_STATE_CLOSED`.
///
/// Thread safety: any thread, concurrently with other calls on the pool
/// (they fail with `REDKEEP_CLOSED`).
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_close(pool: *const redkeep_pool) -> redkeep_status {
    ffi_status!(std::ptr::null_mut(), {
        // SAFETY: NULL or a live pool per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        pool.rt.block_on(pool.pool.close())?;
        Ok(())
    })
}

/// Closes the pool (as [`redkeep_pool_close`], which also stops a server it
/// spawned), then releases it. `NULL` is a no-op.
///
/// Thread safety: no other call may use the pool during or after this one.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_free(pool: *mut redkeep_pool) {
    ffi_value!((), {
        if pool.is_null() {
            return;
        }
        // SAFETY: came from Box::into_raw in redkeep_pool_open; freed once.
        let pool = unsafe { Box::from_raw(pool) };
        let redkeep_pool { pool, rt } = *pool;
        if rt.block_on(pool.close()).is_ok() {
            let _ = rt.enter(move || drop(pool));
        }
        // Else the runtime is gone: after redkeep_shutdown its tasks are
        // already dropped, in a forked child they never run; the pool is
        // dropped here, outside any runtime.
    })
}
