//! `Pool::query_blocking` runs on any thread that may block: a plain
//! `std::thread` (an FFI caller's) or a tokio `spawn_blocking` thread. On a
//! runtime worker thread, where blocking would stall other tasks, it is
//! refused at once with `ErrorKind::Config`.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, ErrorKind, Pool};
use support::{fast_config, within, RedisServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_blocking_runs_on_a_plain_thread() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    let p = pool.clone();
    let pong = std::thread::spawn(move || p.query_blocking::<String>(&redis::cmd("PING"), None));
    let pong = within(
        Duration::from_secs(5),
        "the thread",
        tokio::task::spawn_blocking(move || pong.join().expect("no panic")),
    )
    .await
    .unwrap();
    assert_eq!(pong.expect("query_blocking on a plain thread"), "PONG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_blocking_runs_on_a_spawn_blocking_thread() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    let p = pool.clone();
    let pong = within(
        Duration::from_secs(5),
        "spawn_blocking",
        tokio::task::spawn_blocking(move || p.query_blocking::<String>(&redis::cmd("PING"), None)),
    )
    .await
    .unwrap();
    assert_eq!(
        pong.expect("query_blocking on a spawn_blocking thread"),
        "PONG"
    );

    // A blocking command too (handed to the runtime and waited for).
    let p = pool.clone();
    let popped = within(
        Duration::from_secs(5),
        "spawn_blocking",
        tokio::task::spawn_blocking(move || {
            p.query_blocking::<Option<(String, String)>>(
                redis::cmd("BLPOP").arg("q").arg(0.2),
                None,
            )
        }),
    )
    .await
    .unwrap();
    assert_eq!(popped.expect("BLPOP on a spawn_blocking thread"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_blocking_is_refused_on_a_runtime_worker_thread() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    let started = Instant::now();
    let err = pool
        .query_blocking::<String>(&redis::cmd("PING"), None)
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("Pool::query"), "{err}");
    assert!(took < Duration::from_millis(50), "took {took:?}");
}
