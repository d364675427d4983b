//! No process of a `TestCluster` or `TestSentinel` outlives its owner:
//! the owner (this test binary re-run as a helper) is SIGKILLed while the
//! deployment starts or once it is ready, and then no process whose
//! working directory is one of the owner's private directories may remain.
//! `cargo test --test deploy_no_orphans -- --ignored` runs 50 of each and
//! prints the count.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MODE: &str = "REDKEEP_DEPLOY_OWNER";

/// The helper: starts the deployment, says so, then waits to be killed.
#[test]
fn helper_owner() {
    let Ok(mode) = std::env::var(MODE) else {
        return; // Not a helper run.
    };
    let pids = if mode == "cluster" {
        let c = redkeep::testing::TestCluster::start(3, 1);
        let pids = c.pids();
        std::mem::forget(c);
        pids
    } else {
        let s = redkeep::testing::TestSentinel::start(2, 3);
        let pids = s.pids();
        std::mem::forget(s);
        pids
    };
    println!("REDKEEP_READY {pids:?}");
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Processes whose working directory is a private directory of `owner`.
fn processes_of(owner: u32) -> Vec<u32> {
    let marker = format!("/redkeep-{owner}-");
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd| cwd.to_string_lossy().contains(&marker))
        })
        .collect()
}

/// One round: start a helper, SIGKILL it after `delay` (or once ready for
/// `None`), and return how many of its processes remain 2 s later (0 when
/// the guard works), with how many ran when it was killed.
fn round(mode: &str, delay: Option<Duration>) -> (usize, usize) {
    let mut child = Command::new(std::env::current_exe().expect("current exe"))
        .args(["helper_owner", "--exact", "--nocapture", "--test-threads=1"])
        .env(MODE, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start helper");
    let owner = child.id();
    match delay {
        Some(d) => std::thread::sleep(d),
        None => {
            let stdout = child.stdout.take().expect("stdout");
            let ready = BufReader::new(stdout)
                .lines()
                .map_while(|l| l.ok())
                .any(|l| l.contains("REDKEEP_READY"));
            assert!(ready, "the {mode} helper got ready");
        }
    }
    let running = processes_of(owner).len();
    child.kill().expect("SIGKILL the owner");
    child.wait().expect("reap the owner");
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let left = processes_of(owner).len();
        if left == 0 || Instant::now() >= deadline {
            return (left, running);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigkill_of_the_owner_leaves_no_deployment_process() {
    let rounds = [
        ("cluster", None),
        ("sentinel", None),
        ("cluster", Some(Duration::from_millis(300))),
        ("sentinel", Some(Duration::from_millis(500))),
        ("cluster", Some(Duration::from_millis(900))),
    ];
    for (mode, delay) in rounds {
        let (left, running) = round(mode, delay);
        assert_eq!(
            left, 0,
            "{mode} killed after {delay:?}: {left} of {running} left"
        );
        if delay.is_none() {
            // 3 masters + 3 replicas; 1 master + 2 replicas + 3 sentinels.
            assert_eq!(running, 6, "{mode}: all processes ran before the kill");
        }
    }
}

#[test]
#[ignore = "50 owner kills of each deployment (~3 min); run with --ignored"]
fn sigkill_of_the_owner_50_times_each() {
    let mut left_total = 0;
    let mut killed = 0;
    for i in 0..50u64 {
        for mode in ["cluster", "sentinel"] {
            // Every fifth round once ready, the others at some point of the start.
            let delay = (i % 5 != 0).then(|| Duration::from_millis(100 + fastrand_ms(i)));
            let (left, running) = round(mode, delay);
            left_total += left;
            killed += running;
        }
    }
    println!("owner SIGKILLs: 100 (50 cluster, 50 sentinel); processes running at the kills: {killed}; left after: {left_total}");
    assert_eq!(left_total, 0);
}

/// A spread of delays over the start (0–1.9 s), without a dependency.
fn fastrand_ms(i: u64) -> u64 {
    (i * 7919) % 1900
}
