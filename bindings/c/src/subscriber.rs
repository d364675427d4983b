//! `redkeep_subscriber`: pub/sub that re-subscribes by itself after an
//! outage (the Rust core's `Subscriber`).

use std::ffi::c_char;

use crate::args::{arg_names, arg_out, arg_ref, write_out};
use crate::cancel::{redkeep_cancel, with_cancel};
use crate::error::{redkeep_error, Failure};
use crate::pool::redkeep_pool;
use crate::runtime::Rt;
use crate::status::{redkeep_phase, redkeep_status};

/// A subscriber on a dedicated connection of a pool. It keeps the set of
/// channels and patterns it was given; when its connection is lost (the
/// server went away, or the pool went down) it reports
/// `REDKEEP_SUBSCRIBER_DISCONNECTED`, waits for the pool to be up again,
/// reconnects on the pool's backoff schedule, subscribes the whole set
/// again and reports `REDKEEP_SUBSCRIBER_RESUBSCRIBED`. Messages published
/// in between are lost (pub/sub keeps nothing).
///
/// Ownership: created by [`redkeep_subscriber_open`], released by
/// [`redkeep_subscriber_free`]. Thread safety: every function except
/// [`redkeep_subscriber_free`] may be called from any thread, concurrently
/// (one thread may wait in [`redkeep_subscriber_next`] while another
/// subscribes); concurrent `next` calls take turns.
pub struct redkeep_subscriber {
    sub: redkeep::Subscriber,
    rt: Rt,
}

/// What a [`redkeep_subscriber_event`] is.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum redkeep_subscriber_event_kind {
    /// A message: `_channel`, `_payload`, and `_pattern` for a pattern
    /// subscription.
    REDKEEP_SUBSCRIBER_MESSAGE = 0,
    /// The connection was lost; `_payload` is the reason (UTF-8).
    REDKEEP_SUBSCRIBER_DISCONNECTED = 1,
    /// Connected and subscribed again; `_names_len`/`_name` list the
    /// channels and patterns.
    REDKEEP_SUBSCRIBER_RESUBSCRIBED = 2,
}

/// One message or connection event from [`redkeep_subscriber_next`].
///
/// Ownership: owned by the caller, released with
/// [`redkeep_subscriber_event_free`]; the bytes its accessors return are
/// borrowed from it. Thread safety: immutable, readable from any thread.
pub struct redkeep_subscriber_event {
    kind: redkeep_subscriber_event_kind,
    /// Each buffer ends with a NUL that is not counted.
    channel: Option<Vec<u8>>,
    pattern: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
    channels: Vec<Vec<u8>>,
    patterns: Vec<Vec<u8>>,
}

fn terminated(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.push(0);
    bytes
}

impl redkeep_subscriber_event {
    fn from_event(event: redkeep::SubscriberEvent) -> Self {
        use redkeep::SubscriberEvent as E;
        use redkeep_subscriber_event_kind::*;
        let mut out = Self {
            kind: REDKEEP_SUBSCRIBER_MESSAGE,
            channel: None,
            pattern: None,
            payload: None,
            channels: Vec::new(),
            patterns: Vec::new(),
        };
        match event {
            E::Message(m) | E::ShardMessage(m) => {
                out.channel = Some(terminated(m.channel));
                out.pattern = m.pattern.map(terminated);
                out.payload = Some(terminated(m.payload));
            }
            E::Disconnected { reason } => {
                out.kind = REDKEEP_SUBSCRIBER_DISCONNECTED;
                out.payload = Some(terminated(reason.into_bytes()));
            }
            E::Resubscribed {
                channels, patterns, ..
            } => {
                out.kind = REDKEEP_SUBSCRIBER_RESUBSCRIBED;
                out.channels = channels.into_iter().map(terminated).collect();
                out.patterns = patterns.into_iter().map(terminated).collect();
            }
            // A newer core event: reported as a disconnect would be unsafe;
            // name it instead.
            other => {
                out.kind = REDKEEP_SUBSCRIBER_DISCONNECTED;
                out.payload = Some(terminated(format!("{other:?}").into_bytes()));
            }
        }
        out
    }
}

/// Opens a subscriber on a dedicated connection of `pool` (not counted in
/// the pool's sizes), with an empty set.
///
/// Returns `REDKEEP_UNAVAILABLE` at once while the pool is down,
/// `REDKEEP_TIMEOUT` (phase `CONNECT`) after the pool's connect timeout,
/// `REDKEEP_CANCELLED` when `cancel` (may be `NULL`) is triggered. On
/// success `*out` receives a subscriber owned by the caller.
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_open(
    pool: *const redkeep_pool,
    cancel: *const redkeep_cancel,
    out: *mut *mut redkeep_subscriber,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        arg_out(out, "out")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, std::ptr::null_mut()) };
        // SAFETY: NULL or a live pool / cancel handle per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        // SAFETY: as above.
        let cancel = unsafe { cancel.as_ref() };
        let open = async { pool.pool.subscriber().await.map_err(Failure::from) };
        let sub = pool.rt.block_on(with_cancel(cancel, open))??;
        let handle = Box::new(redkeep_subscriber {
            sub,
            rt: pool.rt.clone(),
        });
        // SAFETY: as above; the caller owns the subscriber.
        unsafe { write_out(out, Box::into_raw(handle)) };
        Ok(())
    })
}

#[derive(Clone, Copy)]
enum Op {
    Subscribe,
    Unsubscribe,
    PSubscribe,
    PUnsubscribe,
}

/// The shared body of the four set changes.
///
/// # Safety
/// As the exported functions' contract.
unsafe fn change(
    sub: *const redkeep_subscriber,
    names: *const *const u8,
    lens: *const usize,
    count: usize,
    op: Op,
) -> Result<(), Failure> {
    // SAFETY: NULL or a live subscriber per the contract.
    let sub = unsafe { arg_ref(sub, "sub") }?;
    // SAFETY: `names`, `lens` and each name valid per the contract.
    let names = unsafe { arg_names(names, lens, count) }?;
    let s = &sub.sub;
    let result = sub.rt.block_on(async {
        match op {
            Op::Subscribe => s.subscribe(&names).await,
            Op::Unsubscribe => s.unsubscribe(&names).await,
            Op::PSubscribe => s.psubscribe(&names).await,
            Op::PUnsubscribe => s.punsubscribe(&names).await,
        }
    })?;
    Ok(result?)
}

/// Adds `count` channels to the set and subscribes to them: `names[i]`
/// points to `lens[i]` bytes (binary-safe, no NUL or UTF-8 needed).
/// `count` is at most `REDKEEP_MAX_ARGS` and the lengths add up to at most
/// `REDKEEP_MAX_COMMAND_BYTES` (else `REDKEEP_INVALID_ARGUMENT`, before
/// anything is read).
///
/// Waits for the server's confirmation up to the pool's command timeout
/// (`REDKEEP_TIMEOUT`, phase `COMMAND`; the subscriber then reconnects). A
/// channel the server refuses (`REDKEEP_RESPONSE`, e.g. an ACL) leaves the
/// set again. While the subscriber is reconnecting the call returns
/// `REDKEEP_UNAVAILABLE` and the channels stay in the set: they are
/// subscribed with the rest (a `RESUBSCRIBED` event lists them).
/// `REDKEEP_CLOSED` after [`redkeep_subscriber_close`] or the pool's close.
/// Thread safety: see [`redkeep_subscriber`].
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_subscribe(
    sub: *const redkeep_subscriber,
    names: *const *const u8,
    lens: *const usize,
    count: usize,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    // SAFETY: forwarded contract.
    ffi_status!(err, {
        unsafe { change(sub, names, lens, count, Op::Subscribe) }
    })
}

/// Removes channels from the set and unsubscribes (`count` `0`: all of
/// them). Arguments and errors as [`redkeep_subscriber_subscribe`]; while
/// reconnecting it only changes the set.
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_unsubscribe(
    sub: *const redkeep_subscriber,
    names: *const *const u8,
    lens: *const usize,
    count: usize,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    // SAFETY: forwarded contract.
    ffi_status!(err, {
        unsafe { change(sub, names, lens, count, Op::Unsubscribe) }
    })
}

/// Adds glob-style patterns (`news.*`) to the set and subscribes to them.
/// Arguments and errors as [`redkeep_subscriber_subscribe`].
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_psubscribe(
    sub: *const redkeep_subscriber,
    names: *const *const u8,
    lens: *const usize,
    count: usize,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    // SAFETY: forwarded contract.
    ffi_status!(err, {
        unsafe { change(sub, names, lens, count, Op::PSubscribe) }
    })
}

/// Removes patterns from the set (`count` `0`: all of them). Arguments and
/// errors as [`redkeep_subscriber_unsubscribe`].
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_punsubscribe(
    sub: *const redkeep_subscriber,
    names: *const *const u8,
    lens: *const usize,
    count: usize,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    // SAFETY: forwarded contract.
    ffi_status!(err, {
        unsafe { change(sub, names, lens, count, Op::PUnsubscribe) }
    })
}

/// Waits for the next message or connection event and stores it in `*out`
/// (owned by the caller: [`redkeep_subscriber_event_free`]).
///
/// Returns `REDKEEP_TIMEOUT` (phase `COMMAND`) if nothing came within
/// `timeout_ms` (`0` waits without limit; nothing is lost: call again),
/// `REDKEEP_CANCELLED` when `cancel` (may be `NULL`) is triggered, and
/// `REDKEEP_CLOSED` once the subscriber has ended
/// ([`redkeep_subscriber_close`], or the pool was closed).
/// Thread safety: see [`redkeep_subscriber`].
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_next(
    sub: *const redkeep_subscriber,
    timeout_ms: u32,
    cancel: *const redkeep_cancel,
    out: *mut *mut redkeep_subscriber_event,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        arg_out(out, "out")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, std::ptr::null_mut()) };
        // SAFETY: NULL or a live subscriber / cancel handle per the contract.
        let sub = unsafe { arg_ref(sub, "sub") }?;
        // SAFETY: as above.
        let cancel = unsafe { cancel.as_ref() };
        let wait = async {
            let next = sub.sub.next_message();
            let event = if timeout_ms == 0 {
                next.await
            } else {
                let limit = std::time::Duration::from_millis(u64::from(timeout_ms));
                tokio::time::timeout(limit, next)
                    .await
                    .map_err(|_| Failure {
                        status: redkeep_status::REDKEEP_TIMEOUT,
                        phase: redkeep_phase::REDKEEP_PHASE_COMMAND,
                        message: format!("no message within {timeout_ms}ms"),
                    })?
            };
            event.ok_or_else(|| {
                Failure::new(redkeep_status::REDKEEP_CLOSED, "the subscriber has ended")
            })
        };
        let event = sub.rt.block_on(with_cancel(cancel, wait))??;
        let event = Box::new(redkeep_subscriber_event::from_event(event));
        // SAFETY: as above; the caller owns the event.
        unsafe { write_out(out, Box::into_raw(event)) };
        Ok(())
    })
}

/// Ends the subscriber: its connection is dropped, a waiting
/// [`redkeep_subscriber_next`] returns `REDKEEP_CLOSED`, later changes fail
/// with it. Idempotent; the handle stays valid until
/// [`redkeep_subscriber_free`].
///
/// Thread safety: any thread, concurrently with other calls on it.
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_close(
    sub: *const redkeep_subscriber,
) -> redkeep_status {
    ffi_status!(std::ptr::null_mut(), {
        // SAFETY: NULL or a live subscriber per the contract.
        let sub = unsafe { arg_ref(sub, "sub") }?;
        sub.sub.close();
        Ok(())
    })
}

/// Closes (as [`redkeep_subscriber_close`]) and releases a subscriber.
/// `NULL` is a no-op.
///
/// Thread safety: no other call may use the subscriber during or after
/// this one.
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_free(sub: *mut redkeep_subscriber) {
    ffi_value!((), {
        if sub.is_null() {
            return;
        }
        // SAFETY: came from Box::into_raw in redkeep_subscriber_open; freed once.
        let sub = unsafe { Box::from_raw(sub) };
        sub.sub.close();
        let rt = sub.rt.clone();
        // Dropped within the runtime when it is alive (its task's handle).
        let _ = rt.enter(move || drop(sub));
    })
}

/// The event's kind (`REDKEEP_SUBSCRIBER_DISCONNECTED` for `NULL`).
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_event_get_kind(
    event: *const redkeep_subscriber_event,
) -> redkeep_subscriber_event_kind {
    ffi_value!(
        redkeep_subscriber_event_kind::REDKEEP_SUBSCRIBER_DISCONNECTED,
        {
            // SAFETY: the caller passes NULL or a live event.
            match unsafe { event.as_ref() } {
                Some(e) => e.kind,
                None => redkeep_subscriber_event_kind::REDKEEP_SUBSCRIBER_DISCONNECTED,
            }
        }
    )
}

/// Bytes of a buffer and their length (without the trailing NUL).
///
/// # Safety
/// `len` is NULL or writable.
unsafe fn bytes_out(bytes: Option<&Vec<u8>>, len: *mut usize) -> *const c_char {
    let (ptr, n) = match bytes {
        Some(b) => (b.as_ptr().cast(), b.len() - 1),
        None => (std::ptr::null(), 0),
    };
    if !len.is_null() {
        // SAFETY: a non-NULL `len` is writable per the contract.
        unsafe { len.write(n) };
    }
    ptr
}

/// A message's channel: binary-safe bytes followed by an uncounted NUL,
/// their length in `*len` (if `len` is not `NULL`). `NULL` (and `*len = 0`)
/// for other events or a `NULL` event.
///
/// Ownership: borrowed from the event. Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_event_channel(
    event: *const redkeep_subscriber_event,
    len: *mut usize,
) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: the caller passes NULL or a live event, NULL or a writable `len`.
        unsafe { bytes_out(event.as_ref().and_then(|e| e.channel.as_ref()), len) }
    })
}

/// The pattern a message matched (a pattern subscription); `NULL` for a
/// plain channel subscription and other events. As
/// [`redkeep_subscriber_event_channel`].
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_event_pattern(
    event: *const redkeep_subscriber_event,
    len: *mut usize,
) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: as above.
        unsafe { bytes_out(event.as_ref().and_then(|e| e.pattern.as_ref()), len) }
    })
}

/// A message's payload, or a `DISCONNECTED` event's reason (UTF-8); `NULL`
/// for a `RESUBSCRIBED` event. As [`redkeep_subscriber_event_channel`].
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_event_payload(
    event: *const redkeep_subscriber_event,
    len: *mut usize,
) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: as above.
        unsafe { bytes_out(event.as_ref().and_then(|e| e.payload.as_ref()), len) }
    })
}

/// For a `RESUBSCRIBED` event, how many channels (`patterns` false) or
/// patterns (`patterns` true) were subscribed again; `0` otherwise.
///
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_event_names_len(
    event: *const redkeep_subscriber_event,
    patterns: bool,
) -> usize {
    ffi_value!(0, {
        // SAFETY: the caller passes NULL or a live event.
        match unsafe { event.as_ref() } {
            Some(e) if patterns => e.patterns.len(),
            Some(e) => e.channels.len(),
            None => 0,
        }
    })
}

/// For a `RESUBSCRIBED` event, channel (or pattern) `index`, below
/// [`redkeep_subscriber_event_names_len`]; `NULL` past the end. As
/// [`redkeep_subscriber_event_channel`].
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_event_name(
    event: *const redkeep_subscriber_event,
    patterns: bool,
    index: usize,
    len: *mut usize,
) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: the caller passes NULL or a live event.
        let list =
            unsafe { event.as_ref() }.map(|e| if patterns { &e.patterns } else { &e.channels });
        // SAFETY: NULL or a writable `len` per the contract.
        unsafe { bytes_out(list.and_then(|l| l.get(index)), len) }
    })
}

/// Releases an event. `NULL` is a no-op.
///
/// Thread safety: must not race with other calls on the same event.
#[no_mangle]
pub unsafe extern "C" fn redkeep_subscriber_event_free(event: *mut redkeep_subscriber_event) {
    ffi_value!((), {
        if !event.is_null() {
            // SAFETY: came from Box::into_raw in redkeep_subscriber_next; freed once.
            drop(unsafe { Box::from_raw(event) });
        }
    })
}
