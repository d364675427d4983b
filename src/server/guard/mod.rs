//! The orphan guard: child processes that die with their owner.
//!
//! One file per mechanism, as process-wrap does:
//!
//! - `pdeathsig.rs` (Linux): every child is forked from one library-owned,
//!   never-ending thread, with `PR_SET_PDEATHSIG(SIGKILL)` set between fork
//!   and exec and a `getppid()` re-check. The kernel kills the child when
//!   that thread ends, which happens only when the owner process ends — by
//!   `exit`, a panic that aborts, SIGTERM/SIGINT without a handler, or
//!   `kill -9`.
//! - `process_group.rs` (unix): each child leads its own process group, so
//!   a terminal's Ctrl-C reaches the owner, which decides; stop signals go to
//!   the child (graceful) or its whole group (SIGKILL). Exits are observed
//!   with `waitid(WNOWAIT)` and reaped under a lock, so a signal never hits a
//!   recycled pid.
//! - `job_object.rs` (Windows): the child is created suspended, assigned to
//!   a Job Object with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`, then resumed; the
//!   job handle lives as long as the owner's handle, so the system kills the
//!   child when the owner exits in any way.
//! - Other unix systems (macOS): best effort. The child is killed on drop,
//!   `shutdown` and unwinding panics; after `kill -9` of the owner it
//!   survives, since these systems have no parent-death signal.

use std::io;
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Mutex};

#[cfg(windows)]
mod job_object;
#[cfg(target_os = "linux")]
mod pdeathsig;
#[cfg(unix)]
mod process_group;

/// Sends stop signals to one guarded child, never after it was reaped.
#[derive(Clone)]
pub(crate) struct Killer {
    inner: Arc<KillerInner>,
}

struct KillerInner {
    pid: u32,
    /// Whether the child leads its own process group (unix).
    #[cfg_attr(not(unix), allow(dead_code))]
    own_group: bool,
    /// `true` once the child was reaped (its pid may be reused from then on).
    reaped: Mutex<bool>,
    #[cfg(windows)]
    job: job_object::Job,
}

impl Killer {
    /// The child's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.inner.pid
    }

    /// Asks the child to stop (SIGTERM on unix; on Windows there is no such
    /// request, so the job is terminated).
    pub(crate) fn terminate(&self) -> io::Result<()> {
        let reaped = lock(&self.inner.reaped);
        if *reaped {
            return Ok(());
        }
        #[cfg(unix)]
        return process_group::terminate(self.inner.pid);
        #[cfg(windows)]
        return self.inner.job.terminate();
    }

    /// Kills the child and everything in its process group (unix) or job
    /// (Windows).
    pub(crate) fn kill(&self) -> io::Result<()> {
        let reaped = lock(&self.inner.reaped);
        if *reaped {
            return Ok(());
        }
        #[cfg(unix)]
        return process_group::kill(self.inner.pid, self.inner.own_group);
        #[cfg(windows)]
        return self.inner.job.terminate();
    }

    /// Whether the child was reaped.
    pub(crate) fn is_reaped(&self) -> bool {
        *lock(&self.inner.reaped)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts `cmd` under the platform's guard (see the module doc); with
/// `own_group`, the child leads a new process group (unix).
pub(crate) fn spawn(cmd: Command, own_group: bool) -> io::Result<(Child, Killer)> {
    #[cfg(unix)]
    {
        let mut cmd = cmd;
        if own_group {
            process_group::own_group(&mut cmd);
        }
        #[cfg(target_os = "linux")]
        let child = pdeathsig::spawn(cmd)?;
        #[cfg(not(target_os = "linux"))]
        let child = cmd.spawn()?;
        let killer = Killer {
            inner: Arc::new(KillerInner {
                pid: child.id(),
                own_group,
                reaped: Mutex::new(false),
            }),
        };
        Ok((child, killer))
    }
    #[cfg(windows)]
    {
        let (child, job) = job_object::spawn(cmd)?;
        let killer = Killer {
            inner: Arc::new(KillerInner {
                pid: child.id(),
                own_group,
                reaped: Mutex::new(false),
                job,
            }),
        };
        Ok((child, killer))
    }
}

/// Waits until the child exits, then reaps it (under the killer's lock, so
/// no signal can reach a recycled pid).
pub(crate) fn wait(child: &mut Child, killer: &Killer) -> io::Result<ExitStatus> {
    #[cfg(unix)]
    process_group::wait_exited(child.id())?;
    #[cfg(windows)]
    {
        // A Windows process handle keeps its id from being reused, so
        // waiting outside the lock is safe.
        let status = child.wait()?;
        *lock(&killer.inner.reaped) = true;
        Ok(status)
    }
    #[cfg(unix)]
    {
        let mut reaped = lock(&killer.inner.reaped);
        let status = child.wait()?;
        *reaped = true;
        Ok(status)
    }
}

/// Reaps the child if it has exited, without blocking.
pub(crate) fn try_wait(child: &mut Child, killer: &Killer) -> io::Result<Option<ExitStatus>> {
    let mut reaped = lock(&killer.inner.reaped);
    let status = child.try_wait()?;
    if status.is_some() {
        *reaped = true;
    }
    Ok(status)
}

/// A child process of any program, tied to its owner's life by the same
/// guard a spawned `redis-server` gets.
///
/// On Linux the child is killed (SIGKILL) when the owner process dies, even
/// by `kill -9`; on Windows when the owner's handles close (exit, crash or
/// `TerminateProcess`); on other systems (macOS) only when this value is
/// dropped or [`OwnedChild::kill`] is called — best effort, see the
/// [module docs](crate::server).
///
/// Unlike a spawned server, the child stays in the owner's process group,
/// so a terminal's Ctrl-C reaches both, as with an ordinary child. All
/// methods take `&self`: one thread may [`wait`](OwnedChild::wait) while
/// another [`terminate`](OwnedChild::terminate)s. Dropping an `OwnedChild`
/// kills and reaps the child.
pub struct OwnedChild {
    child: Mutex<Child>,
    status: Mutex<Option<ExitStatus>>,
    killer: Killer,
}

impl OwnedChild {
    /// Starts `cmd` under the guard.
    ///
    /// On Windows the creation flags of `cmd` are replaced by
    /// `CREATE_SUSPENDED` (the child is resumed once it is in the job).
    pub fn spawn(cmd: Command) -> io::Result<OwnedChild> {
        let (child, killer) = spawn(cmd, false)?;
        Ok(OwnedChild {
            child: Mutex::new(child),
            status: Mutex::new(None),
            killer,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.killer.pid()
    }

    /// Takes the child's standard output, if `cmd` asked for a pipe.
    pub fn take_stdout(&self) -> Option<std::process::ChildStdout> {
        lock(&self.child).stdout.take()
    }

    /// Asks the child to stop: SIGTERM on unix; on Windows, which has no
    /// such request, the same as [`OwnedChild::kill`].
    pub fn terminate(&self) -> io::Result<()> {
        self.killer.terminate()
    }

    /// Kills the child (SIGKILL on unix; on Windows, its whole job).
    pub fn kill(&self) -> io::Result<()> {
        self.killer.kill()
    }

    /// Waits for the child to exit and reaps it. Several threads may wait.
    pub fn wait(&self) -> io::Result<ExitStatus> {
        if let Some(status) = *lock(&self.status) {
            return Ok(status);
        }
        #[cfg(unix)]
        {
            // Blocks without reaping and without holding any lock.
            if !self.killer.is_reaped() {
                match process_group::wait_exited(self.pid()) {
                    Ok(()) => {}
                    // Reaped meanwhile by another waiter.
                    Err(e) if e.raw_os_error() == Some(libc::ECHILD) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let mut status = lock(&self.status);
        if let Some(status) = *status {
            return Ok(status);
        }
        let exit = wait(&mut lock(&self.child), &self.killer)?;
        *status = Some(exit);
        Ok(exit)
    }

    /// Reaps the child if it has exited.
    pub fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        let mut status = lock(&self.status);
        if status.is_none() {
            *status = try_wait(&mut lock(&self.child), &self.killer)?;
        }
        Ok(*status)
    }
}

impl Drop for OwnedChild {
    fn drop(&mut self) {
        if !self.killer.is_reaped() {
            let _ = self.killer.kill();
            let _ = wait(&mut lock(&self.child), &self.killer);
        }
    }
}

impl std::fmt::Debug for OwnedChild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedChild")
            .field("pid", &self.pid())
            .finish()
    }
}
