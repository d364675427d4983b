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
use std::sync::OnceLock;

struct Request {
    cmd: Command,
    reply: mpsc::SyncSender<io::Result<Child>>,
}

static SPAWNER: OnceLock<io::Result<mpsc::Sender<Request>>> = OnceLock::new();

fn spawner() -> io::Result<&'static mpsc::Sender<Request>> {
    let started = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("redkeep-spawner".to_owned())
            .spawn(move || {
                // The sender lives in a static, so `recv` never fails and this
                // thread never ends before the process does.
                while let Ok(Request { mut cmd, reply }) = rx.recv() {
                    let _ = reply.send(cmd.spawn());
                }
                // Unreachable in practice; parking keeps the children alive
                // should the static ever be torn down.
                loop {
                    std::thread::park();
                }
            })
            .map(|_| tx)
    });
    started
        .as_ref()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start the spawner thread: {e}")))
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
