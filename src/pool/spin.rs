//! Polling a socket for a reply before sleeping on it.
//!
//! A reply that comes within about one loopback round trip is read without
//! the wake-up of a sleeping thread, which costs tens of µs on a virtual
//! machine's idle core: more than the round trip itself. One thread polls
//! at a time, so callers never spin on every core (the server needs one),
//! and a poll that found nothing makes the next [`SPIN_BACKOFF`] reads on
//! that connection sleep at once, so a slow link costs little CPU.

use std::io;
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a read polls the socket before it sleeps.
const SPIN: Duration = Duration::from_micros(50);

/// How many reads skip the poll after one that found nothing.
const SPIN_BACKOFF: u8 = 15;

/// Whether a thread is polling a socket now.
static SPINNING: AtomicBool = AtomicBool::new(false);

/// One connection's polling: whether its next reads may poll.
#[derive(Debug, Default)]
pub(crate) struct Spin {
    /// Reads left that sleep at once, after a poll that found nothing.
    skip: u8,
}

impl Spin {
    /// Polls `fd` for up to [`SPIN`] (never past `deadline`) with
    /// non-blocking `recv` into `buf`: `None` if nothing came, if another
    /// thread is polling, or if a recent poll on this connection found
    /// nothing.
    pub(crate) fn read(
        &mut self,
        fd: RawFd,
        buf: &mut [u8],
        deadline: Option<Instant>,
    ) -> Option<io::Result<usize>> {
        if self.skip > 0 {
            self.skip -= 1;
            return None;
        }
        if buf.is_empty() || SPINNING.swap(true, Ordering::Acquire) {
            return None;
        }
        let until = Instant::now() + SPIN;
        let until = deadline.map_or(until, |d| d.min(until));
        let out = loop {
            let e = match recv_now(fd, buf) {
                Ok(n) => break Some(Ok(n)),
                Err(e) => e,
            };
            match e.kind() {
                io::ErrorKind::WouldBlock if Instant::now() < until => std::hint::spin_loop(),
                io::ErrorKind::WouldBlock => {
                    self.skip = SPIN_BACKOFF;
                    break None;
                }
                io::ErrorKind::Interrupted => {}
                _ => break Some(Err(e)),
            }
        };
        SPINNING.store(false, Ordering::Release);
        out
    }
}

/// Reads what socket `fd` has now (non-blocking `recv`), whatever a
/// runtime's readiness says: `WouldBlock` when it has nothing.
pub(crate) fn recv_now(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes of writes, and the
    // caller owns the open socket `fd`.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}
