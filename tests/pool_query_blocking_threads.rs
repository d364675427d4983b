//! `Pool::query_blocking` runs on any thread that may block: a plain
//! `std::thread` (an FFI caller's) or a tokio `spawn_blocking` thread,
//! ordinary and blocking commands alike.

mod support;

use std::time::Duration;

use redkeep::{redis, Pool};
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
