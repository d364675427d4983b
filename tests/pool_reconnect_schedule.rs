//! While Redis is unreachable, connect attempts follow the backoff schedule,
//! one at a time, whatever the request rate.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redkeep::{redis, Backoff, Pool, State};
use support::{fast_config, wait_for_state, within, Mode, Proxy, RedisServer};

/// How many attempts the schedule allows within `window` at most: every
/// delay at its shortest (full jitter), attempts themselves taking no time.
fn most_attempts_in(backoff: &Backoff, window: Duration) -> u64 {
    let mut elapsed = Duration::ZERO;
    for (attempts, base) in (0u64..).zip(backoff.base_schedule()) {
        elapsed += base.mul_f64(1.0 - backoff.jitter);
        if elapsed > window {
            return attempts;
        }
    }
    unreachable!("the schedule is endless")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_attempts_during_an_outage_follow_the_schedule_not_the_request_rate() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    let mut cfg = fast_config(proxy.url());
    cfg.backoff = Backoff::default(); // 50 ms × 2 up to 2 s, jitter 0.5
    let window = Duration::from_secs(3);
    let schedule = most_attempts_in(&cfg.backoff, window);
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();
    support::first_probe(&pool).await;
    let mut rx = pool.watch();

    let before = proxy.accepted();
    proxy.set_mode(Mode::Refuse);
    proxy.reset_all();

    // ~1,000 requests/s for the whole window: 10 tasks, one request every
    // 10 ms each, alternating the shared and the exclusive path.
    let requests = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + window;
    let mut tasks = Vec::new();
    for t in 0..10 {
        let (pool, requests) = (pool.clone(), requests.clone());
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut i = 0u64;
            while Instant::now() < deadline {
                tick.tick().await;
                i += 1;
                if (i + t) % 2 == 0 {
                    let _ = pool
                        .query::<Option<String>>(redis::cmd("GET").arg("k"))
                        .await;
                } else {
                    let _ = pool.get().await;
                }
                requests.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        within(Duration::from_secs(20), "request loop", task)
            .await
            .unwrap();
    }
    let attempts = proxy.accepted() - before;
    let requests = requests.load(Ordering::Relaxed);
    let reconnects = pool.stats().reconnects;
    eprintln!(
        "{requests} requests, {attempts} connect attempts, {reconnects} reconnects, \
         schedule allows {schedule}"
    );

    assert_eq!(pool.health().state, State::Down, "{:?}", pool.health());
    assert!(
        requests >= 1500,
        "the load generator fell short: {requests}"
    );
    // A few attempts belong to the transition (the probe reconnecting at
    // once, requests that met the broken connections before Down).
    let slack = 5;
    assert!(
        attempts <= schedule + slack,
        "{attempts} connect attempts in {window:?}; the schedule allows {schedule} (+{slack})"
    );
    assert!(
        attempts >= 3,
        "the watch stopped reconnecting: {attempts} attempts"
    );
    assert!(
        attempts * 50 < requests,
        "{attempts} attempts for {requests} requests"
    );

    proxy.set_mode(Mode::Forward);
    wait_for_state(&mut rx, State::Up, Duration::from_secs(5)).await;
    let pong: String = pool.query(&redis::cmd("PING")).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_connect_attempt_is_in_flight_at_a_time() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    let mut cfg = fast_config(proxy.url());
    cfg.timeouts.connect = Duration::from_millis(300);
    cfg.backoff.initial = Duration::from_millis(10);
    cfg.backoff.max = Duration::from_millis(20);
    // A lazy pool facing a blackhole from the start: every connect hangs
    // until its timeout, and callers pile up.
    proxy.set_mode(Mode::Blackhole);
    let pool = Pool::new(cfg).unwrap();

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let _ = pool.query::<String>(&redis::cmd("PING")).await;
            let _ = pool.get().await;
        }));
    }
    let mut most = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        most = most.max(proxy.live());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for task in tasks {
        within(Duration::from_secs(20), "callers", task)
            .await
            .unwrap();
    }
    // Connections time out and close, so live ones are those in flight.
    assert!(
        most <= 2,
        "{most} connects in flight at once, {} accepted",
        proxy.accepted()
    );
    assert!(
        proxy.accepted() <= 1500 / 300 + 4,
        "{} attempts",
        proxy.accepted()
    );
}
