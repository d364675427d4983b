//! ACL users: a user allowed only `GET`, `SET` and `PING` uses the pool
//! normally (the health probe needs only `PING`); a command it may not run
//! is a `Response` error that never marks the pool down or reconnects; a
//! wrong password is a typed refusal, with no reconnect storm.

mod support;

use std::time::Duration;

use redkeep::{redis, ErrorKind, Pool, State};
use support::{fast_config, RedisServer};

async fn limited_user(server: &RedisServer) -> String {
    let mut admin = server.client().await;
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("limited")
        .arg("on")
        .arg(">s3cret")
        .arg("~*")
        .arg("resetchannels")
        .arg("-@all")
        .arg("+get")
        .arg("+set")
        .arg("+ping")
        .query_async(&mut admin)
        .await
        .expect("ACL SETUSER");
    format!("redis://limited:s3cret@127.0.0.1:{}", server.port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_noperm_reply_is_a_response_error_and_health_stays_up() {
    let server = RedisServer::start();
    let url = limited_user(&server).await;
    let pool = Pool::connect(fast_config(url))
        .await
        .expect("a GET/SET/PING user connects");

    let _: () = pool
        .query(redis::cmd("SET").arg("k").arg("v"))
        .await
        .unwrap();
    let v: String = pool.query(redis::cmd("GET").arg("k")).await.unwrap();
    assert_eq!(v, "v");

    let err = pool
        .query::<i64>(redis::cmd("DEL").arg("k"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Response, "{err}");
    assert!(err.to_string().starts_with("NOPERM"), "{err}");
    let p = pool.clone();
    let err = tokio::task::spawn_blocking(move || {
        p.query_blocking::<i64>(redis::cmd("DEL").arg("k"), None)
    })
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Response, "{err}");

    // Several probe intervals later: still Up, nothing reconnected or evicted.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let health = pool.health();
    assert_eq!(health.state, State::Up, "{health:?}");
    let stats = pool.stats();
    assert_eq!(stats.reconnects, 0, "{stats:?}");
    assert_eq!(stats.probe_failures, 0, "{stats:?}");
    assert_eq!(health.generation, 0, "{health:?}");
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_typed_refusal_without_a_reconnect_storm() {
    let server = RedisServer::start();
    let url = limited_user(&server).await.replace("s3cret", "Zq9-not-it");
    let err = Pool::connect(fast_config(url.clone())).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(err.to_string().contains("authentication"), "{err}");
    assert!(
        !err.to_string().contains("Zq9-not-it"),
        "the password leaked: {err}"
    );
    assert!(!err.is_retryable(), "{err}");

    // A lazy pool with the wrong password: the watch reconnects on its
    // backoff schedule only, however many calls arrive.
    let pool = Pool::new(fast_config(url)).unwrap();
    for _ in 0..200 {
        let _ = pool.query::<String>(&redis::cmd("PING")).await;
    }
    let connects = pool.stats().connects + pool.stats().connect_failures;
    assert!(connects < 20, "{:?}", pool.stats());
    pool.close().await;
}
