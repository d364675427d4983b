//! This process's id without a system call per read: `getpid` is a real
//! system call on Linux (glibc no longer caches it), and the runtime checks
//! the id on every call of the C ABI to notice a `fork()`. The id is read
//! once and kept; a `pthread_atfork` child handler forgets it in every
//! forked child, whose first read then asks the system again.

#[cfg(unix)]
mod imp {
    use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};

    /// The cached id; 0 when unknown (no process has id 0).
    static PID: AtomicU32 = AtomicU32::new(0);
    /// 0: handler not registered, 1: being registered, 2: registered (only
    /// then may the id be cached: a fork before that would keep it).
    static HANDLER: AtomicU8 = AtomicU8::new(0);

    extern "C" fn in_child() {
        // Async-signal-safe: one atomic store.
        PID.store(0, Ordering::SeqCst);
    }

    pub(crate) fn current() -> u32 {
        let cached = PID.load(Ordering::SeqCst);
        if cached != 0 {
            return cached;
        }
        if HANDLER.load(Ordering::SeqCst) != 2 {
            if HANDLER
                .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
            {
                // Another thread is registering it: do not cache yet.
                return std::process::id();
            }
            // SAFETY: registers a handler that only does an atomic store;
            // no prepare or parent handler.
            let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            if rc != 0 {
                // Never cached: every read asks the system. (HANDLER stays 1.)
                return std::process::id();
            }
            HANDLER.store(2, Ordering::SeqCst);
        }
        let pid = std::process::id();
        // A fork between the read and this store leaves 0 in the child (its
        // memory is copied before the store) or is reset by the handler.
        PID.store(pid, Ordering::SeqCst);
        pid
    }
}

#[cfg(not(unix))]
mod imp {
    /// No `fork()` here, and reading the id is no system call.
    pub(crate) fn current() -> u32 {
        std::process::id()
    }
}

/// This process's id, as `std::process::id()`, kept between reads and
/// read again after a `fork()`.
pub(crate) fn current() -> u32 {
    imp::current()
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn the_cached_id_is_the_process_id_and_a_forked_child_reads_its_own() {
        assert_eq!(super::current(), std::process::id());
        assert_eq!(super::current(), std::process::id());
        let (mut rd, mut wr) = std::io::pipe().unwrap();
        // SAFETY: the child only reads its id, writes to a pipe and exits.
        let child = unsafe { libc::fork() };
        assert!(child >= 0);
        if child == 0 {
            use std::io::Write;
            let ok = super::current() == std::process::id();
            let _ = wr.write_all(&[u8::from(ok)]);
            // SAFETY: ends the child at once, without running the parent's atexit.
            unsafe { libc::_exit(0) };
        }
        drop(wr);
        let mut got = [0u8; 1];
        std::io::Read::read_exact(&mut rd, &mut got).unwrap();
        let mut status = 0;
        // SAFETY: reaps our own child.
        unsafe { libc::waitpid(child, &mut status, 0) };
        assert_eq!(got[0], 1, "the forked child saw its parent's id");
    }
}
