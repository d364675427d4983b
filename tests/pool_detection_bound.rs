//! The health probe runs on `health.timeout`, not `timeouts.command`: a
//! silent Redis (a blackholed link, a stopped process) is declared Down
//! within `health.interval + health.timeout × health.failures_before_down`
//! whatever `timeouts.command` is, and Up again once it answers.

mod support;

use std::time::{Duration, Instant};

use redkeep::{Config, Pool, State};
use support::{fast_config, first_probe, wait_for_state, within, Mode, Proxy, RedisServer};

/// Scheduling noise on a busy 2-core machine.
const SLACK: Duration = Duration::from_millis(300);

/// How Redis goes silent.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The proxy in front of it forwards nothing (half-open link).
    Blackhole,
    /// The server process is stopped with SIGSTOP.
    Sigstop,
}

fn config(url: String, command: Duration) -> Config {
    let mut cfg = fast_config(url);
    cfg.timeouts.command = command;
    cfg.health.interval = Duration::from_millis(200);
    cfg.health.timeout = Duration::from_millis(150);
    cfg.health.failures_before_down = 2;
    cfg
}

/// Makes Redis silent, measures how long until the pool is Down, checks it
/// against the bound, then ends the fault and waits for Up.
async fn declared_down_within_the_probe_bound(fault: Fault, command: Duration) {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    let url = match fault {
        Fault::Blackhole => proxy.url(),
        Fault::Sigstop => server.url(),
    };
    let cfg = config(url, command);
    let health = cfg.health.clone();
    let bound = health.interval + health.timeout * health.failures_before_down;
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();
    first_probe(&pool).await;
    let mut rx = pool.watch();
    assert_eq!(rx.borrow_and_update().state, State::Up);

    let started = Instant::now();
    let paused = match fault {
        Fault::Blackhole => {
            proxy.set_mode(Mode::Blackhole);
            None
        }
        Fault::Sigstop => Some(server.pause()),
    };
    let down = wait_for_state(&mut rx, State::Down, command + Duration::from_secs(10)).await;
    let measured = started.elapsed().max(down);
    println!(
        "{fault:?}, timeouts.command {command:?}: Down after {measured:?} \
         (bound {bound:?} = interval {:?} + timeout {:?} x {}, slack {SLACK:?}); \
         last error: {:?}",
        health.interval,
        health.timeout,
        health.failures_before_down,
        pool.health().last_error
    );
    assert!(
        measured <= bound + SLACK,
        "{fault:?} with timeouts.command {command:?}: Down after {measured:?}, \
         bound {bound:?} + {SLACK:?}"
    );

    match paused {
        Some(paused) => paused.resume(),
        None => proxy.set_mode(Mode::Forward),
    }
    let up = wait_for_state(&mut rx, State::Up, command + Duration::from_secs(10)).await;
    println!("{fault:?}, timeouts.command {command:?}: Up {up:?} after the fault ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_link_is_down_within_the_probe_bound_with_a_200ms_command_timeout() {
    declared_down_within_the_probe_bound(Fault::Blackhole, Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_link_is_down_within_the_probe_bound_with_a_5s_command_timeout() {
    declared_down_within_the_probe_bound(Fault::Blackhole, Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_is_down_within_the_probe_bound_with_a_200ms_command_timeout() {
    declared_down_within_the_probe_bound(Fault::Sigstop, Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_is_down_within_the_probe_bound_with_a_5s_command_timeout() {
    declared_down_within_the_probe_bound(Fault::Sigstop, Duration::from_secs(5)).await;
}
