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
//! - `watchdog.rs` (unix): a forked watchdog process between the owner and
//!   the server, blocking on a pipe only the owner can write: on EOF (the
//!   owner is gone, however it ended) it kills the server. The only guard
//!   for servers on macOS and the BSDs, and [`Guard::Watchdog`] on Linux.
//!   [`OwnedChild`] (any command) keeps the platform guard: on macOS and the
//!   BSDs it is best effort (killed on drop and unwinding panics only).

use std::io;
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Mutex};

use super::config::Guard;

#[cfg(windows)]
mod job_object;
#[cfg(target_os = "linux")]
mod pdeathsig;
#[cfg(unix)]
mod process_group;
#[cfg(unix)]
mod watchdog;

#[cfg(unix)]
pub(crate) use watchdog::Spec;

/// What to start as a server (Windows: without the watchdog's grace).
#[cfg(windows)]
pub(crate) struct Spec {
    pub(crate) program: std::path::PathBuf,
    pub(crate) args: Vec<std::ffi::OsString>,
    pub(crate) cwd: std::path::PathBuf,
    pub(crate) stdout: std::fs::File,
    pub(crate) stderr: std::fs::File,
    /// Unused: a Job Object has no grace (see the unix `Spec`).
    #[allow(dead_code)]
    pub(crate) grace: std::time::Duration,
}

/// A guarded child process: a `std` child, or (unix) a watchdog forked by
/// hand, reaped with `waitpid`.
pub(crate) enum Proc {
    Std(Child),
    #[cfg(unix)]
    Raw {
        pid: u32,
        status: Option<ExitStatus>,
    },
}

impl Proc {
    fn wait(&mut self) -> io::Result<ExitStatus> {
        match self {
            Proc::Std(c) => c.wait(),
            #[cfg(unix)]
            Proc::Raw { pid, status } => {
                if let Some(s) = status {
                    return Ok(*s);
                }
                let s = waitpid(*pid, 0)?.expect("a blocking waitpid returns a status");
                *status = Some(s);
                Ok(s)
            }
        }
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match self {
            Proc::Std(c) => c.try_wait(),
            #[cfg(unix)]
            Proc::Raw { pid, status } => {
                if status.is_none() {
                    *status = waitpid(*pid, libc::WNOHANG)?;
                }
                Ok(*status)
            }
        }
    }
}

#[cfg(unix)]
fn waitpid(pid: u32, flags: libc::c_int) -> io::Result<Option<ExitStatus>> {
    use std::os::unix::process::ExitStatusExt;
    loop {
        let mut status = 0;
        // SAFETY: `status` is writable for the call; `pid` is our child.
        let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, flags) };
        if rc == 0 {
            return Ok(None);
        }
        if rc > 0 {
            return Ok(Some(ExitStatus::from_raw(status)));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Sends stop signals to one guarded child, never after it was reaped.
#[derive(Clone)]
pub(crate) struct Killer {
    inner: Arc<KillerInner>,
}

struct KillerInner {
    /// The server's pid (what users see, and what `INFO` reports).
    pid: u32,
    /// The owner's direct child, which signals go to: the server itself,
    /// or its watchdog (which forwards SIGTERM).
    child_pid: u32,
    /// Whether the child leads its own process group (unix).
    #[cfg_attr(not(unix), allow(dead_code))]
    own_group: bool,
    /// `true` once the child was reaped (its pid may be reused from then on).
    reaped: Mutex<bool>,
    #[cfg(windows)]
    job: job_object::Job,
    /// The owner's end of the watchdog's life pipe: held as long as the
    /// child is guarded.
    #[cfg(unix)]
    _life: Option<watchdog::Life>,
}

impl Killer {
    /// The server's (or child's) process id.
    pub(crate) fn pid(&self) -> u32 {
        self.inner.pid
    }

    /// The pid of the owner's direct child: the server, or its watchdog.
    #[cfg_attr(windows, allow(dead_code))]
    fn child_pid(&self) -> u32 {
        self.inner.child_pid
    }

    /// Asks the child to stop (SIGTERM on unix, forwarded by a watchdog; on
    /// Windows there is no such request, so the job is terminated).
    pub(crate) fn terminate(&self) -> io::Result<()> {
        let reaped = lock(&self.inner.reaped);
        if *reaped {
            return Ok(());
        }
        #[cfg(unix)]
        return process_group::terminate(self.inner.child_pid);
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
        return process_group::kill(self.inner.child_pid, self.inner.own_group);
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
                child_pid: child.id(),
                own_group,
                reaped: Mutex::new(false),
                _life: None,
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
                child_pid: child.id(),
                own_group,
                reaped: Mutex::new(false),
                job,
            }),
        };
        Ok((child, killer))
    }
}

/// Starts a server under `guard` ([`Guard::Auto`]: the platform's guard as
/// [`spawn`]; [`Guard::Watchdog`]: a forked watchdog, unix only). The
/// server leads (or joins its watchdog in) a new process group.
pub(crate) fn spawn_server(spec: Spec, guard: Guard) -> io::Result<(Proc, Killer)> {
    let watchdog = match guard {
        Guard::Watchdog => true,
        // Linux and Windows have a kernel guard; other unix systems do not.
        Guard::Auto => cfg!(all(unix, not(target_os = "linux"))),
    };
    #[cfg(unix)]
    if watchdog {
        let started = watchdog::spawn(spec)?;
        let killer = Killer {
            inner: Arc::new(KillerInner {
                pid: started.server,
                child_pid: started.watchdog,
                own_group: true,
                reaped: Mutex::new(false),
                _life: Some(started.life),
            }),
        };
        let proc = Proc::Raw {
            pid: started.watchdog,
            status: None,
        };
        return Ok((proc, killer));
    }
    #[cfg(windows)]
    if watchdog {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the watchdog guard is unix only",
        ));
    }
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .stdin(std::process::Stdio::null())
        .stdout(spec.stdout)
        .stderr(spec.stderr);
    let (child, killer) = spawn(cmd, true)?;
    Ok((Proc::Std(child), killer))
}

/// Waits until the child exits, then reaps it (under the killer's lock, so
/// no signal can reach a recycled pid).
pub(crate) fn wait(child: &mut Proc, killer: &Killer) -> io::Result<ExitStatus> {
    #[cfg(unix)]
    process_group::wait_exited(killer.child_pid())?;
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
pub(crate) fn try_wait(child: &mut Proc, killer: &Killer) -> io::Result<Option<ExitStatus>> {
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
    child: Mutex<Proc>,
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
            child: Mutex::new(Proc::Std(child)),
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
        match &mut *lock(&self.child) {
            Proc::Std(c) => c.stdout.take(),
            #[cfg(unix)]
            Proc::Raw { .. } => None,
        }
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
                match process_group::wait_exited(self.killer.child_pid()) {
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
