//! `Pool::close` ends every call in flight, on every path (`query`,
//! `query_blocking`, a command on a connection from `get`), within 100 ms
//! with `ErrorKind::Closed` — whether the call waits for a reply from a
//! stopped server, a blocking command's wait, a free connection or a
//! connect; the pool then reads `Closed` and every later call fails with
//! `Closed` at once.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, Config, ErrorKind, Pool, State};
use support::{on_a_thread, within, NotRedis, NotRedisKind, RedisServer};
use tokio::sync::mpsc;

/// The contract says 100 ms; this leaves room for a busy 2-core machine.
const CLOSE_BOUND: Duration = Duration::from_millis(300);

/// How one call in flight ended: which path, its result, and when.
type Ended = (&'static str, redkeep::Result<()>, Instant);

/// Settings under which nothing but `close` ends the calls in time: long
/// reply and connect timeouts, a health watch too slow to intervene.
fn patient(url: String) -> Config {
    let mut cfg = Config::from_url(url);
    cfg.timeouts.connect = Duration::from_secs(5);
    cfg.timeouts.wait = Duration::from_secs(5);
    cfg.timeouts.command = Duration::from_secs(5);
    cfg.health.interval = Duration::from_secs(30);
    cfg.health.timeout = Duration::from_secs(5);
    cfg
}

fn get() -> redis::Cmd {
    let mut cmd = redis::cmd("GET");
    cmd.arg("k");
    cmd
}

fn blpop() -> redis::Cmd {
    let mut cmd = redis::cmd("BLPOP");
    cmd.arg("q").arg(10);
    cmd
}

/// Starts `cmd` through `query` on a task.
fn via_query(pool: &Pool, cmd: redis::Cmd, ended: &mpsc::UnboundedSender<Ended>) {
    let (pool, ended) = (pool.clone(), ended.clone());
    tokio::spawn(async move {
        let result = pool.query::<redis::Value>(&cmd).await.map(drop);
        let _ = ended.send(("query", result, Instant::now()));
    });
}

/// Starts `cmd` through `query_blocking` on a plain thread.
fn via_query_blocking(pool: &Pool, cmd: redis::Cmd, ended: &mpsc::UnboundedSender<Ended>) {
    let (pool, ended) = (pool.clone(), ended.clone());
    std::thread::spawn(move || {
        let result = pool.query_blocking::<redis::Value>(&cmd, None).map(drop);
        let _ = ended.send(("query_blocking", result, Instant::now()));
    });
}

/// Lets the calls get under way, checks none has ended, closes the pool and
/// checks every call ended with `Closed` within the bound.
async fn close_ends_them_all(pool: &Pool, mut ended: mpsc::UnboundedReceiver<Ended>, calls: usize) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    if let Ok((path, result, _)) = ended.try_recv() {
        panic!("{path} ended before close: {result:?}");
    }

    let closing = Instant::now();
    within(Duration::from_secs(5), "close", pool.close()).await;
    let close_took = closing.elapsed();
    println!("close() returned after {close_took:?}");

    // Every outcome first (printed), then the verdicts, so that one slow
    // path does not hide how the others did.
    let mut outcomes = Vec::new();
    let give_up = closing + Duration::from_secs(12);
    for _ in 0..calls {
        match tokio::time::timeout_at(give_up.into(), ended.recv()).await {
            Ok(Some((path, result, at))) => {
                let after = at.saturating_duration_since(closing);
                println!("{path}: ended {after:?} after close() began: {result:?}");
                outcomes.push((path, result, after));
            }
            Ok(None) => unreachable!("the test holds a sender"),
            Err(_) => break,
        }
    }
    assert_eq!(
        outcomes.len(),
        calls,
        "only {:?} ended within 12 s of close()",
        outcomes.iter().map(|o| o.0).collect::<Vec<_>>()
    );
    for (path, result, after) in outcomes {
        let err = result.expect_err("a call in flight succeeded after close");
        assert_eq!(err.kind(), ErrorKind::Closed, "{path}: {err}");
        assert!(
            after < CLOSE_BOUND,
            "{path}: ended {after:?} after close() began"
        );
    }
    assert_eq!(pool.health().state, State::Closed);
    assert!(pool.is_closed());
}

/// Every path fails with `Closed`, at once, after close.
async fn later_calls_fail_closed(pool: &Pool) {
    let started = Instant::now();
    let err = pool.query::<redis::Value>(&get()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "query after close: {err}");
    match pool.get().await {
        Ok(_) => panic!("get() after close handed out a connection"),
        Err(err) => assert_eq!(err.kind(), ErrorKind::Closed, "get after close: {err}"),
    }
    let took = started.elapsed();
    assert!(took < Duration::from_millis(100), "took {took:?}");
    let p = pool.clone();
    let (err, took) = on_a_thread(move || {
        let started = Instant::now();
        let err = p.query_blocking::<redis::Value>(&get(), None).unwrap_err();
        (err, started.elapsed())
    })
    .await;
    assert_eq!(
        err.kind(),
        ErrorKind::Closed,
        "query_blocking after close: {err}"
    );
    assert!(took < Duration::from_millis(100), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_calls_waiting_on_a_stopped_server_on_every_path() {
    let server = RedisServer::start();
    let pool = Pool::connect(patient(server.url())).await.unwrap();
    // Every path has a connection open before the server stops.
    let _: String = pool.query(&redis::cmd("PING")).await.unwrap();
    let p = pool.clone();
    let _: String = on_a_thread(move || p.query_blocking(&redis::cmd("PING"), None))
        .await
        .unwrap();
    let mut conn = pool.get().await.unwrap();
    let _: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();

    let paused = server.pause();
    let (tx, rx) = mpsc::unbounded_channel();
    via_query(&pool, get(), &tx);
    via_query_blocking(&pool, get(), &tx);
    {
        let ended = tx.clone();
        tokio::spawn(async move {
            let result = get()
                .query_async::<redis::Value>(&mut conn)
                .await
                .map(drop)
                .map_err(redkeep::Error::from);
            let _ = ended.send(("get + GET", result, Instant::now()));
        });
    }
    close_ends_them_all(&pool, rx, 3).await;
    later_calls_fail_closed(&pool).await;
    paused.resume();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_blocking_commands_in_their_wait() {
    let server = RedisServer::start();
    let pool = Pool::connect(patient(server.url())).await.unwrap();

    let (tx, rx) = mpsc::unbounded_channel();
    via_query(&pool, blpop(), &tx);
    via_query_blocking(&pool, blpop(), &tx);
    server
        .wait_for_blocked_clients(2, Duration::from_secs(2))
        .await;
    close_ends_them_all(&pool, rx, 2).await;
    // Their connections are gone too, not left blocked on the server.
    server
        .wait_for_blocked_clients(0, Duration::from_secs(1))
        .await;
    later_calls_fail_closed(&pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_a_checkout_waiting_for_a_free_connection() {
    let server = RedisServer::start();
    let mut cfg = patient(server.url());
    cfg.pool.max_size = 1;
    let pool = Pool::connect(cfg).await.unwrap();
    let held = pool.get().await.unwrap();

    let (tx, rx) = mpsc::unbounded_channel();
    {
        let (pool, ended) = (pool.clone(), tx.clone());
        tokio::spawn(async move {
            let result = pool.get().await.map(drop);
            let _ = ended.send(("get (waiting)", result, Instant::now()));
        });
    }
    close_ends_them_all(&pool, rx, 1).await;
    drop(held);
    later_calls_fail_closed(&pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_calls_connecting_to_a_silent_peer() {
    let silent = NotRedis::start(NotRedisKind::Silent).await;
    let pool = Pool::new(patient(silent.url())).unwrap();

    let (tx, rx) = mpsc::unbounded_channel();
    via_query(&pool, get(), &tx);
    via_query_blocking(&pool, get(), &tx);
    close_ends_them_all(&pool, rx, 2).await;
    later_calls_fail_closed(&pool).await;
}
