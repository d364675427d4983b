//! `Pool::query_blocking`: the caller-thread path used by the C ABI and
//! Python. Same health rules as `query`: fail fast while Down, no
//! connection from before an outage, reads re-sent once, writes never.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, ErrorKind, Phase, Pool, State};
use support::{fast_config, wait_for_state, within, Proxy, RedisServer};

/// Runs `f` on a plain thread, as an FFI caller would.
async fn on_a_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("no panic")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_commands_on_the_calling_thread_and_reuses_its_connection() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    let p = pool.clone();
    let (set, n, missing, ids) = on_a_thread(move || {
        let set: String = p
            .query_blocking(redis::cmd("SET").arg("k").arg(41), None)
            .unwrap();
        let n: i64 = p.query_blocking(redis::cmd("INCR").arg("k"), None).unwrap();
        let missing: Option<String> = p
            .query_blocking(redis::cmd("GET").arg("nothing"), None)
            .unwrap();
        let id = || -> i64 {
            p.query_blocking(redis::cmd("CLIENT").arg("ID"), None)
                .unwrap()
        };
        (set, n, missing, (id(), id()))
    })
    .await;
    assert_eq!((set.as_str(), n, missing), ("OK", 42, None));
    assert_eq!(ids.0, ids.1, "the idle connection was reused");

    let p = pool.clone();
    let err = on_a_thread(move || {
        p.query_blocking::<i64>(redis::cmd("LPUSH").arg("k").arg(1), None)
            .unwrap_err()
    })
    .await;
    assert_eq!(err.kind(), ErrorKind::Response);
    assert!(err.to_string().starts_with("WRONGTYPE "), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reply_times_out_with_the_command_phase_and_the_connection_is_dropped() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    let p = pool.clone();
    let (err, elapsed, after) = on_a_thread(move || {
        let started = Instant::now();
        let err = p
            .query_blocking::<String>(
                redis::cmd("DEBUG").arg("SLEEP").arg("0.5"),
                Some(Duration::from_millis(100)),
            )
            .unwrap_err();
        let elapsed = started.elapsed();
        // The late "+OK" must not be read as the reply to the next command.
        std::thread::sleep(Duration::from_millis(600));
        let after: String = p.query_blocking(&redis::cmd("PING"), None).unwrap();
        (err, elapsed, after)
    })
    .await;
    assert_eq!(err.kind(), ErrorKind::Timeout(Phase::Command), "{err}");
    assert!(elapsed < Duration::from_millis(450), "took {elapsed:?}");
    assert_eq!(after, "PONG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_fast_while_down_and_serves_on_fresh_connections_after_recovery() {
    let mut server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    let p = pool.clone();
    let first_id: i64 = on_a_thread(move || {
        p.query_blocking(redis::cmd("CLIENT").arg("ID"), None)
            .unwrap()
    })
    .await;

    let mut rx = pool.watch();
    server.kill9();
    wait_for_state(&mut rx, State::Down, Duration::from_secs(3)).await;
    let p = pool.clone();
    let (err, elapsed) = on_a_thread(move || {
        let started = Instant::now();
        let err = p
            .query_blocking::<String>(&redis::cmd("PING"), None)
            .unwrap_err();
        (err, started.elapsed())
    })
    .await;
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(elapsed < Duration::from_millis(50), "took {elapsed:?}");

    server.restart();
    wait_for_state(&mut rx, State::Up, Duration::from_secs(5)).await;
    let p = pool.clone();
    let new_id: i64 = on_a_thread(move || {
        p.query_blocking(redis::cmd("CLIENT").arg("ID"), None)
            .expect("no command fails after Up")
    })
    .await;
    // A restarted server numbers clients from 1 again: compare connections
    // by what the server lists instead.
    let p = pool.clone();
    let listed: String = on_a_thread(move || {
        p.query_blocking(redis::cmd("CLIENT").arg("LIST"), None)
            .unwrap()
    })
    .await;
    assert!(listed.contains(&format!("id={new_id} ")), "{listed}");
    let _ = first_id;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_is_resent_once_after_a_reset_and_a_write_runs_at_most_once() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    let mut cfg = fast_config(proxy.url());
    cfg.health.interval = Duration::from_secs(30);
    // The watch's probe connection is reset too; it must not turn the pool
    // Down (which would drop the idle connection this test wants reused).
    cfg.health.failures_before_down = 10;
    let pool = Pool::connect(cfg).await.unwrap();
    let p = pool.clone();
    on_a_thread(move || {
        let _: () = p
            .query_blocking(redis::cmd("SET").arg("n").arg(0), None)
            .unwrap();
    })
    .await;

    proxy.reset_all();
    support::all_closed(&proxy).await;
    let p = pool.clone();
    let v: i64 = within(
        Duration::from_secs(5),
        "GET after a reset",
        on_a_thread(move || p.query_blocking(redis::cmd("GET").arg("n"), None)),
    )
    .await
    .expect("a read is resent on a new connection");
    assert_eq!(v, 0);

    proxy.reset_all();
    support::all_closed(&proxy).await;
    let p = pool.clone();
    let result =
        on_a_thread(move || p.query_blocking::<i64>(redis::cmd("INCR").arg("n"), None)).await;
    let n: i64 = pool.query(redis::cmd("GET").arg("n")).await.unwrap();
    match result {
        // The reset connection was used: the write failed and was not
        // sent again on a new connection.
        Err(err) => {
            assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
            assert_eq!(n, 0, "a failed INCR was sent again");
        }
        // The watch replaced the connection first: the write ran once.
        Ok(v) => assert_eq!((v, n), (1, 1)),
    }
}
