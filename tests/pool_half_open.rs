//! A peer that accepts and then goes silent (no FIN, no RST) is caught by the
//! probe timeout, not by waiting on TCP.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, ErrorKind, Phase, Pool, State};
use support::{fast_config, wait_for_state, within, Mode, Proxy, RedisServer};

const MARGIN: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_server_turns_the_pool_down_within_the_probe_budget() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    let cfg = fast_config(proxy.url());
    let budget =
        cfg.health.interval + cfg.health.timeout * cfg.health.failures_before_down + MARGIN;
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();
    support::first_probe(&pool).await;
    let mut rx = pool.watch();
    assert_eq!(rx.borrow_and_update().state, State::Up);

    proxy.set_mode(Mode::Blackhole);
    let started = Instant::now();
    let mut saw_degraded = false;
    within(Duration::from_secs(10), "waiting for Down", async {
        loop {
            rx.changed().await.expect("watch alive");
            let health = rx.borrow_and_update().clone();
            match health.state {
                State::Degraded => saw_degraded = true,
                State::Down => break,
                State::Up => {}
                State::Closed => panic!("the pool closed under the test"),
            }
        }
    })
    .await;
    let took = started.elapsed();

    assert!(took <= budget, "Down after {took:?}, budget {budget:?}");
    assert!(
        saw_degraded,
        "one failed probe should show as Degraded first"
    );
    let health = pool.health();
    assert!(
        health
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("timed out"),
        "{health:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_sent_into_a_blackhole_fails_within_its_timeout() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    let mut cfg = fast_config(proxy.url());
    // The watch must not notice first: this is about the command timeout.
    cfg.health.interval = Duration::from_secs(30);
    cfg.health.timeout = Duration::from_secs(5);
    cfg.timeouts.command = Duration::from_millis(300);
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();
    let mut conn = pool.get().await.unwrap();

    proxy.set_mode(Mode::Blackhole);

    let started = Instant::now();
    let err = within(
        Duration::from_secs(5),
        "query into a blackhole",
        pool.query::<i64>(redis::cmd("INCR").arg("n")),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout(Phase::Command), "{err}");
    assert!(started.elapsed() < Duration::from_millis(300) + MARGIN);

    let started = Instant::now();
    let err = within(
        Duration::from_secs(5),
        "exclusive command into a blackhole",
        redis::cmd("INCR").arg("n").query_async::<i64>(&mut *conn),
    )
    .await
    .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_millis(300) + MARGIN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_into_a_blackhole_time_out_and_the_pool_recovers_when_it_ends() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    let mut cfg = fast_config(proxy.url());
    cfg.timeouts.connect = Duration::from_millis(200);
    let step = cfg.backoff.max;
    let connect = cfg.timeouts.connect;
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();
    let mut rx = pool.watch();

    proxy.set_mode(Mode::Blackhole);
    wait_for_state(&mut rx, State::Down, Duration::from_secs(10)).await;
    let accepted = proxy.accepted();
    // Reconnect attempts are accepted by the proxy and then meet silence.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let attempts = proxy.accepted() - accepted;
    assert!(attempts >= 1, "no reconnect attempt in 1 s");
    let last_error = pool.health().last_error.unwrap_or_default();
    assert!(last_error.contains("timed out"), "{last_error}");
    assert_eq!(pool.health().state, State::Down);

    proxy.set_mode(Mode::Forward);
    // The attempt in flight may be one that met the blackhole; the next
    // one is at most a step away.
    let took = wait_for_state(&mut rx, State::Up, Duration::from_secs(10)).await;
    assert!(
        took <= connect + step + MARGIN,
        "Up {took:?} after the blackhole ended"
    );
    let pong: String = pool.query(&redis::cmd("PING")).await.unwrap();
    assert_eq!(pong, "PONG");
}
