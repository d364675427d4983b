//! On a slow link a burst of checkouts opens its connections side by side:
//! a healthy pool does not queue connects one behind another until they
//! time out and declare Redis down.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, Pool, State};
use support::{fast_config, within, Proxy, RedisServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_checkouts_on_a_slow_link_connects_in_parallel() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    // Every reply takes 100 ms: a connect (handshake + PING) about 200 ms.
    proxy.set_reply_delay(Duration::from_millis(100));
    let mut cfg = fast_config(proxy.url());
    cfg.pool.max_size = 8;
    cfg.timeouts.connect = Duration::from_millis(800);
    cfg.timeouts.wait = Duration::from_secs(3);
    cfg.timeouts.command = Duration::from_secs(2);
    cfg.health.interval = Duration::from_secs(1);
    cfg.health.timeout = Duration::from_secs(1);
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();
    support::first_probe(&pool).await;

    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = pool.get().await?;
            let pong: String = redis::cmd("PING")
                .query_async(&mut *conn)
                .await
                .map_err(|e| redkeep::Error::new(redkeep::ErrorKind::Connection, e.to_string()))?;
            // Hold it so that every task needs its own connection.
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok::<_, redkeep::Error>(pong)
        }));
    }
    for task in tasks {
        let pong = within(Duration::from_secs(10), "checkout burst", task)
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("a checkout failed on a slow but healthy link: {e}"));
        assert_eq!(pong, "PONG");
    }
    let took = started.elapsed();
    assert_eq!(pool.health().state, State::Up, "{:?}", pool.health());
    assert_eq!(pool.stats().size, 8);
    // Serialised, 8 connects of ~200 ms would take 1.6 s before the holds.
    assert!(
        took < Duration::from_millis(1500),
        "the burst took {took:?}"
    );
}
