//! `Pool::monitor()`: the server's `MONITOR` feed sees the pool's commands;
//! a monitor whose server dies reports an error instead of hanging, and one
//! is refused while the pool is down or closed.

mod support;

use std::time::Duration;

use redkeep::redis;
use redkeep::{ErrorKind, Monitor, Pool};
use support::{fast_config, wait_for_state, within, RedisServer};

const LIMIT: Duration = Duration::from_secs(10);

async fn connect(cfg: redkeep::Config) -> Pool {
    within(Duration::from_secs(5), "Pool::connect", Pool::connect(cfg))
        .await
        .expect("connect")
}

/// Reads lines until one contains `needle`; returns it.
async fn line_with(monitor: &Monitor, needle: &str) -> String {
    within(LIMIT, &format!("a monitor line with {needle}"), async {
        loop {
            let line = monitor.next_line().await.expect("a monitor line");
            if line.contains(needle) {
                return line;
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_sent_through_the_pool_appear_in_the_monitor() {
    let server = RedisServer::start();
    let pool = connect(fast_config(server.url())).await;
    let monitor = pool.monitor().await.expect("monitor");

    let _: () = pool
        .query(redis::cmd("SET").arg("mon:k").arg("v 1"))
        .await
        .unwrap();
    let line = line_with(&monitor, "\"mon:k\"").await;
    // `<time> [<db> <addr>] "SET" "mon:k" "v 1"`
    assert!(line.ends_with("\"SET\" \"mon:k\" \"v 1\""), "{line}");
    let (time, rest) = line.split_once(' ').unwrap();
    assert!(time.parse::<f64>().unwrap() > 1.0e9, "{line}");
    assert!(rest.starts_with("[0 127.0.0.1:"), "{line}");

    // The exclusive path too.
    {
        let mut conn = pool.get().await.unwrap();
        let _: Option<String> = redis::cmd("GET")
            .arg("mon:k")
            .query_async(&mut *conn)
            .await
            .unwrap();
    }
    line_with(&monitor, "\"GET\" \"mon:k\"").await;

    // Nothing more: a bounded wait says so.
    let none = monitor
        .next_line_within(Duration::from_millis(50))
        .await
        .unwrap();
    assert!(
        none.is_none() || none.as_deref().is_some_and(|l| l.contains("PING")),
        "{none:?}"
    );

    monitor.close();
    monitor.close();
    assert!(monitor.is_closed());
    let e = monitor.next_line().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_reports_an_error_after_the_server_is_killed() {
    let mut server = RedisServer::start();
    let pool = connect(fast_config(server.url())).await;
    let monitor = pool.monitor().await.expect("monitor");
    let _: i64 = pool.query(redis::cmd("INCR").arg("mon:n")).await.unwrap();
    line_with(&monitor, "\"INCR\" \"mon:n\"").await;

    server.kill9();
    let e = within(LIMIT, "the monitor's error", async {
        loop {
            match monitor.next_line().await {
                Ok(_) => continue,
                Err(e) => return e,
            }
        }
    })
    .await;
    assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    assert!(e.to_string().contains("lost"), "{e}");
    // It stays so, and never reconnects by itself.
    let again = monitor.next_line().await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Connection, "{again}");

    // While the pool is Down, a new monitor fails fast.
    let mut health = pool.watch();
    wait_for_state(&mut health, redkeep::State::Down, LIMIT).await;
    let started = std::time::Instant::now();
    let e = pool.monitor().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(started.elapsed() < Duration::from_millis(100));

    // Back up: a new monitor works; the old one is still failed.
    server.restart();
    wait_for_state(&mut health, redkeep::State::Up, LIMIT).await;
    let fresh = pool.monitor().await.expect("a new monitor");
    let _: () = pool
        .query(redis::cmd("SET").arg("mon:b").arg(1))
        .await
        .unwrap();
    line_with(&fresh, "\"mon:b\"").await;
    assert_eq!(
        monitor.next_line().await.unwrap_err().kind(),
        ErrorKind::Connection
    );
    drop(fresh);
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_pool_ends_a_waiting_monitor_and_refuses_new_ones() {
    let server = RedisServer::start();
    let pool = connect(fast_config(server.url())).await;
    let monitor = std::sync::Arc::new(pool.monitor().await.expect("monitor"));
    let waiter = {
        let monitor = monitor.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = monitor.next_line().await {
                    return e;
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    pool.close().await;
    let e = within(Duration::from_secs(1), "the waiting read", waiter)
        .await
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
    assert!(monitor.is_closed());
    let e = pool.monitor().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_logs_in_like_the_pool() {
    let server = RedisServer::with_password("s3cret");
    let pool = connect(fast_config(server.url())).await;
    let monitor = pool.monitor().await.expect("monitor with a password");
    let _: () = pool
        .query(redis::cmd("SET").arg("mon:pw").arg(1))
        .await
        .unwrap();
    line_with(&monitor, "\"mon:pw\"").await;
    assert!(!format!("{monitor:?}").contains("s3cret"));
    pool.close().await;
}
