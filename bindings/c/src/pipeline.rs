//! Pipelines and transactions in one round trip: `redkeep_pool_pipeline`
//! (the core's `Pool::query_pipeline`).

use redkeep::redis;

use crate::args::{arg_out, arg_packed_command, arg_ref, arg_slice, write_out};
use crate::args::{REDKEEP_MAX_ARGS, REDKEEP_MAX_COMMAND_BYTES};
use crate::cancel::{redkeep_cancel, with_cancel};
use crate::error::{redkeep_error, Failure};
use crate::pool::{per_call_timeout, redkeep_pool};
use crate::reply::redkeep_reply;
use crate::status::redkeep_status;

/// Builds a pipeline from packed commands: command `i` is the next
/// `argcs[i]` arguments, argument `j` the next `lens[j]` bytes of `buf`.
/// Errors inside come back as error replies in the result (one per
/// command), not as a failure of the whole call.
///
/// # Safety
/// `buf`, `lens` and `argcs` are valid for `buf_len`, `nargs` and `ncmds`
/// elements (or NULL with a zero length).
pub(crate) unsafe fn arg_packed_pipeline(
    buf: *const u8,
    buf_len: usize,
    lens: *const usize,
    nargs: usize,
    argcs: *const usize,
    ncmds: usize,
    atomic: bool,
) -> Result<redis::Pipeline, Failure> {
    if ncmds == 0 {
        return Err(Failure::invalid("ncmds must be at least 1"));
    }
    if nargs > REDKEEP_MAX_ARGS || ncmds > nargs {
        return Err(Failure::invalid(format!(
            "nargs is {nargs} for {ncmds} commands: it must be between ncmds and \
             REDKEEP_MAX_ARGS ({REDKEEP_MAX_ARGS})"
        )));
    }
    if buf_len > REDKEEP_MAX_COMMAND_BYTES {
        return Err(Failure::invalid(format!(
            "buf_len is {buf_len}, more than REDKEEP_MAX_COMMAND_BYTES \
             ({REDKEEP_MAX_COMMAND_BYTES} bytes)"
        )));
    }
    // SAFETY: valid for the given lengths per the caller; both are bounded.
    let argcs = unsafe { arg_slice(argcs, ncmds, "argcs") }?;
    // SAFETY: as above.
    let lens = unsafe { arg_slice(lens, nargs, "lens") }?;
    let mut pipe = redis::Pipeline::with_capacity(ncmds);
    if atomic {
        pipe.atomic();
    }
    pipe.ignore_errors();
    let (mut arg_at, mut byte_at) = (0usize, 0usize);
    for (i, &argc) in argcs.iter().enumerate() {
        if argc == 0 || argc > nargs - arg_at {
            return Err(Failure::invalid(format!(
                "argcs[{i}] is {argc}: each command needs at least its name, and the \
                 counts must add up to nargs ({nargs})"
            )));
        }
        let cmd_lens = &lens[arg_at..arg_at + argc];
        let mut bytes = 0usize;
        for &n in cmd_lens {
            bytes = bytes.saturating_add(n);
        }
        if bytes > buf_len - byte_at {
            return Err(Failure::invalid(format!(
                "the argument lengths add up to more than buf_len ({buf_len})"
            )));
        }
        // SAFETY: `byte_at + bytes <= buf_len` and `cmd_lens` has `argc`
        // entries, both checked above; `buf` is valid for `buf_len` bytes.
        let cmd = unsafe {
            arg_packed_command(buf.wrapping_add(byte_at), bytes, cmd_lens.as_ptr(), argc)
        }?;
        pipe.add_command(cmd);
        arg_at += argc;
        byte_at += bytes;
    }
    if arg_at != nargs || byte_at != buf_len {
        return Err(Failure::invalid(format!(
            "argcs add up to {arg_at} of nargs {nargs}, lengths to {byte_at} of buf_len {buf_len}"
        )));
    }
    Ok(pipe)
}

/// Runs `ncmds` commands in one round trip and returns an array reply with
/// one element per command, in order; a command's error is an error
/// element (`REDKEEP_REPLY_ERROR`), the others go on.
///
/// The commands are packed as for
/// [`redkeep_pool_exec_packed`](crate::redkeep_pool_exec_packed): command
/// `i` is the next `argcs[i]` arguments (at least 1), argument `j` the next
/// `lens[j]` bytes of `buf`; the `argcs` add up to `nargs` and the lengths
/// to `buf_len`, which is at most `REDKEEP_MAX_COMMAND_BYTES` (`nargs` at
/// most `REDKEEP_MAX_ARGS`).
///
/// With `atomic`, the commands run as one `MULTI`/`EXEC` transaction; the
/// reply is `EXEC`'s array, or `REDKEEP_REPLY_NIL` if the transaction was
/// aborted (a watched key changed: only on an exclusive connection, see
/// [`redkeep_conn_pipeline`](crate::redkeep_conn_pipeline)).
///
/// The pool decides how it runs, as for every language (the core's
/// `Pool::query_pipeline`): a pipeline holding a connection-state command
/// (`WATCH`, `SELECT`, ...) is refused unsent with `REDKEEP_REFUSED`; one
/// holding a blocking command runs on an exclusive connection with a reply
/// timeout of its longest wait plus `command_timeout_ms`; any other goes
/// over a shared connection. Never sent twice.
///
/// `timeout_ms` (`0`: none) bounds the whole call; `cancel` may be `NULL`.
/// On success `*reply` receives a tree owned by the caller (release it with
/// [`redkeep_reply_free`](crate::redkeep_reply_free)); on failure `NULL`.
/// Thread safety: any thread, concurrently with other calls on the pool.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_pipeline(
    pool: *const redkeep_pool,
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
        // SAFETY: NULL or a live pool / cancel handle per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        // SAFETY: as above.
        let cancel = unsafe { cancel.as_ref() };
        // SAFETY: the buffers are valid for their lengths per the contract.
        let pipe = unsafe { arg_packed_pipeline(buf, buf_len, lens, nargs, argcs, ncmds, atomic) }?;
        let timeout = per_call_timeout(timeout_ms);
        let run = async {
            Ok::<_, Failure>(
                pool.pool
                    .query_pipeline_with::<redis::Value>(&pipe, timeout)
                    .await?,
            )
        };
        let value = pool.rt.block_on(with_cancel(cancel, run))??;
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
