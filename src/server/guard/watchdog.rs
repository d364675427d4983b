//! Unix: a forked watchdog between the owner and the server.
//!
//! The owner forks a watchdog process, which forks the server, execs it, and
//! stays its parent:
//!
//! ```text
//! owner ──(life pipe: the owner holds the only write end)──▶ watchdog ──fork/exec──▶ redis-server
//! ```
//!
//! - The watchdog blocks in `poll` on the read end of a *life pipe* whose
//!   write end only the owner holds (it is close-on-exec, and every other
//!   watchdog closes it right after its fork), and on a self-pipe its
//!   SIGCHLD/SIGTERM/SIGINT/SIGHUP handlers write to.
//! - EOF on the life pipe means the owner is gone (exit, crash, `kill -9`:
//!   the kernel closes its descriptors): the watchdog sends SIGKILL to the
//!   server — or, with a grace period (a server that keeps data), SIGTERM
//!   first and SIGKILL after the deadline.
//! - SIGTERM, SIGINT and SIGHUP sent to the watchdog are forwarded to the
//!   server.
//! - When the server exits, the watchdog reaps it and exits with the same
//!   status (the same exit code, or the same signal re-raised), so the owner
//!   sees the server's status when it reaps the watchdog.
//! - The watchdog leads a new process group, which the server joins, so a
//!   SIGKILL to the group reaches both.
//!
//! Unlike `PR_SET_PDEATHSIG`, the pipe does not depend on which thread forked
//! (a short-lived thread is fine) and exists on every unix.
//!
//! After `fork` the watchdog and the server run only async-signal-safe calls
//! (`close`, `dup2`, `fcntl`, `setpgid`, `sigaction`, `sigprocmask`, `poll`,
//! `read`, `write`, `waitpid`, `kill`, `clock_gettime`, `chdir`, `execve`,
//! `_exit`): every buffer (argv, envp, the working directory), every
//! descriptor and every pipe is prepared before the fork, and nothing is
//! allocated or locked after it.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// What to start under a watchdog.
pub(crate) struct Spec {
    /// The program (an absolute path or one relative to `cwd`; no `PATH`
    /// lookup is done).
    pub(crate) program: PathBuf,
    /// Its arguments (without the program name).
    pub(crate) args: Vec<OsString>,
    /// Its working directory.
    pub(crate) cwd: PathBuf,
    /// Its standard output and error (stdin is `/dev/null`).
    pub(crate) stdout: File,
    pub(crate) stderr: File,
    /// How long the server may take to exit after SIGTERM, once the owner is
    /// gone, before SIGKILL; zero sends SIGKILL at once.
    pub(crate) grace: Duration,
}

/// The write ends of the life pipes this process holds, one per live
/// watchdog. Locked for the whole of a watchdog's creation, so the list a
/// new watchdog closes after its fork is complete.
static LIFE_FDS: Mutex<Vec<RawFd>> = Mutex::new(Vec::new());

/// The owner's end of a watchdog's life pipe: while it is open, the watchdog
/// keeps the server; closing it (or the owner's death) ends the server.
pub(crate) struct Life(RawFd);

impl Drop for Life {
    fn drop(&mut self) {
        let mut fds = LIFE_FDS.lock().unwrap_or_else(|p| p.into_inner());
        fds.retain(|fd| *fd != self.0);
        // SAFETY: `self.0` is a descriptor this value owns, closed once.
        unsafe { libc::close(self.0) };
    }
}

/// A started watchdog: its pid (the owner's direct child), the server's pid,
/// and the owner's end of the life pipe.
pub(crate) struct Started {
    pub(crate) watchdog: u32,
    pub(crate) server: u32,
    pub(crate) life: Life,
}

/// Everything the forked processes use, made before the fork.
struct Prepared {
    program: CString,
    /// NUL-terminated pointers into `_argv`/`_envp`.
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    cwd: CString,
    stdin: OwnedFd,
    stdout: OwnedFd,
    stderr: OwnedFd,
    grace_ms: i64,
}

/// A pipe, both ends close-on-exec and numbered 3 or above (so `dup2` onto
/// 0–2 in the server never clobbers one).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    #[cfg(not(target_vendor = "apple"))]
    // SAFETY: `fds` is a writable array of two ints, as `pipe2` requires.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    // No `pipe2` on Apple systems: `pipe` then `FD_CLOEXEC` (the window
    // between them is closed by `high`, which re-creates both descriptors
    // close-on-exec, and by the lock held during creation).
    #[cfg(target_vendor = "apple")]
    // SAFETY: as above, for `pipe`.
    let rc = unsafe { libc::pipe(fds.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((high(r)?, high(w)?))
}

/// The same open file as `fd`, close-on-exec and numbered 3 or above.
fn high(fd: OwnedFd) -> io::Result<OwnedFd> {
    // SAFETY: `fd` is a valid open descriptor; F_DUPFD_CLOEXEC returns a new
    // one (or -1), which we own.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` was just created by `fcntl` and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

fn cstring(bytes: &[u8], what: &str) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} contains a NUL byte"),
        )
    })
}

impl Prepared {
    fn new(spec: Spec) -> io::Result<Prepared> {
        let program = cstring(spec.program.as_os_str().as_bytes(), "the program path")?;
        let mut argv_owned = vec![program.clone()];
        for a in &spec.args {
            argv_owned.push(cstring(a.as_bytes(), "an argument")?);
        }
        let mut envp_owned = Vec::new();
        for (k, v) in std::env::vars_os() {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            // An entry with a NUL cannot be passed on; skip it.
            if let Ok(c) = CString::new(kv) {
                envp_owned.push(c);
            }
        }
        let ptrs = |v: &[CString]| {
            let mut p: Vec<*const libc::c_char> = v.iter().map(|c| c.as_ptr()).collect();
            p.push(std::ptr::null());
            p
        };
        Ok(Prepared {
            program,
            argv: ptrs(&argv_owned),
            envp: ptrs(&envp_owned),
            _argv: argv_owned,
            _envp: envp_owned,
            cwd: cstring(spec.cwd.as_os_str().as_bytes(), "the working directory")?,
            stdin: high(File::open("/dev/null")?.into())?,
            stdout: high(spec.stdout.into())?,
            stderr: high(spec.stderr.into())?,
            grace_ms: spec.grace.as_millis().min(i64::MAX as u128) as i64,
        })
    }
}

/// The descriptors of one watchdog, as raw numbers for the forked side.
#[derive(Clone, Copy)]
struct Fds {
    life_r: RawFd,
    life_w: RawFd,
    report_r: RawFd,
    report_w: RawFd,
    exec_r: RawFd,
    exec_w: RawFd,
    sig_r: RawFd,
    sig_w: RawFd,
}

/// Starts `spec` under a new watchdog and returns once the server was
/// exec'd (or with the `execve` error, such as `ENOENT` or `EACCES`).
pub(crate) fn spawn(spec: Spec) -> io::Result<Started> {
    let prepared = Prepared::new(spec)?;
    let mut registry = LIFE_FDS.lock().unwrap_or_else(|p| p.into_inner());
    // Room for this watchdog's fd, so the push below never allocates while
    // other state is half made (and never fails after the fork).
    registry.reserve(1);
    let (life_r, life_w) = pipe()?;
    let (report_r, report_w) = pipe()?;
    let (exec_r, exec_w) = pipe()?;
    let (sig_r, sig_w) = pipe()?;
    let fds = Fds {
        life_r: life_r.as_raw_fd(),
        life_w: life_w.as_raw_fd(),
        report_r: report_r.as_raw_fd(),
        report_w: report_w.as_raw_fd(),
        exec_r: exec_r.as_raw_fd(),
        exec_w: exec_w.as_raw_fd(),
        sig_r: sig_r.as_raw_fd(),
        sig_w: sig_w.as_raw_fd(),
    };
    // SAFETY: `fork` has no preconditions; in the child only `watchdog`
    // runs, which uses async-signal-safe calls on memory prepared above
    // (including `registry`, which no thread can change: we hold its lock)
    // and never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: see above; this is the forked child.
        unsafe { watchdog(&prepared, fds, &registry) }
    }
    // The owner keeps the life pipe's write end and the report's read end.
    drop((life_r, report_w, exec_r, exec_w, sig_r, sig_w));
    let life = Life(std::os::fd::IntoRawFd::into_raw_fd(life_w));
    registry.push(life.0);
    drop(registry);
    drop(prepared);
    let watchdog = pid as u32;
    match read_report(&report_r) {
        Ok((server, 0)) => Ok(Started {
            watchdog,
            server,
            life,
        }),
        Ok((_, errno)) => {
            reap(pid);
            Err(io::Error::from_raw_os_error(errno))
        }
        Err(e) => {
            // SAFETY: `pid` is our unreaped child; a plain signal.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            reap(pid);
            Err(e)
        }
    }
}

fn reap(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: `status` is writable; `pid` is our child.
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
    {}
}

/// The server's pid and the `execve` errno (0: it runs), from the watchdog,
/// within 10 s.
fn read_report(fd: &OwnedFd) -> io::Result<(u32, i32)> {
    let mut buf = [0u8; 8];
    let mut got = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while got < buf.len() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, left.as_millis().max(1) as libc::c_int) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if rc == 0 {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the watchdog did not report the server's start within 10 s",
            ));
        }
        // SAFETY: the destination is the unfilled tail of `buf`.
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                buf[got..].as_mut_ptr().cast(),
                buf.len() - got,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::Error::other(
                "the watchdog exited before it started the server",
            ));
        }
        got += n as usize;
    }
    let server = u32::from_ne_bytes(buf[..4].try_into().expect("4 bytes"));
    let errno = i32::from_ne_bytes(buf[4..].try_into().expect("4 bytes"));
    Ok((server, errno))
}

/// The write end of the watchdog's self-pipe, for its signal handler.
static SIG_W: AtomicI32 = AtomicI32::new(-1);

/// Signals the watchdog handles; the others keep their disposition.
const FORWARDED: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

extern "C" fn on_signal(sig: libc::c_int) {
    let byte = sig as u8;
    // SAFETY: `write` is async-signal-safe; errno is saved and restored so
    // the interrupted code does not see it change. A full pipe drops the
    // byte, which is harmless: the loop also polls `waitpid`, and one byte
    // of a kind is enough.
    unsafe {
        let errno = errno_location();
        let saved = *errno;
        libc::write(
            SIG_W.load(Ordering::Relaxed),
            (&byte as *const u8).cast(),
            1,
        );
        *errno = saved;
    }
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "emscripten"))]
unsafe fn errno_location() -> *mut libc::c_int {
    // SAFETY: the caller upholds this function's contract (see its doc);
    // every call below is async-signal-safe and allocates nothing.
    unsafe { libc::__errno_location() }
}
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly"
))]
unsafe fn errno_location() -> *mut libc::c_int {
    // SAFETY: the caller upholds this function's contract (see its doc);
    // every call below is async-signal-safe and allocates nothing.
    unsafe { libc::__error() }
}
#[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
unsafe fn errno_location() -> *mut libc::c_int {
    // SAFETY: the caller upholds this function's contract (see its doc);
    // every call below is async-signal-safe and allocates nothing.
    unsafe { libc::__errno() }
}
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "emscripten",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
)))]
unsafe fn errno_location() -> *mut libc::c_int {
    // SAFETY: the caller upholds this function's contract (see its doc);
    // every call below is async-signal-safe and allocates nothing.
    unsafe { libc::___errno() }
}

fn errno() -> libc::c_int {
    // SAFETY: reading this thread's errno.
    unsafe { *errno_location() }
}

/// Sets `sig`'s disposition to `handler` (a function or `SIG_DFL`/`SIG_IGN`).
unsafe fn set_handler(sig: libc::c_int, handler: libc::sighandler_t, flags: libc::c_int) {
    // SAFETY: the caller upholds this function's contract (see its doc);
    // every call below is async-signal-safe and allocates nothing.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        sa.sa_flags = flags;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

unsafe fn set_mask(how: libc::c_int, all: bool) {
    // SAFETY: the caller upholds this function's contract (see its doc);
    // every call below is async-signal-safe and allocates nothing.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        if all {
            libc::sigfillset(&mut set);
        } else {
            libc::sigemptyset(&mut set);
        }
        libc::sigprocmask(how, &set, std::ptr::null_mut());
    }
}

fn now_ms() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is writable; `clock_gettime` is async-signal-safe.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    #[allow(clippy::unnecessary_cast)] // `time_t`/`c_long` are not `i64` everywhere
    let ms = ts.tv_sec as i64 * 1000 + ts.tv_nsec as i64 / 1_000_000;
    ms
}

/// Writes all of `buf`, retrying on EINTR; errors are ignored (the reader
/// sees a short report as a failure).
unsafe fn write_all(fd: RawFd, buf: &[u8]) {
    // SAFETY: the caller upholds this function's contract (see its doc);
    // every call below is async-signal-safe and allocates nothing.
    unsafe {
        let mut done = 0;
        while done < buf.len() {
            let n = libc::write(fd, buf[done..].as_ptr().cast(), buf.len() - done);
            if n < 0 {
                if errno() == libc::EINTR {
                    continue;
                }
                return;
            }
            done += n as usize;
        }
    }
}

/// The watchdog process, right after the fork. Never returns.
///
/// # Safety
///
/// Only in the child of `fork`. Every call here is async-signal-safe, and no
/// memory is allocated, freed or locked.
unsafe fn watchdog(p: &Prepared, fds: Fds, others: &[RawFd]) -> ! {
    // SAFETY: the caller upholds this function's contract (see its doc);
    // every call below is async-signal-safe and allocates nothing.
    unsafe {
        // Block every signal until the handlers and the server are in place
        // (pending ones are delivered after, to our handlers).
        set_mask(libc::SIG_SETMASK, true);
        // The owner's ends, and the life pipes of the owner's other watchdogs:
        // a watchdog must never keep another one's owner "alive".
        libc::close(fds.life_w);
        libc::close(fds.report_r);
        for fd in others {
            libc::close(*fd);
        }
        // Our own process group, which the server joins: a terminal's Ctrl-C
        // reaches the owner only, and a SIGKILL to the group reaches both.
        libc::setpgid(0, 0);
        // Handlers only write a byte to the self-pipe (non-blocking).
        for fd in [fds.sig_r, fds.sig_w] {
            let fl = libc::fcntl(fd, libc::F_GETFL);
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
        SIG_W.store(fds.sig_w, Ordering::Relaxed);
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        set_handler(
            libc::SIGCHLD,
            handler,
            libc::SA_RESTART | libc::SA_NOCLDSTOP,
        );
        for sig in FORWARDED {
            set_handler(sig, handler, libc::SA_RESTART);
        }
        // A report to an owner that died is an EPIPE, not our death.
        set_handler(libc::SIGPIPE, libc::SIG_IGN, 0);

        let server = libc::fork();
        if server == 0 {
            exec_server(p, fds);
        }
        libc::close(fds.exec_w);
        if server < 0 {
            let mut report = [0u8; 8];
            report[4..].copy_from_slice(&errno().to_ne_bytes());
            write_all(fds.report_w, &report);
            libc::_exit(127);
        }
        // EOF: the exec worked (the pipe is close-on-exec); 4 bytes: its errno.
        let mut exec_errno = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = libc::read(fds.exec_r, exec_errno[got..].as_mut_ptr().cast(), 4 - got);
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            if n <= 0 {
                break;
            }
            got += n as usize;
        }
        libc::close(fds.exec_r);
        let mut report = [0u8; 8];
        report[..4].copy_from_slice(&(server as u32).to_ne_bytes());
        if got == 4 {
            report[4..].copy_from_slice(&exec_errno);
        }
        write_all(fds.report_w, &report);
        libc::close(fds.report_w);
        if got == 4 {
            let mut status = 0;
            libc::waitpid(server, &mut status, 0);
            libc::_exit(127);
        }
        set_mask(libc::SIG_SETMASK, false);
        supervise(server, fds, p.grace_ms)
    }
}

/// The server process, right after the second fork: stdio, working
/// directory, default signal dispositions, then `execve`. On failure the
/// errno goes to the exec pipe.
unsafe fn exec_server(p: &Prepared, fds: Fds) -> ! {
    // SAFETY: the caller upholds this function's contract (see its doc);
    // every call below is async-signal-safe and allocates nothing.
    unsafe {
        // Every handler back to the default (ours would write to the
        // watchdog's pipe); an ignored SIGPIPE is reset too, as a shell would.
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                set_handler(sig, libc::SIG_DFL, 0);
            }
        }
        for fd in [fds.life_r, fds.sig_r, fds.sig_w, fds.exec_r, fds.report_w] {
            libc::close(fd);
        }
        let fail = |fds: Fds| -> ! {
            let e = errno().to_ne_bytes();
            write_all(fds.exec_w, &e);
            libc::_exit(127)
        };
        // `Prepared` made these 3 or above, so no `dup2` clobbers another.
        if libc::dup2(p.stdin.as_raw_fd(), 0) < 0
            || libc::dup2(p.stdout.as_raw_fd(), 1) < 0
            || libc::dup2(p.stderr.as_raw_fd(), 2) < 0
        {
            fail(fds);
        }
        if libc::chdir(p.cwd.as_ptr()) != 0 {
            fail(fds);
        }
        set_mask(libc::SIG_SETMASK, false);
        libc::execve(p.program.as_ptr(), p.argv.as_ptr(), p.envp.as_ptr());
        fail(fds)
    }
}

/// The watchdog's loop: forward signals, kill the server when the owner is
/// gone, exit like the server when it exits.
unsafe fn supervise(server: libc::pid_t, fds: Fds, grace_ms: i64) -> ! {
    // SAFETY: the caller upholds this function's contract (see its doc);
    // every call below is async-signal-safe and allocates nothing.
    unsafe {
        // Set once the owner is gone: when SIGKILL follows the SIGTERM.
        let mut kill_at: Option<i64> = None;
        let mut killed = false;
        loop {
            let mut status = 0;
            let rc = libc::waitpid(server, &mut status, libc::WNOHANG);
            if rc == server {
                exit_like(status);
            }
            if rc < 0 && errno() == libc::ECHILD {
                libc::_exit(127);
            }
            let timeout = match kill_at {
                Some(at) if !killed => (at - now_ms()).clamp(0, i32::MAX as i64) as libc::c_int,
                _ => -1,
            };
            let mut pfds = [
                libc::pollfd {
                    fd: fds.sig_r,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    // A negative fd is ignored by `poll`: once the owner is
                    // gone, only signals matter.
                    fd: if kill_at.is_some() { -1 } else { fds.life_r },
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            let n = libc::poll(pfds.as_mut_ptr(), 2, timeout);
            if n < 0 && errno() != libc::EINTR {
                // Cannot wait: stop the server rather than leave it unguarded.
                libc::kill(server, libc::SIGKILL);
                kill_at = Some(0);
                killed = true;
                continue;
            }
            if n > 0 && pfds[0].revents != 0 {
                let mut buf = [0u8; 64];
                loop {
                    let got = libc::read(fds.sig_r, buf.as_mut_ptr().cast(), buf.len());
                    if got <= 0 {
                        break;
                    }
                    for &sig in &buf[..got as usize] {
                        let sig = sig as libc::c_int;
                        if FORWARDED.contains(&sig) {
                            libc::kill(server, sig);
                        }
                    }
                }
            }
            if n > 0 && kill_at.is_none() && pfds[1].revents != 0 {
                let mut byte = 0u8;
                let got = libc::read(fds.life_r, (&mut byte as *mut u8).cast(), 1);
                // Nobody writes to the life pipe: any readiness but EINTR is
                // EOF (or an error), that is, the owner is gone.
                if !(got < 0 && errno() == libc::EINTR) {
                    // No grace: SIGKILL at once (redis-server acts on
                    // SIGTERM only at its next cron tick, up to 100 ms).
                    let sig = if grace_ms > 0 {
                        libc::SIGTERM
                    } else {
                        libc::SIGKILL
                    };
                    libc::kill(server, sig);
                    killed = grace_ms == 0;
                    kill_at = Some(now_ms() + grace_ms);
                }
            }
            if let Some(at) = kill_at {
                if !killed && now_ms() >= at {
                    libc::kill(server, libc::SIGKILL);
                    killed = true;
                }
            }
        }
    }
}

/// Exits with the server's status: its exit code, or its signal re-raised
/// (without a core dump).
unsafe fn exit_like(status: libc::c_int) -> ! {
    // SAFETY: the caller upholds this function's contract (see its doc);
    // every call below is async-signal-safe and allocates nothing.
    unsafe {
        if libc::WIFEXITED(status) {
            libc::_exit(libc::WEXITSTATUS(status));
        }
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            let no_core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &no_core);
            set_handler(sig, libc::SIG_DFL, 0);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::kill(libc::getpid(), sig);
            libc::_exit(128 + sig);
        }
        libc::_exit(127)
    }
}
