//! The private directory of an owner killed with SIGKILL (its config and
//! `redis.log`) is removed by the next spawn — and only such directories:
//! never one whose owner lives, never through a symlink, never another name.
//!
//! Owners are this test binary re-run as helper processes (the
//! `helper_owner` test, which does nothing unless `REDKEEP_STALE_HELPER` is
//! set), all with `TMPDIR` pointing at one directory of this test, so that
//! nothing else on the machine is looked at or swept.
#![cfg(target_os = "linux")]

mod server_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::Duration;

use redkeep::{ensure_server_blocking, Origin, ServerConfig};
use server_support::{pid_alive, wait_dead};

const MODE: &str = "REDKEEP_STALE_HELPER";

/// The helper: spawns a server, reports its pid and private directory, then
/// waits to be killed (`own`) or stops it and exits (`spawn`).
#[test]
fn helper_owner() {
    let Ok(mode) = std::env::var(MODE) else {
        return; // Not a helper run.
    };
    let server = ensure_server_blocking(ServerConfig::tcp(0)).expect("spawn");
    let Origin::Spawned { pid } = server.origin() else {
        panic!("expected a spawned server");
    };
    let dir = server
        .log_path()
        .and_then(Path::parent)
        .expect("a spawned server has a private directory");
    println!("REDKEEP_PID {pid}");
    println!("REDKEEP_DIR {}", dir.display());
    if mode == "spawn" {
        return;
    }
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// One helper, with the server pid and private directory it reported.
struct Helper {
    child: Child,
    /// The rest of its stdout: kept open so that its last lines (libtest's
    /// own) do not hit a closed pipe.
    stdout: std::io::Lines<BufReader<ChildStdout>>,
    server_pid: u32,
    dir: PathBuf,
}

impl Helper {
    /// Waits until a `spawn` helper exits, reading the rest of its output.
    fn finish(mut self) -> ExitStatus {
        self.stdout.by_ref().for_each(drop);
        self.child.wait().expect("wait for the helper")
    }
}

fn start_helper(tmpdir: &Path, mode: &str) -> Helper {
    let mut child = Command::new(std::env::current_exe().expect("current exe"))
        .args(["helper_owner", "--exact", "--nocapture", "--test-threads=1"])
        .env(MODE, mode)
        .env("TMPDIR", tmpdir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start helper");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let (mut server_pid, mut dir) = (None, None);
    while server_pid.is_none() || dir.is_none() {
        let line = lines
            .next()
            .expect("the helper reports before exiting")
            .expect("read");
        // libtest prints "test helper_owner ... " without a newline first.
        if let Some((_, pid)) = line.split_once("REDKEEP_PID ") {
            server_pid = Some(pid.trim().parse::<u32>().expect("pid"));
        } else if let Some((_, path)) = line.split_once("REDKEEP_DIR ") {
            dir = Some(PathBuf::from(path.trim()));
        }
    }
    let dir = dir.expect("dir");
    assert_eq!(
        dir.parent(),
        Some(tmpdir),
        "the private dir is under TMPDIR"
    );
    Helper {
        child,
        stdout: lines,
        server_pid: server_pid.expect("pid"),
        dir,
    }
}

/// A fresh directory standing in for the temp dir; removed on drop.
struct TestTmp(PathBuf);

impl TestTmp {
    fn new(name: &str) -> TestTmp {
        let path = std::env::temp_dir().join(format!(
            "redkeep-test-{name}-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::create_dir(&path).expect("create the test's TMPDIR");
        TestTmp(path)
    }
}

impl Drop for TestTmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_sigkilled_owners_dir_stays_until_the_next_spawn_removes_it() {
    let tmp = TestTmp::new("stale");
    let mut dead = Vec::new();
    for _ in 0..3 {
        let mut owner = start_helper(&tmp.0, "own");
        assert!(
            owner.dir.join("redis.log").is_file(),
            "the log is in the private dir"
        );
        owner.child.kill().expect("SIGKILL the owner");
        owner.child.wait().expect("reap the owner");
        assert!(
            wait_dead(owner.server_pid, Duration::from_secs(2)).is_some(),
            "the server dies with its owner"
        );
        assert!(
            owner.dir.is_dir(),
            "SIGKILL leaves {} behind",
            owner.dir.display()
        );
        dead.push(owner.dir);
    }

    let spawner = start_helper(&tmp.0, "spawn");
    let spawner_dir = spawner.dir.clone();
    let status = spawner.finish();
    assert!(status.success(), "the spawning helper ran: {status}");
    for dir in &dead {
        assert!(!dir.exists(), "{} removed by the next spawn", dir.display());
    }
    assert!(
        !spawner_dir.exists(),
        "the spawner removed its own dir on stop"
    );
}

#[test]
fn the_sweep_keeps_live_owners_symlinks_and_other_names() {
    let tmp = TestTmp::new("keep");
    let mut live = start_helper(&tmp.0, "own");

    // A pid that is surely dead: a child that has exited and was reaped.
    let mut gone = Command::new("true").spawn().expect("run true");
    let dead_pid = gone.id();
    gone.wait().expect("reap");
    assert!(!pid_alive(dead_pid));

    // Looks like a dead owner's dir, but is a symlink to a directory.
    let target = tmp.0.join("target");
    std::fs::create_dir(&target).expect("target");
    std::fs::write(target.join("keep"), "x").expect("file in target");
    let link = tmp.0.join(format!("redkeep-{dead_pid}-7-0badf00d"));
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    // A plain file with such a name, and directories with other names.
    let file = tmp.0.join(format!("redkeep-{dead_pid}-8-0badf00d"));
    std::fs::write(&file, "x").expect("file");
    let other = [
        format!("redkeep-{dead_pid}-9-0BADF00D"),
        format!("redkeep-{dead_pid}-9"),
        format!("redkeep-{dead_pid}-9-0badf00d-x"),
        format!("redis-{dead_pid}-9-0badf00d"),
    ]
    .map(|name| tmp.0.join(name));
    for dir in &other {
        std::fs::create_dir(dir).expect("dir");
    }
    // The control: a real stale dir, which must go.
    let stale = tmp.0.join(format!("redkeep-{dead_pid}-10-0badf00d"));
    std::fs::create_dir(&stale).expect("stale dir");
    std::fs::write(stale.join("redis.log"), "x").expect("stale log");

    let spawner = start_helper(&tmp.0, "spawn");
    let status = spawner.finish();
    assert!(status.success(), "the spawning helper ran: {status}");

    assert!(!stale.exists(), "a dead owner's dir is removed");
    assert!(
        live.dir.join("redis.log").is_file(),
        "a live owner's dir stays whole"
    );
    assert!(pid_alive(live.server_pid), "and its server still runs");
    assert!(
        link.is_symlink() && target.join("keep").is_file(),
        "a symlink is neither followed nor removed"
    );
    assert!(file.is_file(), "a file is not a private dir");
    for dir in &other {
        assert!(dir.is_dir(), "{} is not one of our names", dir.display());
    }

    live.child.kill().expect("SIGKILL the live owner");
    live.child.wait().expect("reap");
}
