//! Pool metrics: the Prometheus text parses strictly, its series carry the
//! redacted address, and the numbers move with traffic and outages.

mod prom_text;
mod support;

use std::time::{Duration, Instant};

use redkeep::redis;
use support::{first_probe, wait_for_state, within, RedisServer};

/// The tests' fast health watch, with room for a loaded machine's replies.
fn fast_config(url: String) -> redkeep::Config {
    let mut cfg = support::fast_config(url);
    cfg.timeouts.command = Duration::from_secs(5);
    cfg.timeouts.wait = Duration::from_secs(5);
    cfg.timeouts.connect = Duration::from_secs(2);
    // A refused connect after the kill is Down at once, whatever this is.
    cfg.health.timeout = Duration::from_secs(1);
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_traffic_and_outages() {
    let mut server = RedisServer::with_password("s3cret-pw");
    let pool = redkeep::Pool::connect(fast_config(server.url()))
        .await
        .expect("connect");
    first_probe(&pool).await;
    assert!(!pool.name().contains("s3cret-pw"), "{}", pool.name());

    let before = prom_text::parse(&pool.metrics_text()).expect("strict parse");
    let name = pool.name();
    let uses = |e: &prom_text::Exposition| {
        e.value(
            "db_client_connection_use_time_seconds_count",
            &[("pool", name)],
        )
    };
    for i in 0..50 {
        let _: () = pool
            .query(redis::cmd("SET").arg("m:k").arg(i))
            .await
            .expect("SET");
    }
    {
        let _conn = pool.get().await.expect("checkout");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let during = prom_text::parse(&pool.metrics_text()).expect("parse");
        assert!(
            during.value(
                "db_client_connection_count",
                &[("pool", name), ("state", "used")]
            ) >= 2.0
        );
    }
    let text = pool.metrics_text();
    assert!(!text.contains("s3cret-pw"), "no password in metrics");
    let after = prom_text::parse(&text).expect("strict parse");
    // 50 shared commands + one checkout.
    assert_eq!(
        uses(&after) - uses(&before),
        51.0,
        "use_time counts every call"
    );
    assert!(
        after.value(
            "db_client_connection_use_time_seconds_sum",
            &[("pool", name)]
        ) >= 0.02
    );
    assert_eq!(
        after.value("redkeep_checkouts_total", &[("pool", name)]),
        1.0
    );
    assert_eq!(
        after.value(
            "db_client_connection_count",
            &[("pool", name), ("state", "idle")]
        ),
        1.0
    );
    assert!(
        after.value(
            "db_client_connection_create_time_seconds_count",
            &[("pool", name)]
        ) >= 2.0
    );
    assert!(after.value("redkeep_probe_rtt_seconds_count", &[("pool", name)]) >= 1.0);
    assert_eq!(
        after.value("redkeep_health_state", &[("pool", name), ("state", "up")]),
        1.0
    );
    assert_eq!(
        after.value("redkeep_health_state", &[("pool", name), ("state", "down")]),
        0.0
    );
    assert_eq!(after.types["redkeep_reconnects_total"], "counter");
    let (code, body) = pool.health_json();
    assert_eq!(code, 200, "{body}");

    server.kill9();
    let mut rx = pool.watch();
    wait_for_state(&mut rx, redkeep::State::Down, Duration::from_secs(5)).await;
    let err = pool
        .query::<()>(&redis::cmd("PING"))
        .await
        .expect_err("fast fail");
    assert!(err.is_unavailable(), "{err}");
    let (code, body) = pool.health_json();
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("\"state\":\"down\""), "{body}");
    assert!(!body.contains("s3cret-pw"), "{body}");
    let down = prom_text::parse(&pool.metrics_text()).expect("parse");
    assert_eq!(
        down.value("redkeep_health_state", &[("pool", name), ("state", "down")]),
        1.0
    );
    assert!(down.value("redkeep_fast_fails_total", &[("pool", name)]) >= 1.0);
    // The watch evicts idle connections just after it publishes Down.
    let evicted_by = Instant::now() + Duration::from_secs(2);
    while prom_text::parse(&pool.metrics_text())
        .expect("parse")
        .value("redkeep_evictions_total", &[("pool", name)])
        < 1.0
    {
        assert!(
            Instant::now() < evicted_by,
            "no eviction counted after Down"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    server.restart();
    wait_for_state(&mut rx, redkeep::State::Up, Duration::from_secs(10)).await;
    let up = prom_text::parse(&pool.metrics_text()).expect("parse");
    assert!(up.value("redkeep_reconnects_total", &[("pool", name)]) >= 1.0);
    assert!(
        up.value("redkeep_probes_total", &[("pool", name)])
            > after.value("redkeep_probes_total", &[("pool", name)])
    );
    within(Duration::from_secs(5), "close", pool.close()).await;
}

#[tokio::test]
async fn metrics_off_keeps_counters_but_not_call_timings() {
    let server = RedisServer::start();
    let mut cfg = fast_config(server.url());
    cfg.metrics = false;
    let pool = redkeep::Pool::connect(cfg).await.expect("connect");
    for _ in 0..10 {
        let _: () = pool
            .query(redis::cmd("SET").arg("m:off").arg(1))
            .await
            .expect("SET");
    }
    drop(pool.get().await.expect("checkout"));
    let m = pool.metrics();
    assert_eq!(m.use_time.count(), 0);
    assert_eq!(m.wait_time.count(), 0);
    assert_eq!(m.stats.checkouts, 1);
    assert!(m.create_time.count() >= 1);
    // Two pools in one exposition: one block per family, one series each.
    // Another database: two pools of one address would share their label.
    let other = redkeep::Pool::connect(fast_config(format!("{}/1", server.url())))
        .await
        .expect("connect");
    let text = redkeep::metrics::render(&[pool.metrics(), other.metrics()]);
    let e = prom_text::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let series = e
        .samples
        .iter()
        .filter(|s| s.name == "redkeep_connects_total")
        .count();
    assert_eq!(series, 2);
    pool.close().await;
    other.close().await;
}
