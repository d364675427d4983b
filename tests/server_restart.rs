//! The supervisor restarts a crashed server on the same address, and gives
//! up with a clear error after `max_restarts` within the window.
#![cfg(target_os = "linux")]

mod server_support;

use std::time::{Duration, Instant};

use redkeep::{ensure_server, Backoff, RestartPolicy, ServerConfig, ServerStatus};
use server_support::{ping, server_pid, signal, wait_dead};
use tokio::sync::watch;

fn quick_policy(max_restarts: u32) -> RestartPolicy {
    RestartPolicy {
        max_restarts,
        window: Duration::from_secs(60),
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
            multiplier: 2.0,
            jitter: 0.0,
            max_elapsed: None,
        },
    }
}

/// Waits for a status matching `pred`, at most `limit`.
async fn wait_for(
    rx: &mut watch::Receiver<ServerStatus>,
    limit: Duration,
    pred: impl Fn(&ServerStatus) -> bool,
) -> ServerStatus {
    let waited = tokio::time::timeout(limit, async {
        rx.wait_for(|s| pred(s)).await.map(|s| s.clone())
    })
    .await;
    match waited {
        Ok(status) => status.expect("supervisor alive"),
        Err(_) => panic!(
            "status not reached within {limit:?}; now {:?}",
            *rx.borrow()
        ),
    }
}

#[tokio::test]
async fn a_killed_server_is_restarted_on_the_same_address() {
    let server = ensure_server(ServerConfig {
        restart: quick_policy(3),
        ..ServerConfig::tcp(0)
    })
    .await
    .expect("spawn");
    let url = server.url();
    let first = server.pid().expect("pid");
    let pool = redkeep::Pool::connect(redkeep::Config::from_url(url.clone()))
        .await
        .expect("pool");
    let pong: String = pool.query(&redis::cmd("PING")).await.expect("PING");
    assert_eq!(pong, "PONG");

    let mut rx = server.watch();
    let killed_at = Instant::now();
    signal(first, "KILL");
    let status = wait_for(
        &mut rx,
        Duration::from_secs(5),
        |s| matches!(s, ServerStatus::Running { pid } if *pid != first),
    )
    .await;
    let ServerStatus::Running { pid: second } = status else {
        unreachable!()
    };
    let back_after = killed_at.elapsed();
    // First restart delay is 20 ms (no jitter); startup takes a few more.
    assert!(
        back_after < Duration::from_secs(2),
        "back after {back_after:?}"
    );
    assert!(wait_dead(first, Duration::from_millis(100)).is_some());
    assert_eq!(server.pid(), Some(second));
    assert_eq!(server.restarts(), 1);
    assert_eq!(server.url(), url, "same address");
    assert_eq!(server_pid(&url), second);

    // The pool serves again (its health watch reconnects on its backoff).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match pool.query::<String>(&redis::cmd("PING")).await {
            Ok(pong) => {
                assert_eq!(pong, "PONG");
                break;
            }
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("the pool did not serve again after the restart: {e}"),
        }
    }
    pool.close().await;
    server.shutdown().await.expect("shutdown");
    assert!(wait_dead(second, Duration::from_millis(100)).is_some());
}

#[tokio::test]
async fn the_supervisor_gives_up_after_max_restarts_in_the_window() {
    let server = ensure_server(ServerConfig {
        restart: quick_policy(2),
        ..ServerConfig::tcp(0)
    })
    .await
    .expect("spawn");
    let mut rx = server.watch();
    let mut pid = server.pid().expect("pid");
    for round in 1..=2 {
        signal(pid, "KILL");
        let status = wait_for(
            &mut rx,
            Duration::from_secs(5),
            |s| matches!(s, ServerStatus::Running { pid: p } if *p != pid),
        )
        .await;
        let ServerStatus::Running { pid: new } = status else {
            unreachable!()
        };
        assert_eq!(server.restarts(), round);
        pid = new;
    }
    assert_eq!(server.failure(), None);
    signal(pid, "KILL");
    let status = wait_for(&mut rx, Duration::from_secs(5), |s| {
        matches!(s, ServerStatus::Failed { .. })
    })
    .await;
    let ServerStatus::Failed { reason } = status else {
        unreachable!()
    };
    assert!(
        reason.contains("gave up after 2 restart(s) within 60.0s"),
        "{reason}"
    );
    assert!(reason.contains("crashed"), "{reason}");
    assert!(
        reason.contains("signal: 9"),
        "names the last exit: {reason}"
    );
    assert_eq!(server.failure().as_deref(), Some(reason.as_str()));
    assert_eq!(server.pid(), None);
    assert!(
        ping(&server.url()).is_err(),
        "nothing serves after giving up"
    );
    server
        .shutdown()
        .await
        .expect("shutdown after give-up is fine");
}

#[tokio::test]
async fn shutdown_during_a_restart_backoff_returns_promptly() {
    let mut policy = quick_policy(3);
    policy.backoff.initial = Duration::from_secs(30);
    policy.backoff.max = Duration::from_secs(30);
    let server = ensure_server(ServerConfig {
        restart: policy,
        ..ServerConfig::tcp(0)
    })
    .await
    .expect("spawn");
    let mut rx = server.watch();
    signal(server.pid().expect("pid"), "KILL");
    wait_for(&mut rx, Duration::from_secs(5), |s| {
        matches!(s, ServerStatus::Restarting { attempt: 1 })
    })
    .await;
    let started = Instant::now();
    server.stop().await.expect("stop");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(server.status(), ServerStatus::Stopped);
}
