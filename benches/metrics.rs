//! The cost of metrics on the fast path: `query()` GET throughput with
//! `Config::metrics` on and off, against one local `redis-server`, the two
//! pools measured in alternating turns (the order flips each round), each
//! figure the median of its rounds. Target: on ≥ 0.97× off.
//! `REDKEEP_BENCH_QUICK=1` runs fewer, shorter rounds.
//!
//! ```text
//! cargo bench --bench metrics
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redkeep::redis::{self, AsyncCommands};

const KEY: &str = "bench:metrics";
const TASKS: usize = 50;

/// GET/s of `pool.query()` with `TASKS` concurrent tasks for `length`.
async fn throughput(pool: &redkeep::Pool, get: &redis::Cmd, length: Duration) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (pool, get, stop, count) = (pool.clone(), get.clone(), stop.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let v: Vec<u8> = pool.query(&get).await.expect("GET");
                assert!(!v.is_empty());
                n += 1;
            }
            count.fetch_add(n, Ordering::Relaxed);
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("task");
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::var("REDKEEP_BENCH_QUICK").as_deref() == Ok("1");
    let (rounds, length) = if quick {
        (3, Duration::from_millis(500))
    } else {
        (9, Duration::from_secs(1))
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let server = support::RedisServer::start();
    let url = server.url();
    runtime.block_on(async {
        let mut get = redis::cmd("GET");
        get.arg(KEY);
        let mut on_cfg = redkeep::Config::from_url(url.as_str());
        on_cfg.metrics = true;
        let mut off_cfg = on_cfg.clone();
        off_cfg.metrics = false;
        let on = redkeep::Pool::connect(on_cfg).await.expect("pool");
        let off = redkeep::Pool::connect(off_cfg).await.expect("pool");
        let mut conn = redis::Client::open(url.as_str())
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let _: () = conn.set(KEY, "x".repeat(100)).await.expect("SET");
        // Warm both.
        throughput(&on, &get, Duration::from_millis(200)).await;
        throughput(&off, &get, Duration::from_millis(200)).await;
        let (mut with, mut without, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..rounds {
            let (a, b) = if r % 2 == 0 {
                let a = throughput(&on, &get, length).await;
                (a, throughput(&off, &get, length).await)
            } else {
                let b = throughput(&off, &get, length).await;
                (throughput(&on, &get, length).await, b)
            };
            eprintln!("  round {} of {rounds}: on {a:.0} GET/s, off {b:.0} GET/s ({:.3}×)", r + 1, a / b);
            with.push(a);
            without.push(b);
            ratios.push(a / b);
        }
        let m = on.metrics();
        println!();
        println!("| query() GET, {TASKS} tasks | GET/s (median of {rounds}) |");
        println!("|---|---:|");
        println!("| metrics on | {:.0} |", median(with.clone()));
        println!("| metrics off | {:.0} |", median(without.clone()));
        println!();
        println!(
            "on/off: {:.3}× (median of the medians), {:.3}× (median of per-round ratios); target ≥ 0.97×",
            median(with) / median(without),
            median(ratios)
        );
        println!(
            "recorded with metrics on: {} uses, mean use {:.1} µs",
            m.use_time.count(),
            m.use_time.sum.as_secs_f64() * 1e6 / m.use_time.count().max(1) as f64
        );
        on.close().await;
        off.close().await;
    });
}
