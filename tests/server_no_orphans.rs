//! A spawned redis-server dies with its owner: after `kill -9`, SIGTERM,
//! a panic, and when the spawn came from a thread that has since exited —
//! with the platform guard (PDEATHSIG here) and with `Guard::Watchdog`
//! (the guard of macOS and the BSDs). CI also runs this whole file with
//! `REDKEEP_GUARD=watchdog`, which turns every `Guard::Auto` into the
//! watchdog.
//!
//! The owner is this very test binary, re-run as a helper process (the
//! `helper_owner` test, which does nothing unless `REDKEEP_HELPER_MODE` is
//! set). Only the pid each helper reports is checked — other redis-servers
//! may run on this machine at the same time.
#![cfg(target_os = "linux")]

mod server_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use redkeep::{ensure_server_blocking, Guard, Origin, ServerConfig};
use server_support::{comm, pid_alive, ping, signal, wait_dead};

const MODE: &str = "REDKEEP_HELPER_MODE";
/// `watchdog`: the helper asks for `Guard::Watchdog` explicitly.
const GUARD: &str = "REDKEEP_HELPER_GUARD";

fn helper_config() -> ServerConfig {
    let guard = match std::env::var(GUARD).as_deref() {
        Ok("watchdog") => Guard::Watchdog,
        _ => Guard::Auto,
    };
    ServerConfig {
        guard,
        ..ServerConfig::tcp(0)
    }
}

/// The helper: spawns a server, reports its pid, then waits to be killed.
#[test]
fn helper_owner() {
    let Ok(mode) = std::env::var(MODE) else {
        return; // Not a helper run.
    };
    let server = if mode == "thread" {
        // Spawn from a short-lived thread: PR_SET_PDEATHSIG is per thread,
        // so the library must not fork from this one.
        std::thread::spawn(|| ensure_server_blocking(helper_config()).expect("spawn"))
            .join()
            .expect("spawner thread")
    } else {
        ensure_server_blocking(helper_config()).expect("spawn")
    };
    let Origin::Spawned { pid } = server.origin() else {
        panic!("expected a spawned server");
    };
    // The spawning thread (if any) is gone: the server must still serve.
    assert_eq!(
        ping(&server.url()).expect("PING after the thread exited"),
        "PONG"
    );
    println!("REDKEEP_PID {pid}");
    if mode == "panic" {
        panic!("owner panics on purpose");
    }
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Starts a helper in `mode` and returns it with the server pid it reported.
fn start_helper(mode: &str) -> (Child, u32) {
    start_helper_with(mode, "auto")
}

/// [`start_helper`] with `guard` (`auto` or `watchdog`).
fn start_helper_with(mode: &str, guard: &str) -> (Child, u32) {
    let mut child = Command::new(std::env::current_exe().expect("current exe"))
        .args(["helper_owner", "--exact", "--nocapture", "--test-threads=1"])
        .env(MODE, mode)
        .env(GUARD, guard)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start helper");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let pid = loop {
        let line = lines
            .next()
            .expect("the helper reports a pid before exiting")
            .expect("read");
        // libtest prints "test helper_owner ... " without a newline first.
        if let Some((_, pid)) = line.split_once("REDKEEP_PID ") {
            break pid.trim().parse::<u32>().expect("pid");
        }
    };
    assert!(pid_alive(pid), "server {pid} alive while its owner lives");
    // The server process itself (Valkey too), not a reused pid.
    let name = comm(pid);
    assert!(
        matches!(name.as_deref(), Some("redis-server" | "valkey-server")),
        "pid {pid} is {name:?}"
    );
    (child, pid)
}

fn assert_gone_quickly(pid: u32, what: &str) -> Duration {
    match wait_dead(pid, Duration::from_millis(100)) {
        Some(took) => took,
        None => panic!("{what}: redis-server {pid} still alive 100 ms after its owner died"),
    }
}

#[test]
fn sigkill_of_the_owner_kills_the_server_50_times() {
    let mut worst = Duration::ZERO;
    for round in 0..50 {
        let (mut helper, pid) = start_helper("main");
        helper.kill().expect("SIGKILL the owner");
        helper.wait().expect("reap the owner");
        let took = assert_gone_quickly(pid, &format!("round {round}"));
        worst = worst.max(took);
    }
    eprintln!("worst owner-SIGKILL → server-gone latency: {worst:?}");
}

#[test]
fn sigkill_after_spawning_from_an_exited_thread_kills_the_server() {
    for round in 0..10 {
        let (mut helper, pid) = start_helper("thread");
        // The spawning thread exited before the pid was reported (and the
        // helper checked PING after that); the server is still up now.
        assert!(
            pid_alive(pid),
            "round {round}: the server outlives the spawning thread"
        );
        helper.kill().expect("SIGKILL the owner");
        helper.wait().expect("reap the owner");
        assert_gone_quickly(pid, &format!("thread round {round}"));
    }
}

#[test]
fn sigterm_of_the_owner_kills_the_server() {
    for _ in 0..5 {
        let (mut helper, pid) = start_helper("main");
        signal(helper.id(), "TERM");
        let status = helper.wait().expect("reap the owner");
        assert!(!status.success());
        assert_gone_quickly(pid, "SIGTERM");
    }
}

#[test]
fn sigint_of_the_owner_kills_the_server() {
    let (mut helper, pid) = start_helper("main");
    signal(helper.id(), "INT");
    helper.wait().expect("reap the owner");
    assert_gone_quickly(pid, "SIGINT");
}

#[test]
fn a_panicking_owner_stops_the_server() {
    let (mut helper, pid) = start_helper("panic");
    let status = helper.wait().expect("reap the owner");
    assert!(!status.success(), "the helper test failed by panicking");
    assert!(!pid_alive(pid), "unwinding dropped the server before exit");
}

#[test]
fn watchdog_sigkill_of_the_owner_kills_the_server_30_times() {
    let mut worst = Duration::ZERO;
    for round in 0..30 {
        let (mut helper, pid) = start_helper_with("main", "watchdog");
        // The watchdog stands between the owner and the server.
        assert_eq!(parent(parent(pid)), helper.id(), "round {round}");
        helper.kill().expect("SIGKILL the owner");
        helper.wait().expect("reap the owner");
        worst = worst.max(assert_gone_quickly(pid, &format!("watchdog round {round}")));
    }
    eprintln!("watchdog: worst owner-SIGKILL → server-gone latency: {worst:?}");
}

#[test]
fn watchdog_sigkill_after_spawning_from_an_exited_thread_kills_the_server() {
    for round in 0..5 {
        let (mut helper, pid) = start_helper_with("thread", "watchdog");
        assert!(
            pid_alive(pid),
            "round {round}: outlives the spawning thread"
        );
        helper.kill().expect("SIGKILL the owner");
        helper.wait().expect("reap the owner");
        assert_gone_quickly(pid, &format!("watchdog thread round {round}"));
    }
}

#[test]
fn watchdog_sigterm_of_the_owner_kills_the_server() {
    let (mut helper, pid) = start_helper_with("main", "watchdog");
    signal(helper.id(), "TERM");
    helper.wait().expect("reap the owner");
    assert_gone_quickly(pid, "watchdog SIGTERM");
}

#[test]
fn watchdog_panicking_owner_stops_the_server() {
    let (mut helper, pid) = start_helper_with("panic", "watchdog");
    let status = helper.wait().expect("reap the owner");
    assert!(!status.success());
    assert!(!pid_alive(pid), "unwinding stopped the server before exit");
}

/// The parent pid of `pid`, from `/proc`.
fn parent(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest = stat.rsplit_once(')').expect("comm").1;
    rest.split_whitespace()
        .nth(1)
        .expect("ppid")
        .parse()
        .expect("ppid")
}
