//! Orphan bench: SIGKILLs a server's owner N times and counts the servers
//! that survive it, with the kill → server-gone latency (Linux: reads
//! `/proc`).
//!
//! ```text
//! cargo run --example orphan_bench -- owner [auto|watchdog]     # be an owner (Rust)
//! cargo run --example orphan_bench -- measure NAME N -- CMD...  # kill CMD N times
//! ```
//!
//! An owner prints `REDKEEP_PID <pid>` (or `REDIS_PID <pid>`, or, for the
//! CLI, `redis-server pid <pid>`) once its server is ready, then waits to be
//! killed. `measure` prints one line per owner kind:
//! `NAME: N kills, K orphans, kill→gone median X ms, p95 Y ms, max Z ms`.
//! `scripts/bench-orphans.sh` runs it for the CLI, Rust, Go and Python
//! owners.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("owner") => owner(args.get(1).map_or("auto", String::as_str)),
        Some("measure") if args.len() > 4 && args[3] == "--" => {
            let rounds: usize = args[2].parse().expect("N");
            measure(&args[1], rounds, &args[4..]);
        }
        _ => {
            eprintln!("usage: orphan_bench owner [auto|watchdog] | measure NAME N -- CMD...");
            std::process::exit(2);
        }
    }
}

fn owner(guard: &str) {
    let cfg = redkeep::ServerConfig {
        guard: redkeep::Guard::parse(guard).expect("guard"),
        ..redkeep::ServerConfig::tcp(0)
    };
    let server = redkeep::ensure_server_blocking(cfg).expect("spawn");
    println!("REDKEEP_PID {}", server.pid().expect("spawned"));
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next()),
            Some('Z' | 'X') | None
        ),
        Err(_) => false,
    }
}

fn server_pid(line: &str) -> Option<u32> {
    let rest = line
        .split_once("REDKEEP_PID ")
        .or_else(|| line.split_once("REDIS_PID "))
        .or_else(|| line.split_once("redis-server pid "))?
        .1;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn measure(name: &str, rounds: usize, cmd: &[String]) {
    let mut gone = Vec::with_capacity(rounds);
    let mut orphans = 0;
    for round in 0..rounds {
        let mut owner = Command::new(&cmd[0])
            .args(&cmd[1..])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the owner");
        let mut lines = BufReader::new(owner.stdout.take().expect("stdout")).lines();
        let pid = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(pid) = server_pid(&line) {
                        break pid;
                    }
                }
                _ => panic!("{name} round {round}: the owner exited before reporting a pid"),
            }
        };
        assert!(alive(pid), "{name}: server {pid} alive under its owner");
        owner.kill().expect("SIGKILL");
        let killed = Instant::now();
        owner.wait().expect("reap the owner");
        loop {
            if !alive(pid) {
                gone.push(killed.elapsed());
                break;
            }
            if killed.elapsed() > Duration::from_secs(2) {
                orphans += 1;
                // Do not leave it behind.
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                break;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    gone.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| {
        gone.get(((gone.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .map_or(f64::NAN, ms)
    };
    println!(
        "{name}: {rounds} kills, {orphans} orphans, kill→gone median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        at(0.5),
        at(0.95),
        gone.last().copied().map_or(f64::NAN, ms)
    );
    if orphans > 0 {
        std::process::exit(1);
    }
}
