//! The `redkeep` command line: `ensure` in the foreground, `run -- CMD`.
#![cfg(all(target_os = "linux", feature = "cli"))]

mod server_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use server_support::{comm, pid_alive, ping, server_pid, signal, wait_dead};

fn redkeep() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_redkeep"));
    cmd.env_remove("REDKEEP_PASSWORD");
    cmd
}

/// Reads stdout lines until one contains `needle`; returns that line.
fn line_with(child: &mut Child, needle: &str) -> String {
    let stdout = child.stdout.as_mut().expect("piped stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).expect("read");
        assert!(n > 0, "redkeep ended before printing {needle:?}");
        if line.contains(needle) {
            return line;
        }
    }
}

/// `redkeep: redis-server pid N ready at URL; ...` → (pid, url).
fn ready_line(line: &str) -> (u32, String) {
    let rest = line.split("pid ").nth(1).expect("pid");
    let (pid, rest) = rest.split_once(' ').expect("pid end");
    let url = rest
        .strip_prefix("ready at ")
        .and_then(|r| r.split(';').next())
        .expect("url");
    (pid.parse().expect("pid"), url.to_owned())
}

#[test]
fn ensure_serves_until_sigterm_then_stops_the_server() {
    let mut child = redkeep()
        .args(["ensure", "--port", "0", "-q"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start redkeep");
    let (pid, url) = ready_line(&line_with(&mut child, "ready at"));
    assert_eq!(comm(pid).as_deref(), Some("redis-server"));
    assert_eq!(ping(&url).expect("PING"), "PONG");
    assert_eq!(server_pid(&url), pid);

    signal(child.id(), "TERM");
    let status = child.wait().expect("wait");
    assert!(status.success(), "a clean stop exits 0: {status}");
    assert!(
        !pid_alive(pid),
        "the server is stopped before redkeep exits"
    );
}

#[test]
fn ensure_restarts_a_crashed_server() {
    let mut child = redkeep()
        .args(["ensure", "--port", "0", "-q"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start redkeep");
    let (pid, url) = ready_line(&line_with(&mut child, "ready at"));
    signal(pid, "KILL");
    let line = line_with(&mut child, "restarted");
    let new: u32 = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .expect("pid");
    assert_ne!(new, pid);
    assert_eq!(server_pid(&url), new);
    child.kill().expect("SIGKILL redkeep");
    child.wait().expect("wait");
    assert!(
        wait_dead(new, Duration::from_millis(100)).is_some(),
        "no orphan"
    );
}

#[test]
fn ensure_sigkilled_leaves_no_orphan() {
    for _ in 0..5 {
        let mut child = redkeep()
            .args(["ensure", "--port", "0", "-q"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start redkeep");
        let (pid, _) = ready_line(&line_with(&mut child, "ready at"));
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        assert!(
            wait_dead(pid, Duration::from_millis(100)).is_some(),
            "redis-server {pid} outlived a SIGKILLed redkeep"
        );
    }
}

#[test]
fn run_passes_redis_url_and_the_exit_code() {
    let out = redkeep()
        .args(["run", "-q", "--", "sh", "-c", "echo \"$REDIS_URL\"; exit 7"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(7), "CMD's exit code");
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(url.starts_with("redis://127.0.0.1:"), "{url}");
    assert!(ping(&url).is_err(), "torn down after CMD");
}

#[test]
fn run_cmd_can_use_the_server_with_a_password() {
    // CMD prints REDIS_URL, then waits for a line on stdin: the test uses
    // the server meanwhile, then lets CMD finish.
    let mut child = redkeep()
        .args(["run", "--password", "hunter2", "--"])
        .args(["sh", "-c", "echo \"$REDIS_URL\"; read _line; exit 3"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start redkeep");
    let url = line_with(&mut child, "redis://").trim().to_owned();
    assert!(url.starts_with("redis://:hunter2@127.0.0.1:"), "{url}");
    assert_eq!(ping(&url).expect("PING with the password"), "PONG");
    let pid = server_pid(&url);
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(3));
    assert!(!pid_alive(pid), "the server is gone once redkeep returns");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("hunter2"), "password not logged: {stderr}");
}

#[test]
fn run_sigkilled_leaves_no_orphan() {
    let mut child = redkeep()
        .args([
            "run",
            "-q",
            "--",
            "sh",
            "-c",
            "echo \"$REDIS_URL\"; exec sleep 30",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start redkeep");
    let url = line_with(&mut child, "redis://").trim().to_owned();
    let pid = server_pid(&url);
    child.kill().expect("SIGKILL redkeep");
    child.wait().expect("wait");
    assert!(
        wait_dead(pid, Duration::from_millis(100)).is_some(),
        "redis-server {pid} outlived a SIGKILLed `redkeep run`"
    );
}

#[test]
fn bad_usage_exits_2() {
    let out = redkeep().arg("frobnicate").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = redkeep().args(["run"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_missing_binary_names_every_place_it_looked() {
    let out = redkeep()
        .args(["run", "-q", "--", "true"])
        .env("PATH", "/nonexistent-bin")
        .env_remove("REDKEEP_REDIS_SERVER")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "--redis-server (not set)",
        "REDKEEP_REDIS_SERVER (not set)",
        "`redis-server` and `valkey-server` on PATH (/nonexistent-bin)",
        "apt-get install redis-server",
        "apt-get install valkey-server",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in: {stderr}");
    }

    let out = redkeep()
        .args(["run", "-q", "--", "true"])
        .env("REDKEEP_REDIS_SERVER", "/nope/redis-server")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("REDKEEP_REDIS_SERVER is /nope/redis-server and it does not exist"),
        "{stderr}"
    );
}

/// Runs `redkeep run -q ARGS -- true`, expects exit code 1, returns stderr.
fn failing_run(args: &[&str]) -> String {
    let out = redkeep()
        .arg("run")
        .args(args)
        .args(["-q", "--", "true"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    stderr
}

#[test]
fn errors_name_the_cli_flag_not_the_rust_field() {
    let stderr = failing_run(&["--redis-server", "/nope"]);
    assert!(
        stderr.contains("--redis-server is /nope and it does not exist"),
        "{stderr}"
    );
    assert!(stderr.contains("point --redis-server or"), "{stderr}");
    assert!(!stderr.contains("ServerConfig::binary"), "{stderr}");

    let stderr = failing_run(&["--bind", "0.0.0.0"]);
    assert!(
        stderr.contains("--bind is \"0.0.0.0\", not a loopback address"),
        "{stderr}"
    );
    assert!(!stderr.contains("ServerAddr"), "{stderr}");

    let stderr = failing_run(&["--ready-timeout", "0"]);
    assert!(
        stderr.contains("--ready-timeout must be greater than zero"),
        "{stderr}"
    );
    assert!(!stderr.contains("ServerConfig"), "{stderr}");

    let stderr = failing_run(&["--dir", "/nonexistent-redkeep-dir"]);
    assert!(stderr.contains("check --dir"), "{stderr}");
    assert!(!stderr.contains("ServerConfig"), "{stderr}");
}

/// The real `redis-server`, found on this test's own `PATH`.
fn real_redis_server() -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
        .expect("redis-server on PATH")
}

#[test]
fn valkey_server_on_path_is_used_when_there_is_no_redis_server() {
    // A PATH holding only `valkey-server` (a symlink to the real binary:
    // discovery goes by name). CMD is named by absolute path, since it runs
    // with the same PATH.
    let dir = std::env::temp_dir().join(format!("redkeep-cli-valkey-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("temp dir");
    std::os::unix::fs::symlink(real_redis_server(), dir.join("valkey-server")).expect("symlink");
    let out = redkeep()
        .args(["run", "-v", "--", "/bin/sh", "-c", "echo \"$REDIS_URL\""])
        .env("PATH", &dir)
        .env_remove("REDKEEP_REDIS_SERVER")
        .output()
        .expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(url.starts_with("redis://127.0.0.1:"), "{url}");
    assert!(
        stderr.contains(&format!("{}", dir.join("valkey-server").display())),
        "spawned through valkey-server: {stderr}"
    );
}
