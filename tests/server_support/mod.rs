//! Helpers shared by the `server_*` tests (Linux: they read `/proc`).
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Whether `pid` is a live process (a zombie counts as dead).
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesised command name.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

/// The command name of `pid` (`redis-server`, ...).
pub fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_owned())
}

/// Polls until `pid` is dead; returns how long it took, or `None` after `limit`.
pub fn wait_dead(pid: u32, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if !pid_alive(pid) {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// Sends `signal` (a name like `KILL`) to `pid` with the `kill` command.
pub fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// `PING` through redis-rs, blocking.
pub fn ping(url: &str) -> redis::RedisResult<String> {
    let client = redis::Client::open(url)?;
    let mut con = client.get_connection_with_timeout(Duration::from_secs(2))?;
    redis::cmd("PING").query(&mut con)
}

/// `INFO server`'s `process_id`.
pub fn server_pid(url: &str) -> u32 {
    let client = redis::Client::open(url).expect("url");
    let mut con = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .expect("connect");
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query(&mut con)
        .expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .expect("process_id")
        .trim()
        .parse()
        .expect("pid")
}
