//! A private (0700) temporary directory, removed when dropped — and, when
//! its owner died without dropping it (`kill -9`), removed by the next
//! spawn of any redkeep process.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Every private directory's name starts with this, then
/// `<owner pid>-<counter>-<8 hex digits>`.
const PREFIX: &str = "redkeep-";

/// A directory only the owner can enter; removed with its contents on drop.
#[derive(Debug)]
pub(crate) struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    /// Creates `redkeep-<pid>-<n>-<random>` under the system temp dir.
    pub(crate) fn new() -> io::Result<PrivateDir> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir();
        let mut last = None;
        for _ in 0..16 {
            let name = format!(
                "{PREFIX}{}-{}-{:08x}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                fastrand::u32(..)
            );
            let path = base.join(name);
            #[cfg_attr(not(unix), allow(unused_mut))]
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            match builder.create(&path) {
                Ok(()) => return Ok(PrivateDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("cannot create a private directory")))
    }

    /// [`PrivateDir::new`], after [`remove_stale`] in the system temp dir.
    pub(crate) fn new_removing_stale() -> io::Result<PrivateDir> {
        let removed = remove_stale(&std::env::temp_dir());
        if removed > 0 {
            tracing::debug!(removed, "removed private directories of dead owners");
        }
        PrivateDir::new()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Removes the private directories under `base` whose owner is gone, and
/// returns how many it removed.
///
/// # Behavior
///
/// - Only entries named exactly as [`PrivateDir::new`] names them
///   (`redkeep-<pid>-<n>-<8 lowercase hex digits>`), that are directories
///   themselves (a symlink is never followed nor removed) and, on unix,
///   owned by this user.
/// - Only when the owner pid is not alive: `kill(pid, 0)` fails with
///   `ESRCH` on unix; on Windows `OpenProcess` finds no such process, or
///   finds it exited. A pid that cannot be checked counts as alive, and so
///   does a pid reused by another process: such a directory stays (until a
///   later spawn finds the pid free). This process's own directories are
///   never touched.
/// - Removal does not follow symlinks inside the directory either
///   (`std::fs::remove_dir_all`); errors (a concurrent sweep, a file in
///   use) are ignored.
/// - Pids are those of this pid namespace: processes sharing one temp dir
///   across pid namespaces (containers with a common `/tmp` mount) should
///   not share it with redkeep, or set `TMPDIR` apart.
pub(crate) fn remove_stale(base: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(base) else {
        return 0;
    };
    let me = std::process::id();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        if pid == me {
            continue;
        }
        // The entry's own type: a symlink is not a directory here.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) || !owned_by_me(&entry) {
            continue;
        }
        if pid_alive(pid) {
            continue;
        }
        let path = entry.path();
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                tracing::debug!(path = %path.display(), pid, "removed a dead owner's private directory");
                removed += 1;
            }
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "cannot remove a dead owner's private directory");
            }
        }
    }
    removed
}

/// The owner pid in a private directory's name, `None` for any other name.
fn owner_pid(name: &str) -> Option<u32> {
    let mut parts = name.strip_prefix(PREFIX)?.split('-');
    let (pid, counter, random) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let hex = random.len() == 8
        && random
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if parts.next().is_some() || !digits(pid) || !digits(counter) || !hex {
        return None;
    }
    pid.parse().ok().filter(|&pid| pid != 0)
}

#[cfg(unix)]
fn owned_by_me(entry: &std::fs::DirEntry) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    // `DirEntry::metadata` does not follow a symlink.
    entry.metadata().is_ok_and(|m| m.uid() == me)
}

#[cfg(not(unix))]
fn owned_by_me(_entry: &std::fs::DirEntry) -> bool {
    true
}

/// Whether a process `pid` exists (a zombie counts as alive); `true`
/// whenever that cannot be told.
#[cfg(unix)]
fn pid_alive(pid: u32) -> bool {
    // 0 and negative pids name process groups: never ask about those.
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 sends nothing; `kill` only checks that the process
    // exists and may be signalled.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    // EPERM: it exists, owned by someone else.
    io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Whether a process `pid` exists and has not exited; `true` whenever that
/// cannot be told.
#[cfg(windows)]
fn pid_alive(pid: u32) -> bool {
    use windows_sys::Win32::Foundation::{
        CloseHandle, GetLastError, ERROR_INVALID_PARAMETER, STILL_ACTIVE,
    };
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    };
    // SAFETY: plain values in, a handle or NULL out (checked below).
    let handle = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if handle.is_null() {
        // SAFETY: reads this thread's last-error value, set by OpenProcess.
        // ERROR_INVALID_PARAMETER: no such process; anything else (access
        // denied) means it exists.
        return unsafe { GetLastError() } != ERROR_INVALID_PARAMETER;
    }
    let mut code = 0u32;
    // SAFETY: `handle` is a process handle opened above with query rights;
    // `code` is a valid place for the exit code.
    let ok = unsafe { GetExitCodeProcess(handle, &mut code) };
    // SAFETY: `handle` came from OpenProcess and is closed once, here.
    unsafe { CloseHandle(handle) };
    ok == 0 || code == STILL_ACTIVE as u32
}

#[cfg(not(any(unix, windows)))]
fn pid_alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_names_carry_an_owner() {
        assert_eq!(owner_pid("redkeep-4242-0-0123abcd"), Some(4242));
        assert_eq!(owner_pid("redkeep-1-17-ffffffff"), Some(1));
        for name in [
            "redkeep-0-0-0123abcd",
            "redkeep-4242-0-0123ABCD",
            "redkeep-4242-0-0123abc",
            "redkeep-4242-0-0123abcde",
            "redkeep-4242-0-0123abcd-x",
            "redkeep-4242--0123abcd",
            "redkeep--0-0123abcd",
            "redkeep-+42-0-0123abcd",
            "redkeep-99999999999-0-0123abcd",
            "redkeep-test-0-0123abcd",
            "xredkeep-4242-0-0123abcd",
            "redkeep.sock",
        ] {
            assert_eq!(owner_pid(name), None, "{name}");
        }
    }

    #[test]
    fn this_process_is_alive() {
        assert!(pid_alive(std::process::id()));
    }

    #[test]
    fn new_names_parse_back_to_this_pid() {
        let dir = PrivateDir::new().expect("create");
        let name = dir.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(owner_pid(&name), Some(std::process::id()));
    }
}
