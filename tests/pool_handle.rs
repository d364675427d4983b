//! `Pool::handle()`: redis-rs `AsyncCommands` and pipelines on the pool,
//! through the pool's rules, with errors redis-rs code can read.

mod support;

use std::time::Duration;

use redkeep::redis::aio::ConnectionLike;
use redkeep::redis::{self, AsyncCommands};
use redkeep::{ErrorKind, Pool, State};
use support::{fast_config, wait_for_state, within, RedisServer};

async fn connect(cfg: redkeep::Config) -> Pool {
    within(Duration::from_secs(5), "Pool::connect", Pool::connect(cfg))
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_commands_and_pipelines_run_on_a_handle() {
    let server = RedisServer::start();
    let pool = connect(fast_config(format!("{}/2", server.url()))).await;
    let mut h = pool.handle();
    assert_eq!(h.get_db(), 2);

    let _: () = h.set_ex("k", "v", 60).await.unwrap();
    let v: String = h.get("k").await.unwrap();
    assert_eq!(v, "v");
    let missing: Option<String> = h.get("nope").await.unwrap();
    assert_eq!(missing, None);
    let mut other = h.clone();
    assert_eq!(other.incr::<_, _, i64>("n", 5).await.unwrap(), 5);
    let _: () = h.hset_multiple("h", &[("a", 1), ("b", 2)]).await.unwrap();
    let all: std::collections::HashMap<String, i64> = h.hgetall("h").await.unwrap();
    assert_eq!(all.len(), 2);

    // Pipelines, plain and atomic, with ignore().
    let (a, n): (String, i64) = redis::pipe()
        .get("k")
        .incr("n", 1)
        .query_async(&mut h)
        .await
        .unwrap();
    assert_eq!((a.as_str(), n), ("v", 6));
    let (n,): (i64,) = redis::pipe()
        .atomic()
        .set("t", 1)
        .ignore()
        .incr("t", 2)
        .query_async(&mut h)
        .await
        .unwrap();
    assert_eq!(n, 3);
    // query_pipeline takes the same path.
    let (t,): (i64,) = pool.query_pipeline(redis::pipe().get("t")).await.unwrap();
    assert_eq!(t, 3);

    // The values landed in database 2, not 0.
    let mut direct = server.client().await;
    let in_zero: Option<String> = direct.get("k").await.unwrap();
    assert_eq!(in_zero, None);
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_keep_their_kind_and_message() {
    let mut server = RedisServer::start();
    let pool = connect(fast_config(server.url())).await;
    let mut h = pool.handle();

    // A server error reply is the redis-rs error itself.
    let _: () = h.set("s", "x").await.unwrap();
    let e = h.lpush::<_, _, i64>("s", 1).await.unwrap_err();
    assert_eq!(e.code(), Some("WRONGTYPE"), "{e}");
    let e = redis::pipe()
        .set("p", 1)
        .lpush("s", 1)
        .query_async::<()>(&mut h)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("WRONGTYPE"), "{e}");

    // A connection-state command is refused unsent, as a client error.
    let e = redis::cmd("SELECT")
        .arg(1)
        .query_async::<()>(&mut h)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), redis::ErrorKind::Client, "{e}");
    assert!(e.to_string().contains("SELECT was not sent"), "{e}");
    let e = redis::pipe()
        .cmd("MULTI")
        .query_async::<()>(&mut h)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), redis::ErrorKind::Client, "{e}");

    // A blocking command runs on an exclusive connection, with its wait.
    let none: Option<(String, String)> = h.blpop("empty", 0.2).await.unwrap();
    assert_eq!(none, None);

    // Down: fail fast, as a dropped connection.
    server.kill9();
    let mut rx = pool.watch();
    wait_for_state(&mut rx, State::Down, Duration::from_secs(5)).await;
    let started = std::time::Instant::now();
    let e = h.get::<_, Option<String>>("k").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(e.is_connection_dropped(), "{e}");
    assert!(e.to_string().contains("unavailable"), "{e}");
    assert_eq!(
        redkeep::Error::from(e).kind(),
        ErrorKind::Connection,
        "seen from redkeep, a fail-fast is a connection error"
    );

    // Closed: converting back gives Closed.
    pool.close().await;
    let e = h.get::<_, Option<String>>("k").await.unwrap_err();
    assert_eq!(redkeep::Error::from(e).kind(), ErrorKind::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_timeout_is_a_timeout_to_redis_rs() {
    let server = RedisServer::start();
    let mut cfg = fast_config(server.url());
    cfg.timeouts.command = Duration::from_millis(200);
    cfg.health.timeout = Duration::from_secs(5);
    cfg.health.interval = Duration::from_secs(5);
    let pool = connect(cfg).await;
    let mut h = pool.handle();
    let paused = server.pause();
    let e = h.get::<_, Option<String>>("k").await.unwrap_err();
    paused.resume();
    assert!(e.is_timeout(), "{e}");
    pool.close().await;
}
