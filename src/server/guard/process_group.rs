//! Unix: the child leads its own process group; stop signals and reaping.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes the child the leader of a new process group, so a terminal's
/// Ctrl-C (sent to the foreground group) reaches the owner only.
pub(super) fn own_group(cmd: &mut Command) {
    cmd.process_group(0);
}

/// SIGTERM to the child itself.
pub(super) fn terminate(pid: u32) -> io::Result<()> {
    signal(pid as libc::pid_t, libc::SIGTERM)
}

/// SIGKILL to the child, and to its whole process group if it leads one.
pub(super) fn kill(pid: u32, own_group: bool) -> io::Result<()> {
    let own = signal(pid as libc::pid_t, libc::SIGKILL);
    if own_group {
        let _ = signal(-(pid as libc::pid_t), libc::SIGKILL);
    }
    own
}

fn signal(target: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: `kill` takes plain integers and has no memory-safety
    // preconditions. Callers hold the reap lock, so `target` is our child (or
    // its group) and not a recycled pid.
    let rc = unsafe { libc::kill(target, sig) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ESRCH) {
        // Already gone (a zombie's group may be empty).
        return Ok(());
    }
    Err(err)
}

/// Blocks until the child has exited, leaving it unreaped (`WNOWAIT`), so
/// the caller can reap it under its lock.
pub(super) fn wait_exited(pid: u32) -> io::Result<()> {
    loop {
        // SAFETY: an all-zero `siginfo_t` is a valid value of this plain C
        // struct; `waitid` only writes into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable `siginfo_t` for the call's
        // duration; the other arguments are plain integers.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}
