//! Blocking commands (`BLPOP`, ...) sent through the shared call path run on
//! an exclusive connection with a reply timeout of their own wait plus
//! `timeouts.command`: they never hold up other callers, they are not cut
//! short by `timeouts.command`, and a per-call timeout still bounds them.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, ErrorKind, Phase, Pool};
use support::{fast_config, on_a_thread, percentile, within, RedisServer};

/// What a `BLPOP` returns: the list and the element, or nil on its timeout.
type Popped = Option<(String, String)>;

/// Generous for a noisy 2-core machine; a command stuck behind the `BLPOP`
/// would take seconds.
const P99_BOUND: Duration = Duration::from_millis(50);

const SETS: usize = 200;

fn blpop(key: &str, wait_secs: f64) -> redis::Cmd {
    let mut cmd = redis::cmd("BLPOP");
    cmd.arg(key).arg(wait_secs);
    cmd
}

fn set(i: usize) -> redis::Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(format!("k{i}")).arg(i);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blpop_through_query_does_not_hold_up_other_callers() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();

    let p = pool.clone();
    let blocker = tokio::spawn(async move {
        let started = Instant::now();
        let popped: redkeep::Result<Popped> = p.query(&blpop("q", 3.0)).await;
        (popped, started.elapsed())
    });
    server
        .wait_for_blocked_clients(1, Duration::from_secs(2))
        .await;

    let p = pool.clone();
    let (latencies, total) = within(
        Duration::from_secs(10),
        "200 SETs beside a BLPOP",
        tokio::spawn(async move {
            let started = Instant::now();
            let mut latencies = Vec::with_capacity(SETS);
            for i in 0..SETS {
                let one = Instant::now();
                let ok: String = p.query(&set(i)).await.expect("SET beside a BLPOP");
                assert_eq!(ok, "OK");
                latencies.push(one.elapsed());
            }
            (latencies, started.elapsed())
        }),
    )
    .await
    .unwrap();
    let p99 = percentile(&latencies, 99.0);
    println!(
        "query: {SETS} SETs beside a BLPOP in {total:?}, p50 {:?}, p99 {p99:?}, max {:?}",
        percentile(&latencies, 50.0),
        percentile(&latencies, 100.0)
    );
    assert!(
        !blocker.is_finished(),
        "the BLPOP ended before anything was pushed"
    );
    assert_eq!(server.blocked_clients().await, 1, "the BLPOP still waits");
    assert!(p99 < P99_BOUND, "p99 {p99:?} beside a BLPOP");

    // The BLPOP was really waiting on the server: a push ends it.
    let mut direct = server.client().await;
    let _: i64 = redis::cmd("LPUSH")
        .arg("q")
        .arg("job")
        .query_async(&mut direct)
        .await
        .unwrap();
    let (popped, took) = within(Duration::from_secs(5), "the BLPOP", blocker)
        .await
        .unwrap();
    assert_eq!(popped.unwrap(), Some(("q".to_owned(), "job".to_owned())));
    assert!(took < Duration::from_secs(3), "BLPOP took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blpop_through_query_blocking_does_not_hold_up_other_threads() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();

    let p = pool.clone();
    let blocker = std::thread::spawn(move || {
        let started = Instant::now();
        let popped: redkeep::Result<Popped> = p.query_blocking(&blpop("q", 3.0), None);
        (popped, started.elapsed())
    });
    server
        .wait_for_blocked_clients(1, Duration::from_secs(2))
        .await;

    let p = pool.clone();
    let (latencies, total) = within(
        Duration::from_secs(10),
        "200 SETs beside a BLPOP",
        on_a_thread(move || {
            let started = Instant::now();
            let mut latencies = Vec::with_capacity(SETS);
            for i in 0..SETS {
                let one = Instant::now();
                let ok: String = p.query_blocking(&set(i), None).expect("SET beside a BLPOP");
                assert_eq!(ok, "OK");
                latencies.push(one.elapsed());
            }
            (latencies, started.elapsed())
        }),
    )
    .await;
    let p99 = percentile(&latencies, 99.0);
    println!(
        "query_blocking: {SETS} SETs beside a BLPOP in {total:?}, p50 {:?}, p99 {p99:?}, max {:?}",
        percentile(&latencies, 50.0),
        percentile(&latencies, 100.0)
    );
    assert!(
        !blocker.is_finished(),
        "the BLPOP ended before anything was pushed"
    );
    assert_eq!(server.blocked_clients().await, 1, "the BLPOP still waits");
    assert!(p99 < P99_BOUND, "p99 {p99:?} beside a BLPOP");

    let mut direct = server.client().await;
    let _: i64 = redis::cmd("LPUSH")
        .arg("q")
        .arg("job")
        .query_async(&mut direct)
        .await
        .unwrap();
    let (popped, took) = on_a_thread(move || blocker.join().expect("no panic")).await;
    assert_eq!(popped.unwrap(), Some(("q".to_owned(), "job".to_owned())));
    assert!(took < Duration::from_secs(3), "BLPOP took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blpop_waiting_longer_than_the_command_timeout_returns_nil_after_its_wait() {
    let server = RedisServer::start();
    let mut cfg = fast_config(server.url());
    cfg.timeouts.command = Duration::from_millis(200);
    let pool = Pool::connect(cfg).await.unwrap();

    let started = Instant::now();
    let popped: Popped = within(
        Duration::from_secs(5),
        "BLPOP q 1 through query",
        pool.query(&blpop("q", 1.0)),
    )
    .await
    .expect("a BLPOP within its own wait is not a timeout");
    let took = started.elapsed();
    println!("query: BLPOP q 1 with timeouts.command = 200ms returned {popped:?} after {took:?}");
    assert_eq!(popped, None);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(1500),
        "BLPOP q 1 returned after {took:?}"
    );

    let p = pool.clone();
    let (popped, took) = on_a_thread(move || {
        let started = Instant::now();
        let popped: redkeep::Result<Popped> = p.query_blocking(&blpop("q", 1.0), None);
        (popped, started.elapsed())
    })
    .await;
    println!(
        "query_blocking: BLPOP q 1 with timeouts.command = 200ms returned {popped:?} after {took:?}"
    );
    assert_eq!(
        popped.expect("a BLPOP within its own wait is not a timeout"),
        None
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(1500),
        "BLPOP q 1 returned after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_call_timeout_shorter_than_the_wait_ends_the_blpop_with_a_timeout() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    let limit = Duration::from_millis(300);

    let started = Instant::now();
    let err = within(
        Duration::from_secs(5),
        "BLPOP q 3 with a 300 ms per-call timeout",
        pool.query_with::<Popped>(&blpop("q", 3.0), Some(limit)),
    )
    .await
    .unwrap_err();
    let took = started.elapsed();
    println!("query_with: BLPOP q 3 with a 300ms per-call timeout failed after {took:?}: {err}");
    assert_eq!(err.kind(), ErrorKind::Timeout(Phase::Command), "{err}");
    assert!(
        took >= limit && took < limit + Duration::from_millis(200),
        "failed after {took:?}"
    );

    let p = pool.clone();
    let (result, took) = on_a_thread(move || {
        let started = Instant::now();
        let result = p.query_blocking::<Popped>(&blpop("q", 3.0), Some(limit));
        (result, started.elapsed())
    })
    .await;
    let err = result.unwrap_err();
    println!(
        "query_blocking: BLPOP q 3 with a 300ms per-call timeout failed after {took:?}: {err}"
    );
    assert_eq!(err.kind(), ErrorKind::Timeout(Phase::Command), "{err}");
    assert!(
        took >= limit && took < limit + Duration::from_millis(200),
        "failed after {took:?}"
    );

    // The abandoned BLPOPs must not stay blocked on the server, where they
    // would swallow the next element pushed to the list.
    server
        .wait_for_blocked_clients(0, Duration::from_secs(1))
        .await;
    let mut direct = server.client().await;
    let _: i64 = redis::cmd("LPUSH")
        .arg("q")
        .arg("job")
        .query_async(&mut direct)
        .await
        .unwrap();
    let len: i64 = redis::cmd("LLEN")
        .arg("q")
        .query_async(&mut direct)
        .await
        .unwrap();
    assert_eq!(len, 1, "an abandoned BLPOP took the element");
}
