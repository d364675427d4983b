//! `redkeep_conn`: an exclusive connection checked out of a pool, for
//! `WATCH`/`MULTI`/`EXEC` and anything else that needs one connection of
//! its own (the core's `Pool::get` and `Connection`).

use redkeep::redis;

use crate::args::{arg_out, arg_packed_command, arg_ref, write_out};
use crate::cancel::{redkeep_cancel, with_cancel};
use crate::error::{redkeep_error, Failure};
use crate::pipeline::arg_packed_pipeline;
use crate::pool::{per_call_timeout, redkeep_pool};
use crate::reply::redkeep_reply;
use crate::runtime::Rt;
use crate::status::redkeep_status;

/// An exclusive connection: yours from [`redkeep_pool_checkout`] until
/// [`redkeep_conn_free`] gives it back to its pool.
///
/// Thread safety: one call at a time (calls on it must not overlap);
/// [`redkeep_pool_close`](crate::redkeep_pool_close) ends a call in flight
/// with `REDKEEP_CLOSED`, and calls after it fail with `REDKEEP_CLOSED`.
/// It does not borrow its pool's handle: freeing it after the pool is
/// safe.
pub struct redkeep_conn {
    conn: redkeep::Connection,
    rt: Rt,
}

/// Checks out an exclusive connection from `pool`.
///
/// Fails at once with `REDKEEP_UNAVAILABLE` while the pool is down, with
/// `REDKEEP_TIMEOUT` (phase `WAIT`) after `wait_timeout_ms` if every
/// exclusive connection stays taken, phase `CONNECT` if a new one cannot
/// be opened in time. `timeout_ms` (`0`: none) bounds the whole checkout;
/// `cancel` may be `NULL`. A checkout costs no round trip.
///
/// On success `*out` receives a connection owned by the caller (give it
/// back with [`redkeep_conn_free`]); on failure `NULL`.
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_checkout(
    pool: *const redkeep_pool,
    timeout_ms: u32,
    cancel: *const redkeep_cancel,
    out: *mut *mut redkeep_conn,
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
        let timeout = per_call_timeout(timeout_ms);
        let get = async { Ok::<_, Failure>(pool.pool.get_with(timeout).await?) };
        let conn = pool.rt.block_on(with_cancel(cancel, get))??;
        let handle = Box::new(redkeep_conn {
            conn,
            rt: pool.rt.clone(),
        });
        // SAFETY: as above; the caller now owns the connection.
        unsafe { write_out(out, Box::into_raw(handle)) };
        Ok(())
    })
}

/// Runs one command on the connection and returns its reply tree; any
/// command is allowed here (`WATCH`, `MULTI`, `EXEC`, ...), this connection
/// being the caller's alone.
///
/// Arguments packed as for
/// [`redkeep_pool_exec_packed`](crate::redkeep_pool_exec_packed). The core
/// sets the reply timeout: a blocking command's own wait plus
/// `command_timeout_ms`, `command_timeout_ms` otherwise; `timeout_ms`
/// (`0`: none) bounds the whole call, `cancel` may be `NULL`. A call cut
/// short leaves the connection out of step: it is closed, not reused, when
/// freed. A server error reply returns `REDKEEP_RESPONSE`. Never re-sent.
///
/// Ownership of `*reply` as for `redkeep_pool_exec_packed`.
/// Thread safety: not concurrently with another call on `conn`.
#[no_mangle]
pub unsafe extern "C" fn redkeep_conn_exec_packed(
    conn: *mut redkeep_conn,
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
        // SAFETY: NULL or a live connection used by this thread only, per
        // the contract.
        let conn =
            unsafe { conn.as_mut() }.ok_or_else(|| Failure::invalid("conn must not be NULL"))?;
        // SAFETY: NULL or a live cancel handle per the contract.
        let cancel = unsafe { cancel.as_ref() };
        // SAFETY: `buf` and `lens` valid per the contract.
        let cmd = unsafe { arg_packed_command(buf, buf_len, lens, argc) }?;
        let timeout = per_call_timeout(timeout_ms);
        let redkeep_conn { conn, rt } = conn;
        let run = async { Ok::<_, Failure>(conn.query_with::<redis::Value>(&cmd, timeout).await?) };
        let value = rt.block_on(with_cancel(cancel, run))??;
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

/// Runs `ncmds` commands on the connection in one round trip, packed and
/// answered as for [`redkeep_pool_pipeline`](crate::redkeep_pool_pipeline)
/// (one reply per command, errors as error elements). With `atomic` they
/// run as one `MULTI`/`EXEC`; after a `WATCH` on this connection, the
/// reply is `REDKEEP_REPLY_NIL` when a watched key changed and nothing ran.
///
/// Timeout, cancellation and thread safety as
/// [`redkeep_conn_exec_packed`].
#[no_mangle]
pub unsafe extern "C" fn redkeep_conn_pipeline(
    conn: *mut redkeep_conn,
    buf: *const u8,
    buf_len: usize,
    lens: *const usize,
    nargs: usize,
    argcs: *const usize,
    ncmds: usize,
    atomic: bool,
    timeout_ms: u32,
    cancel: *const redkeep_cancel,
    reply: *mut *mut redkeep_reply,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        arg_out(reply, "reply")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(reply, std::ptr::null_mut()) };
        // SAFETY: NULL or a live connection used by this thread only.
        let conn =
            unsafe { conn.as_mut() }.ok_or_else(|| Failure::invalid("conn must not be NULL"))?;
        // SAFETY: NULL or a live cancel handle per the contract.
        let cancel = unsafe { cancel.as_ref() };
        // SAFETY: the buffers are valid for their lengths per the contract.
        let pipe = unsafe { arg_packed_pipeline(buf, buf_len, lens, nargs, argcs, ncmds, atomic) }?;
        let timeout = per_call_timeout(timeout_ms);
        let redkeep_conn { conn, rt } = conn;
        let run = async {
            Ok::<_, Failure>(
                conn.query_pipeline_with::<redis::Value>(&pipe, timeout)
                    .await?,
            )
        };
        let value = rt.block_on(with_cancel(cancel, run))??;
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

/// Gives the connection back to its pool and releases the handle. `NULL`
/// is a no-op.
///
/// A connection left watching keys or inside `MULTI` is reset first
/// (`UNWATCH` or `DISCARD`, one round trip bounded by the pool's command
/// timeout); one that broke, was cut short, or ran another
/// connection-state command (`SELECT`, `CLIENT SETNAME`, ...) is closed
/// instead, so the next caller never inherits its state.
///
/// Thread safety: no other call may use `conn` during or after this one.
#[no_mangle]
pub unsafe extern "C" fn redkeep_conn_free(conn: *mut redkeep_conn) {
    ffi_value!((), {
        if conn.is_null() {
            return;
        }
        // SAFETY: came from Box::into_raw in redkeep_pool_checkout; freed once.
        let handle = unsafe { Box::from_raw(conn) };
        let redkeep_conn { mut conn, rt } = *handle;
        // The core closes the connection if the reset fails (or the
        // runtime is gone): its state then stays set.
        let _ = rt.block_on(conn.reset());
        let _ = rt.enter(move || drop(conn));
    })
}
