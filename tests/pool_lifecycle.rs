//! Health, watch, stats and close: what a caller can read without sending a
//! command, and how a pool ends.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, ErrorKind, Pool, State};
use support::{closed_port, fast_config, wait_for_state, within, RedisServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_reports_up_with_an_rtt_and_the_watch_keeps_probing() {
    let server = RedisServer::start();
    let pool = within(
        Duration::from_secs(5),
        "connect",
        Pool::connect(fast_config(server.url())),
    )
    .await
    .unwrap();
    let health = pool.health();
    assert_eq!(health.state, State::Up);
    assert!(health.is_up() && health.last_error.is_none() && health.rtt.is_some());
    assert_eq!(health.generation, 0);

    tokio::time::sleep(Duration::from_millis(550)).await;
    let stats = pool.stats();
    assert!(stats.probes >= 3, "{stats:?}");
    assert_eq!(stats.probe_failures, 0, "{stats:?}");
    assert!(stats.connects >= 2, "{stats:?}"); // a shared one and the probe
    assert_eq!(pool.health().state, State::Up);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_checkouts_and_the_exclusive_set() {
    let server = RedisServer::start();
    let mut cfg = fast_config(server.url());
    cfg.pool.max_size = 3;
    let pool = Pool::connect(cfg).await.unwrap();
    let a = pool.get().await.unwrap();
    let b = pool.get().await.unwrap();
    let stats = pool.stats();
    assert_eq!(
        (stats.size, stats.idle, stats.checkouts),
        (2, 0, 2),
        "{stats:?}"
    );
    drop(a);
    let stats = pool.stats();
    assert_eq!((stats.size, stats.idle), (2, 1), "{stats:?}");
    drop(b);
    assert_eq!(pool.stats().idle, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_idle_connections_are_opened_by_the_watch() {
    let server = RedisServer::start();
    let mut cfg = fast_config(server.url());
    cfg.pool.min_idle = 2;
    let pool = Pool::connect(cfg).await.unwrap();
    within(Duration::from_secs(5), "min_idle", async {
        while pool.stats().idle < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(pool.stats().size, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_is_idempotent_and_later_calls_fail_with_closed() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    let clone = pool.clone();
    let _: String = pool.query(&redis::cmd("PING")).await.unwrap();
    let mut rx = pool.watch();

    within(Duration::from_secs(5), "close", pool.close()).await;
    assert!(pool.is_closed() && clone.is_closed());
    within(Duration::from_secs(5), "second close", pool.close()).await;
    within(Duration::from_secs(5), "close of a clone", clone.close()).await;

    let err = pool.query::<String>(&redis::cmd("PING")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
    let err = clone.get().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
    let err = pool
        .query_pipeline::<(String,)>(redis::pipe().cmd("PING"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
    assert!(!err.is_retryable());

    // The watch stopped: the server going away is not reported any more.
    let probes = pool.stats().probes;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        pool.stats().probes,
        probes,
        "the watch still probes after close"
    );
    let _ = rx.borrow_and_update();
    drop(server);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!rx.has_changed().unwrap_or(false));
    assert_eq!(pool.stats().probes, probes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_task_ends_when_the_last_pool_handle_is_dropped() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    let mut conn = pool.get().await.unwrap();
    let clone = pool.clone();
    let mut rx = pool.watch();
    drop(pool);
    // A clone keeps it alive.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(!clone.is_closed());
    let _: String = clone.query(&redis::cmd("PING")).await.unwrap();
    drop(clone);
    // A checked-out connection does not keep the watch alive, and still works.
    let pong: String = redis::cmd("PING").query_async(&mut *conn).await.unwrap();
    assert_eq!(pong, "PONG");
    drop(conn);

    // The watch task held the sender; once it ends, receivers see the end.
    within(Duration::from_secs(2), "the watch task to end", async {
        while rx.changed().await.is_ok() {}
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_pool_never_fails_on_reachability_and_then_fails_fast() {
    let port = closed_port();
    let url = format!("redis://127.0.0.1:{port}");
    let started = Instant::now();
    let pool = Pool::new(fast_config(url)).expect("Pool::new does not touch the network");
    assert!(started.elapsed() < Duration::from_millis(100));
    // Degraded until the first probe; a refused connect is so quick that
    // the watch may already have declared it Down. Never Up.
    assert_ne!(pool.health().state, State::Up);

    let mut rx = pool.watch();
    wait_for_state(&mut rx, State::Down, Duration::from_secs(2)).await;
    let err = pool.query::<String>(&redis::cmd("PING")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let health = pool.health();
    assert!(
        health
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("refused"),
        "{health:?}"
    );
}

#[test]
fn pool_new_outside_a_runtime_is_a_config_error() {
    let err = Pool::new(redkeep::Config::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("tokio"), "{err}");
}
