//! `timeouts.connect` is a deadline for opening a connection, on every path:
//! a call on a lazily built pool (`Pool::new`) against a peer that accepts
//! and never answers fails with `Timeout(Connect)` after `timeouts.connect`
//! (±10%), not after twice that; a shorter per-call timeout bounds the
//! whole call, connect included.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, Config, ErrorKind, Phase, Pool};
use support::{on_a_thread, within, NotRedis, NotRedisKind};

const CONNECT: Duration = Duration::from_secs(1);

fn config(url: String) -> Config {
    let mut cfg = Config::from_url(url);
    cfg.timeouts.connect = CONNECT;
    cfg
}

fn get() -> redis::Cmd {
    let mut cmd = redis::cmd("GET");
    cmd.arg("k");
    cmd
}

fn assert_within_10_percent(path: &str, took: Duration) {
    let (low, high) = (CONNECT.mul_f64(0.9), CONNECT.mul_f64(1.1));
    assert!(
        took >= low && took <= high,
        "{path}: failed after {took:?}, expected timeouts.connect {CONNECT:?} in [{low:?}, {high:?}]"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_blocking_on_a_lazy_pool_fails_after_the_connect_timeout_against_a_silent_peer() {
    let silent = NotRedis::start(NotRedisKind::Silent).await;
    let pool = Pool::new(config(silent.url())).unwrap();

    let p = pool.clone();
    let (result, took) = within(
        Duration::from_secs(10),
        "query_blocking against a silent peer",
        on_a_thread(move || {
            let started = Instant::now();
            let result = p.query_blocking::<Option<String>>(&get(), None);
            (result, started.elapsed())
        }),
    )
    .await;
    let err = result.expect_err("a silent peer answered");
    println!("query_blocking: timeouts.connect {CONNECT:?}, failed after {took:?}: {err}");
    assert_eq!(err.kind(), ErrorKind::Timeout(Phase::Connect), "{err}");
    assert_within_10_percent("query_blocking", took);
    assert!(silent.accepted() >= 1, "nothing connected to the peer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_on_a_lazy_pool_fails_after_the_connect_timeout_against_a_silent_peer() {
    let silent = NotRedis::start(NotRedisKind::Silent).await;
    let pool = Pool::new(config(silent.url())).unwrap();

    let started = Instant::now();
    let result = within(
        Duration::from_secs(10),
        "query against a silent peer",
        pool.query::<Option<String>>(&get()),
    )
    .await;
    let took = started.elapsed();
    let err = result.expect_err("a silent peer answered");
    println!("query: timeouts.connect {CONNECT:?}, failed after {took:?}: {err}");
    assert_eq!(err.kind(), ErrorKind::Timeout(Phase::Connect), "{err}");
    assert_within_10_percent("query", took);
}

/// A per-call timeout means the same on both paths: the same error kind,
/// at the same time. Each path gets a fresh pool, so that neither meets a
/// pool the other's failures turned Down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_call_timeout_shorter_than_the_connect_timeout_bounds_the_connect() {
    let silent = NotRedis::start(NotRedisKind::Silent).await;
    let limit = Duration::from_millis(300);
    let bound = limit + Duration::from_millis(100);

    let pool = Pool::new(config(silent.url())).unwrap();
    let p = pool.clone();
    let (result, took) = on_a_thread(move || {
        let started = Instant::now();
        let result = p.query_blocking::<Option<String>>(&get(), Some(limit));
        (result, started.elapsed())
    })
    .await;
    let blocking_err = result.expect_err("a silent peer answered");
    println!("query_blocking: per-call timeout {limit:?}, failed after {took:?}: {blocking_err}");
    assert!(blocking_err.is_timeout(), "{blocking_err}");
    assert!(took >= limit && took <= bound, "failed after {took:?}");

    let pool = Pool::new(config(silent.url())).unwrap();
    let started = Instant::now();
    let err = within(
        Duration::from_secs(10),
        "query_with against a silent peer",
        pool.query_with::<Option<String>>(&get(), Some(limit)),
    )
    .await
    .expect_err("a silent peer answered");
    let took = started.elapsed();
    println!("query_with: per-call timeout {limit:?}, failed after {took:?}: {err}");
    assert!(err.is_timeout(), "{err}");
    assert!(took >= limit && took <= bound, "failed after {took:?}");

    assert_eq!(
        blocking_err.kind(),
        err.kind(),
        "the same per-call timeout, two kinds: query_blocking \"{blocking_err}\", query_with \"{err}\""
    );
}
