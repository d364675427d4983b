//! Checkout and command timeouts fail with an error that names the phase.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, ErrorKind, Phase, Pool};
use support::{fast_config, within, RedisServer};

/// A config whose health watch tolerates a server busy for a second, so a
/// slow command does not turn the pool `Down` under the test.
fn patient_health(url: String) -> redkeep::Config {
    let mut cfg = fast_config(url);
    cfg.health.interval = Duration::from_millis(500);
    cfg.health.timeout = Duration::from_secs(3);
    cfg
}

/// Checks out a connection and reads its server-side id; a connection the
/// server is still busy with (a pending reply) would not answer in time.
async fn checkout_with_id(pool: &Pool, what: &str) -> (redkeep::Connection, i64) {
    let mut conn = within(Duration::from_secs(5), what, pool.get())
        .await
        .unwrap();
    let id: i64 = within(
        Duration::from_secs(2),
        "CLIENT ID",
        redis::cmd("CLIENT").arg("ID").query_async(&mut *conn),
    )
    .await
    .expect("a fresh connection answers at once");
    (conn, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_that_waits_too_long_fails_naming_the_wait_phase() {
    let server = RedisServer::start();
    let mut cfg = fast_config(server.url());
    cfg.pool.max_size = 1;
    cfg.timeouts.wait = Duration::from_millis(200);
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();

    let held = within(Duration::from_secs(5), "first checkout", pool.get())
        .await
        .unwrap();
    let started = Instant::now();
    let err = within(Duration::from_secs(5), "second checkout", pool.get())
        .await
        .unwrap_err();
    let waited = started.elapsed();

    assert_eq!(err.kind(), ErrorKind::Timeout(Phase::Wait), "{err}");
    assert!(err.is_timeout() && err.is_retryable());
    assert!(err.to_string().contains("pool wait"), "{err}");
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_millis(1500),
        "waited {waited:?} for a 200 ms wait timeout"
    );
    assert_eq!(pool.stats().checkout_timeouts, 1);

    drop(held);
    let mut conn = within(Duration::from_secs(5), "checkout after return", pool.get())
        .await
        .expect("the returned connection is handed out again");
    let pong: String = redis::cmd("PING").query_async(&mut *conn).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reply_on_the_shared_path_fails_naming_the_command_phase() {
    let server = RedisServer::start();
    let mut cfg = patient_health(server.url());
    cfg.timeouts.command = Duration::from_millis(200);
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();

    let started = Instant::now();
    let err = within(
        Duration::from_secs(5),
        "DEBUG SLEEP",
        pool.query::<()>(redis::cmd("DEBUG").arg("SLEEP").arg("0.6")),
    )
    .await
    .unwrap_err();
    let waited = started.elapsed();

    assert_eq!(err.kind(), ErrorKind::Timeout(Phase::Command), "{err}");
    assert!(err.to_string().contains("command"), "{err}");
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_millis(550),
        "a 200 ms command timeout fired after {waited:?}"
    );

    // The shared connection survives a timeout: once the server is free
    // again, the next command works on it.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let pong: String = within(
        Duration::from_secs(5),
        "PING after the timeout",
        pool.query(&redis::cmd("PING")),
    )
    .await
    .unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reply_on_an_exclusive_connection_times_out_and_the_connection_is_not_reused() {
    let server = RedisServer::start();
    let mut cfg = patient_health(server.url());
    cfg.pool.max_size = 1;
    cfg.timeouts.command = Duration::from_millis(200);
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();

    let (mut conn, id) = checkout_with_id(&pool, "checkout").await;
    let started = Instant::now();
    let err = within(
        Duration::from_secs(5),
        "BLPOP",
        redis::cmd("BLPOP")
            .arg("never-pushed")
            .arg(0)
            .query_async::<redis::Value>(&mut *conn),
    )
    .await
    .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_millis(1500));
    drop(conn);

    // The server is still blocked in that BLPOP for the old connection; a
    // pool that handed it out again would hang every later user.
    let (_conn, new_id) = checkout_with_id(&pool, "checkout after a timeout").await;
    assert_ne!(id, new_id, "a connection whose reply timed out was reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_longer_command_timeout_can_be_set_per_checkout_and_reverts_on_return() {
    let server = RedisServer::start();
    let mut cfg = patient_health(server.url());
    cfg.pool.max_size = 1;
    cfg.timeouts.command = Duration::from_millis(200);
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();

    let mut conn = within(Duration::from_secs(5), "checkout", pool.get())
        .await
        .unwrap();
    conn.set_command_timeout(Duration::from_secs(3));
    let ok: String = within(
        Duration::from_secs(5),
        "DEBUG SLEEP under a longer timeout",
        redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg("0.4")
            .query_async(&mut *conn),
    )
    .await
    .unwrap();
    assert_eq!(ok, "OK");
    drop(conn);

    let mut conn = within(Duration::from_secs(5), "checkout", pool.get())
        .await
        .unwrap();
    let err = within(
        Duration::from_secs(5),
        "DEBUG SLEEP under the default timeout",
        redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg("0.4")
            .query_async::<String>(&mut *conn),
    )
    .await
    .unwrap_err();
    assert!(
        err.is_timeout(),
        "the override leaked past the checkout: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_cancelled_by_the_caller_does_not_return_its_connection_to_the_pool() {
    let server = RedisServer::start();
    let mut cfg = patient_health(server.url());
    cfg.pool.max_size = 1;
    cfg.timeouts.command = Duration::from_secs(10);
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();

    let (mut conn, id) = checkout_with_id(&pool, "checkout").await;
    // The caller's own timeout drops the BLPOP future half way.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(200),
        redis::cmd("BLPOP")
            .arg("never-pushed")
            .arg(0)
            .query_async::<redis::Value>(&mut *conn),
    )
    .await;
    assert!(cancelled.is_err(), "BLPOP returned: {cancelled:?}");
    drop(conn);

    let (_conn, new_id) = checkout_with_id(&pool, "checkout after a cancel").await;
    assert_ne!(id, new_id, "a connection with a reply pending was reused");
}
