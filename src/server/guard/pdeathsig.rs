//! Linux: `PR_SET_PDEATHSIG(SIGKILL)` from one long-lived thread.
//!
//! The parent-death signal fires when the *thread* that forked the child
//! ends, not the process. A child forked from a tokio worker or from a
//! short-lived thread would be killed as soon as that thread exits. So every
//! child is forked by one thread that this module starts on first use and
//! that never returns: it ends only with the process, which is exactly when
//! the child must die.
//!
//! Between `fork` and `exec` the child sets the signal, then compares
//! `getppid()` with the owner's pid taken before the fork: if the owner died
//! in between (the child was already re-parented), the signal would never
//! come, so the child exits at once.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::Mutex;

struct Request {
    cmd: Command,
    reply: mpsc::SyncSender<io::Result<Child>>,
}

/// The spawner of this process, keyed by pid: after a `fork()` (Python's
/// multiprocessing, for one) the child process has the channel but not the
/// thread, so it starts its own.
static SPAWNER: Mutex<Option<(u32, mpsc::Sender<Request>)>> = Mutex::new(None);

fn spawner() -> io::Result<mpsc::Sender<Request>> {
    let mut slot = SPAWNER.lock().unwrap_or_else(|p| p.into_inner());
    let me = std::process::id();
    if let Some((pid, tx)) = slot.as_ref() {
        if *pid == me {
            return Ok(tx.clone());
        }
    }
    let (tx, rx) = mpsc::channel::<Request>();
    std::thread::Builder::new()
        .name("redkeep-spawner".to_owned())
        .spawn(move || {
            // A sender stays in the static, so `recv` never fails and this
            // thread lives as long as the process.
            while let Ok(Request { mut cmd, reply }) = rx.recv() {
                let _ = reply.send(cmd.spawn());
            }
            // Only reached if the static was replaced (after a fork, in the
            // forked process, where this thread does not exist anyway).
            loop {
                std::thread::park();
            }
        })
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start the spawner thread: {e}")))?;
    *slot = Some((me, tx.clone()));
    Ok(tx)
}

/// Spawns `cmd` from the spawner thread with the parent-death signal set.
pub(super) fn spawn(mut cmd: Command) -> io::Result<Child> {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: `prctl`, `getppid` and `_exit` are,
    // and reading errno through `last_os_error` allocates nothing. It touches
    // no lock and no memory shared with other threads.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The owner may have died between fork and prctl: then we were
            // re-parented and the signal will never come.
            if libc::getppid() != parent {
                libc::_exit(127);
            }
            Ok(())
        });
    }
    let (reply, answer) = mpsc::sync_channel(1);
    spawner()?
        .send(Request { cmd, reply })
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the spawner thread is gone"))?
}
