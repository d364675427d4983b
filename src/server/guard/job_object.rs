//! Windows: a Job Object with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`.
//!
//! The child is created suspended, assigned to a fresh job, and only then
//! resumed, so it never runs outside the job. The job handle is not
//! inheritable and is held by the owner alone: when the owner exits in any
//! way (return, crash, `TerminateProcess`), the system closes the handle and
//! kills everything in the job.

use std::io;
use std::os::windows::io::AsRawHandle;
use std::os::windows::process::CommandExt;
use std::process::{Child, Command};

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Thread32First, Thread32Next, TH32CS_SNAPTHREAD, THREADENTRY32,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
    SetInformationJobObject, TerminateJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};
use windows_sys::Win32::System::Threading::{
    OpenThread, ResumeThread, CREATE_SUSPENDED, THREAD_SUSPEND_RESUME,
};

/// An owned job handle; closing it kills every process in the job.
pub(super) struct Job(HANDLE);

// SAFETY: a job handle is a kernel object reference usable from any thread;
// the Win32 job functions are thread-safe.
unsafe impl Send for Job {}
// SAFETY: as above; `&Job` only allows `TerminateJobObject`, which is
// thread-safe.
unsafe impl Sync for Job {}

impl Job {
    fn new() -> io::Result<Job> {
        // SAFETY: null security attributes (not inheritable) and a null name
        // (anonymous job) are documented valid arguments.
        let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        let job = Job(handle);
        // SAFETY: an all-zero JOBOBJECT_EXTENDED_LIMIT_INFORMATION is a valid
        // value of this plain C struct (no limits set).
        let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: `job.0` is a valid job handle; the pointer and size describe
        // `info`, which outlives the call.
        let ok = unsafe {
            SetInformationJobObject(
                job.0,
                JobObjectExtendedLimitInformation,
                (&info as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(job)
    }

    fn assign(&self, process: HANDLE) -> io::Result<()> {
        // SAFETY: both handles are valid for the call: the job is owned by
        // `self`, the process handle by the `Child` the caller holds.
        if unsafe { AssignProcessToJobObject(self.0, process) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Kills every process in the job.
    pub(super) fn terminate(&self) -> io::Result<()> {
        // SAFETY: `self.0` is a valid job handle owned by `self`.
        if unsafe { TerminateJobObject(self.0, 1) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: `self.0` is a handle we own and close exactly once.
        unsafe { CloseHandle(self.0) };
    }
}

/// Creates the child suspended, puts it in a new job, then resumes it.
pub(super) fn spawn(mut cmd: Command) -> io::Result<(Child, Job)> {
    let job = Job::new()?;
    cmd.creation_flags(CREATE_SUSPENDED);
    let mut child = cmd.spawn()?;
    let assigned = job
        .assign(child.as_raw_handle() as HANDLE)
        .and_then(|()| resume_threads(child.id()));
    if let Err(e) = assigned {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok((child, job))
}

/// Resumes the (only) thread of a process created suspended. `std` does not
/// expose the main thread handle, so the thread is found by a snapshot.
fn resume_threads(pid: u32) -> io::Result<()> {
    // SAFETY: plain flags and a pid; the returned handle is checked below.
    let snapshot = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) };
    if snapshot == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    let mut resumed = 0;
    // SAFETY: an all-zero THREADENTRY32 is a valid value of this plain C
    // struct; `dwSize` is set before use as the API requires.
    let mut entry: THREADENTRY32 = unsafe { std::mem::zeroed() };
    entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
    // SAFETY: `snapshot` is valid and `entry` is writable with `dwSize` set.
    let mut more = unsafe { Thread32First(snapshot, &mut entry) } != 0;
    while more {
        if entry.th32OwnerProcessID == pid {
            // SAFETY: plain access flags and a thread id; the handle is
            // checked and closed below.
            let thread = unsafe { OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID) };
            if !thread.is_null() {
                // SAFETY: `thread` is a valid handle with SUSPEND_RESUME
                // access, closed exactly once right after.
                unsafe {
                    ResumeThread(thread);
                    CloseHandle(thread);
                }
                resumed += 1;
            }
        }
        // SAFETY: as for `Thread32First`.
        more = unsafe { Thread32Next(snapshot, &mut entry) } != 0;
    }
    // SAFETY: `snapshot` is a handle we own and close exactly once.
    unsafe { CloseHandle(snapshot) };
    if resumed == 0 {
        return Err(io::Error::other(format!(
            "cannot resume the suspended child {pid}: no thread found"
        )));
    }
    Ok(())
}
