//! Connections reset under a write loop: no write is ever sent twice by the
//! library, and no acknowledged write is lost.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redkeep::{redis, ErrorKind, Pool};
use support::{fast_config, within, Proxy, RedisServer};

#[derive(Default)]
struct Tally {
    /// `INCR`s that returned a number.
    acked: AtomicU64,
    /// `INCR`s that failed after they may have reached the server.
    in_doubt: AtomicU64,
    /// `INCR`s refused before touching the network.
    refused: AtomicU64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resetting_every_connection_during_an_incr_loop_never_duplicates_a_write() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    let mut cfg = fast_config(proxy.url());
    cfg.pool.max_size = 8;
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for t in 0..32 {
        let (pool, tally, stop) = (pool.clone(), tally.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                // Half the tasks on the shared path, half on exclusive ones.
                let outcome = if t % 2 == 0 {
                    match pool.query::<i64>(redis::cmd("INCR").arg("counter")).await {
                        Ok(_) => Ok(()),
                        Err(e) if matches!(e.kind(), ErrorKind::Unavailable) => Err(false),
                        Err(_) => Err(true),
                    }
                } else {
                    match pool.get().await {
                        Ok(mut conn) => redis::cmd("INCR")
                            .arg("counter")
                            .query_async::<i64>(&mut *conn)
                            .await
                            .map(|_| ())
                            .map_err(|_| true),
                        // A failed checkout never sent the INCR.
                        Err(_) => Err(false),
                    }
                };
                match outcome {
                    Ok(()) => tally.acked.fetch_add(1, Ordering::Relaxed),
                    Err(true) => tally.in_doubt.fetch_add(1, Ordering::Relaxed),
                    Err(false) => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        tally.refused.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }));
    }

    // Reset every connection through the proxy, over and over.
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        proxy.reset_all();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        within(Duration::from_secs(10), "INCR loop", task)
            .await
            .unwrap();
    }

    let mut direct = server.client().await;
    let counter: i64 = redis::cmd("GET")
        .arg("counter")
        .query_async(&mut direct)
        .await
        .unwrap();
    let counter = counter as u64;
    let acked = tally.acked.load(Ordering::Relaxed);
    let in_doubt = tally.in_doubt.load(Ordering::Relaxed);
    let refused = tally.refused.load(Ordering::Relaxed);
    eprintln!("counter {counter}, acked {acked}, in doubt {in_doubt}, refused {refused}");

    assert!(acked > 1000, "too little traffic to mean anything: {acked}");
    assert!(
        in_doubt > 0,
        "the resets broke no INCR: the test proved nothing"
    );
    assert!(
        counter >= acked,
        "acknowledged writes were lost: {counter} < {acked}"
    );
    assert!(
        counter <= acked + in_doubt,
        "writes were duplicated: counter {counter} > acked {acked} + in doubt {in_doubt}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_a_dropped_connection_fails_and_is_not_resent() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    let mut cfg = fast_config(proxy.url());
    // Keep the watch out of the way: the caller meets the dead connection.
    cfg.health.interval = Duration::from_secs(30);
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();
    let _: i64 = pool.query(redis::cmd("INCR").arg("n")).await.unwrap();

    // The watch has its own connection and will not probe again for 30 s:
    // the caller is the first to meet the reset.
    support::first_probe(&pool).await;
    proxy.reset_all();
    support::all_closed(&proxy).await;

    let res = within(
        Duration::from_secs(5),
        "INCR on a reset connection",
        pool.query::<i64>(redis::cmd("INCR").arg("n")),
    )
    .await;
    let err = res.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(err.is_retryable());

    let mut direct = server.client().await;
    let n: i64 = redis::cmd("GET")
        .arg("n")
        .query_async(&mut direct)
        .await
        .unwrap();
    assert_eq!(n, 1, "the failed INCR was sent anyway");

    // The broken connection was evicted: the next call gets a new one.
    let n: i64 = within(
        Duration::from_secs(5),
        "INCR on a new connection",
        pool.query(redis::cmd("INCR").arg("n")),
    )
    .await
    .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_on_a_dropped_connection_is_retried_once_on_a_new_one() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    let mut cfg = fast_config(proxy.url());
    cfg.health.interval = Duration::from_secs(30);
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();
    let _: () = pool
        .query(redis::cmd("SET").arg("k").arg("v"))
        .await
        .unwrap();
    let connects = pool.stats().connects;

    // The watch has its own connection and will not probe again for 30 s:
    // the caller is the first to meet the reset.
    support::first_probe(&pool).await;
    proxy.reset_all();
    support::all_closed(&proxy).await;

    let v: String = within(
        Duration::from_secs(5),
        "GET on a reset connection",
        pool.query(redis::cmd("GET").arg("k")),
    )
    .await
    .expect("a read-only command is resent once on a fresh connection");
    assert_eq!(v, "v");
    assert!(pool.stats().connects > connects);
}
