//! Asynchronous commands: `redkeep_pool_submit` returns at once, and the
//! outcome arrives in a `redkeep_completions` queue whose file descriptor
//! becomes readable. For event loops and runtimes that must not block a
//! thread per call (the Go package uses it with Go's network poller).

use std::collections::VecDeque;
use std::ffi::c_int;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::args::{arg_out, arg_packed_command, arg_ref, write_out};
use crate::cancel::{redkeep_cancel, with_cancel};
use crate::error::{redkeep_error, Failure};
use crate::notify::{pair, raw_handle, Stream};
use crate::pool::{per_call_timeout, query, redkeep_pool};
use crate::reply::redkeep_reply;
use crate::status::redkeep_status;

/// A queue of finished asynchronous commands, with a file descriptor that
/// is readable while completions may be waiting.
///
/// Protocol: wait until the descriptor from [`redkeep_completions_fd`] is
/// readable (poll/epoll, or a runtime's poller), read and discard whatever
/// bytes are there, then call [`redkeep_completions_pop`] until it returns
/// fewer entries than asked for. A byte is written only when the queue goes
/// from "signalled" to "not signalled", so one wake-up may carry many
/// completions; a wake-up may also find none.
///
/// Ownership: created by [`redkeep_completions_new`], released by
/// [`redkeep_completions_free`] once no submitted command is outstanding
/// (pending completions are then freed with it). Thread safety: commands
/// may be submitted to one queue from many threads; pop from one thread at
/// a time.
pub struct redkeep_completions {
    inner: Arc<Queue>,
}

struct Queue {
    items: Mutex<VecDeque<redkeep_completion>>,
    signalled: AtomicBool,
    /// The library keeps both ends, so a write never meets a closed peer
    /// (no SIGPIPE), whatever the caller does with its duplicate.
    reader: Stream,
    writer: Stream,
}

/// One finished command.
///
/// Ownership: `reply` (on success) and `error` (on failure, may be `NULL`
/// only if allocation failed) belong to the caller once popped; release
/// them with `redkeep_reply_free` and `redkeep_error_free`.
#[repr(C)]
#[derive(Debug)]
pub struct redkeep_completion {
    /// The token given to [`redkeep_pool_submit`].
    pub token: u64,
    /// The command's status, as `redkeep_pool_exec` would return it.
    pub status: redkeep_status,
    /// The reply tree on success, else `NULL`.
    pub reply: *mut redkeep_reply,
    /// The error on failure, else `NULL`.
    pub error: *mut redkeep_error,
}

// SAFETY: the pointers are owned, unaliased heap objects handed from the
// worker that created them to the thread that pops them.
unsafe impl Send for redkeep_completion {}

impl Queue {
    fn push(&self, item: redkeep_completion) {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(item);
        if !self.signalled.swap(true, Ordering::SeqCst) {
            // Non-blocking; a full buffer already means "readable".
            let _ = (&self.writer).write(&[1]);
        }
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        let items = std::mem::take(self.items.get_mut().unwrap_or_else(|p| p.into_inner()));
        for item in items {
            if !item.reply.is_null() {
                // SAFETY: never popped, so still owned by the queue.
                drop(unsafe { Box::from_raw(item.reply) });
            }
            if !item.error.is_null() {
                // SAFETY: as above.
                drop(unsafe { Box::from_raw(item.error) });
            }
        }
    }
}

/// Creates a completion queue.
///
/// On success `*out` receives a queue owned by the caller.
/// Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_completions_new(
    out: *mut *mut redkeep_completions,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        arg_out(out, "out")?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, std::ptr::null_mut()) };
        let io = |e: std::io::Error| {
            Failure::new(redkeep_status::REDKEEP_IO, format!("completion queue: {e}"))
        };
        let (reader, writer) = pair().map_err(io)?;
        reader.set_nonblocking(true).map_err(io)?;
        writer.set_nonblocking(true).map_err(io)?;
        let queue = redkeep_completions {
            inner: Arc::new(Queue {
                items: Mutex::new(VecDeque::new()),
                signalled: AtomicBool::new(false),
                reader,
                writer,
            }),
        };
        // SAFETY: as above; the caller owns the queue.
        unsafe { write_out(out, Box::into_raw(Box::new(queue))) };
        Ok(())
    })
}

/// A new file descriptor (a duplicate, close-on-exec, non-blocking) that
/// is readable when completions may be waiting; `-1` on failure or `NULL`.
/// On Windows, a `SOCKET` (one end of a loopback TCP pair) for `select` or
/// `WSAPoll`, closed with `closesocket`.
///
/// Ownership: the caller owns the descriptor and closes it when done
/// (closing it does not affect the queue). Thread safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn redkeep_completions_fd(queue: *const redkeep_completions) -> c_int {
    ffi_value!(-1, {
        // SAFETY: NULL or a live queue per the contract.
        let Some(queue) = (unsafe { queue.as_ref() }) else {
            return -1;
        };
        match queue.inner.reader.try_clone() {
            Ok(dup) => raw_handle(dup),
            Err(_) => -1,
        }
    })
}

/// Moves up to `max` finished commands into `out[0..]` and returns how
/// many; `0` if none (or on `NULL`). Reads and discards the descriptor's
/// pending bytes first.
///
/// Ownership: the popped replies and errors belong to the caller.
/// Thread safety: one popping thread at a time per queue.
#[no_mangle]
pub unsafe extern "C" fn redkeep_completions_pop(
    queue: *const redkeep_completions,
    out: *mut redkeep_completion,
    max: usize,
) -> usize {
    ffi_value!(0, {
        // SAFETY: NULL or a live queue per the contract.
        let Some(queue) = (unsafe { queue.as_ref() }) else {
            return 0;
        };
        if out.is_null() || max == 0 {
            return 0;
        }
        let queue = &queue.inner;
        // Discard the pending bytes, *then* clear the signal, then take the
        // items: a push whose signal byte was discarded here had queued its
        // item before, so it is taken below; a push that signals after the
        // clear writes a new byte. No completion is left without a wake-up.
        let mut sink = [0u8; 64];
        while matches!(std::io::Read::read(&mut &queue.reader, &mut sink), Ok(n) if n > 0) {}
        queue.signalled.store(false, Ordering::SeqCst);
        let mut items = queue.items.lock().unwrap_or_else(|p| p.into_inner());
        let n = items.len().min(max);
        for (i, item) in items.drain(..n).enumerate() {
            // SAFETY: `out` has room for `max` entries per the contract.
            unsafe { out.add(i).write(item) };
        }
        if !items.is_empty() {
            // More than `max` were waiting: keep the descriptor readable.
            queue.signalled.store(true, Ordering::SeqCst);
            let _ = (&queue.writer).write(&[1]);
        }
        n
    })
}

/// Releases the queue. Completions not popped yet are freed with it;
/// commands still running keep the queue's memory alive until they finish
/// (their outcome is then dropped). `NULL` is a no-op.
///
/// Thread safety: no call may use the handle during or after this one.
#[no_mangle]
pub unsafe extern "C" fn redkeep_completions_free(queue: *mut redkeep_completions) {
    ffi_value!((), {
        if !queue.is_null() {
            // SAFETY: came from Box::into_raw in redkeep_completions_new.
            drop(unsafe { Box::from_raw(queue) });
        }
    })
}

/// A cancel handle the caller keeps alive until the completion.
struct CancelRef(*const redkeep_cancel);

// SAFETY: redkeep_cancel is Sync; the caller guarantees it outlives the
// command (see redkeep_pool_submit).
unsafe impl Send for CancelRef {}

impl CancelRef {
    fn get(&self) -> Option<&redkeep_cancel> {
        // SAFETY: NULL or alive until the completion, per the contract.
        unsafe { self.0.as_ref() }
    }
}

/// Starts one command and returns at once; its outcome arrives in `queue`
/// as a [`redkeep_completion`] carrying `token`.
///
/// The arguments are packed as in `redkeep_pool_exec_packed` (with the same
/// bounds) and copied before the call returns. The command runs by the
/// pool's rules, as in `redkeep_pool_exec` (refused, blocking on its own
/// connection, or shared); `timeout_ms` bounds the whole command, from
/// this call to its completion, and `cancel` (may be `NULL`) ends it with
/// `REDKEEP_CANCELLED`; `cancel` must stay alive until the completion is
/// popped. A failure to start (bad arguments, closed runtime)
/// is returned here and produces no completion; every other outcome,
/// errors included, is a completion.
///
/// Thread safety: any thread, concurrently with other calls on the pool and
/// the queue. The pool and the queue may be freed before the completion:
/// freeing the pool ends the command with `REDKEEP_CLOSED`, and a command
/// whose queue was freed drops its outcome.
#[no_mangle]
pub unsafe extern "C" fn redkeep_pool_submit(
    pool: *const redkeep_pool,
    queue: *const redkeep_completions,
    token: u64,
    buf: *const u8,
    buf_len: usize,
    lens: *const usize,
    argc: usize,
    timeout_ms: u32,
    cancel: *const redkeep_cancel,
    err: *mut *mut redkeep_error,
) -> redkeep_status {
    ffi_status!(err, {
        // SAFETY: NULL or live handles per the contract.
        let pool = unsafe { arg_ref(pool, "pool") }?;
        // SAFETY: as above.
        let queue = unsafe { arg_ref(queue, "queue") }?;
        // SAFETY: `buf` and `lens` valid per the contract.
        let cmd = unsafe { arg_packed_command(buf, buf_len, lens, argc) }?;
        let (client, queue) = (pool.pool.clone(), queue.inner.clone());
        let cancel = CancelRef(cancel);
        let timeout = per_call_timeout(timeout_ms);
        pool.rt.spawn(async move {
            // Boxed: the core's call is a deep future, and a task's layout
            // need not nest it.
            let call = Box::pin(query(&client, &cmd, timeout));
            let result = with_cancel(cancel.get(), call).await;
            let item = match result {
                Ok(value) => redkeep_completion {
                    token,
                    status: redkeep_status::REDKEEP_OK,
                    reply: Box::into_raw(Box::new(redkeep_reply::from_value(value))),
                    error: std::ptr::null_mut(),
                },
                Err(failure) => redkeep_completion {
                    token,
                    status: failure.status,
                    reply: std::ptr::null_mut(),
                    error: Box::into_raw(Box::new(failure.into_error())),
                },
            };
            queue.push(item);
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_signals_and_drains() {
        let mut q = std::ptr::null_mut();
        // SAFETY: valid out-pointers; the queue is freed at the end.
        unsafe {
            assert_eq!(
                redkeep_completions_new(&mut q, std::ptr::null_mut()),
                redkeep_status::REDKEEP_OK
            );
            let fd = redkeep_completions_fd(q);
            let handle: &redkeep_completions = &*q;
            assert!(fd >= 0);
            for token in 0..3 {
                handle.inner.push(redkeep_completion {
                    token,
                    status: redkeep_status::REDKEEP_OK,
                    reply: std::ptr::null_mut(),
                    error: std::ptr::null_mut(),
                });
            }
            let mut out: Vec<redkeep_completion> = Vec::with_capacity(2);
            assert_eq!(redkeep_completions_pop(q, out.as_mut_ptr(), 2), 2);
            out.set_len(2);
            assert_eq!(out[1].token, 1);
            assert!(
                handle.inner.signalled.load(Ordering::SeqCst),
                "one left: still signalled"
            );
            let mut rest: Vec<redkeep_completion> = Vec::with_capacity(2);
            assert_eq!(redkeep_completions_pop(q, rest.as_mut_ptr(), 2), 1);
            #[cfg(unix)]
            drop(<std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd));
            #[cfg(windows)]
            drop(<std::os::windows::io::OwnedSocket as std::os::windows::io::FromRawSocket>::from_raw_socket(fd as _));
            redkeep_completions_free(q);
        }
    }
}
