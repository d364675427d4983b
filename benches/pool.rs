//! Compares redkeep with bare redis-rs and deadpool-redis against one local
//! `redis-server` started here on a free port.
//!
//! Measures GET throughput with 50 concurrent tasks, sequential GET latency
//! (median, p99), and the cost of a checkout + return on an idle pool, then
//! prints a markdown table. `REDKEEP_BENCH_QUICK=1` runs fewer iterations.
//!
//! ```text
//! cargo bench --bench pool
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redkeep::redis::{self, AsyncCommands};

const KEY: &str = "bench:key";
const TASKS: usize = 50;
const POOL_SIZE: usize = 16;

/// The clients are measured in turns, `rounds` times, so that a burst of
/// load from elsewhere on the machine hits all of them alike; each figure is
/// the median of its rounds.
struct Plan {
    rounds: usize,
    warmup: Duration,
    throughput_for: Duration,
    sequential: usize,
    checkouts: usize,
}

impl Plan {
    fn from_env() -> Self {
        if std::env::var("REDKEEP_BENCH_QUICK").as_deref() == Ok("1") {
            Plan {
                rounds: 1,
                warmup: Duration::from_millis(200),
                throughput_for: Duration::from_millis(800),
                sequential: 2_000,
                checkouts: 20_000,
            }
        } else {
            Plan {
                rounds: 5,
                warmup: Duration::from_millis(200),
                throughput_for: Duration::from_secs(1),
                sequential: 5_000,
                checkouts: 100_000,
            }
        }
    }
}

/// One client under test: runs one GET however it does it.
trait Client: Clone + Send + Sync + 'static {
    fn get(&self) -> impl Future<Output = ()> + Send;
}

#[derive(Clone)]
struct Bare(redis::aio::MultiplexedConnection, redis::Cmd);

impl Client for Bare {
    async fn get(&self) {
        let mut conn = self.0.clone();
        let v: Vec<u8> = self.1.query_async(&mut conn).await.expect("GET");
        assert!(!v.is_empty());
    }
}

#[derive(Clone)]
struct Query(redkeep::Pool, redis::Cmd);

impl Client for Query {
    async fn get(&self) {
        let v: Vec<u8> = self.0.query(&self.1).await.expect("GET");
        assert!(!v.is_empty());
    }
}

/// `pool.handle()` with redis-rs's typed `AsyncCommands::get`: the command
/// is built per call, as user code does.
#[derive(Clone)]
struct HandleGet(redkeep::Handle);

impl Client for HandleGet {
    async fn get(&self) {
        let mut h = self.0.clone();
        let v: Vec<u8> = h.get(KEY).await.expect("GET");
        assert!(!v.is_empty());
    }
}

#[derive(Clone)]
struct Exclusive(redkeep::Pool, redis::Cmd);

impl Client for Exclusive {
    async fn get(&self) {
        let mut conn = self.0.get().await.expect("checkout");
        let v: Vec<u8> = self.1.query_async(&mut *conn).await.expect("GET");
        assert!(!v.is_empty());
    }
}

#[derive(Clone)]
struct Deadpool(deadpool_redis::Pool, redis::Cmd);

impl Client for Deadpool {
    async fn get(&self) {
        let mut conn = self.0.get().await.expect("checkout");
        let v: Vec<u8> = self.1.query_async(&mut conn).await.expect("GET");
        assert!(!v.is_empty());
    }
}

struct Figures {
    name: &'static str,
    ops_per_sec: f64,
    cpu: Duration,
    median: Duration,
    p99: Duration,
}

/// CPU time (user + system, all threads) this process has used, from
/// `/proc/self/stat` in `USER_HZ` (100/s) ticks; `None` off Linux.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line, i.e. the 12th and 13th after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// GET/s with `TASKS` concurrent tasks, and the client's CPU time per GET
/// (what the benchmark process itself spent, whatever else runs).
async fn throughput<C: Client>(client: &C, plan: &Plan) -> (f64, Option<Duration>) {
    let run = |length: Duration| async move {
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let (client, stop, count) = (client.clone(), stop.clone(), count.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    client.get().await;
                    n += 1;
                }
                count.fetch_add(n, Ordering::Relaxed);
            }));
        }
        let started = Instant::now();
        let cpu = process_cpu();
        tokio::time::sleep(length).await;
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await.expect("task");
        }
        let ops = count.load(Ordering::Relaxed);
        let cpu = cpu
            .zip(process_cpu())
            .map(|(before, after)| (after - before) / ops.max(1) as u32);
        (ops as f64 / started.elapsed().as_secs_f64(), cpu)
    };
    run(plan.warmup).await;
    run(plan.throughput_for).await
}

async fn latency<C: Client>(client: &C, plan: &Plan) -> (Duration, Duration) {
    for _ in 0..plan.sequential / 10 {
        client.get().await;
    }
    let mut samples = Vec::with_capacity(plan.sequential);
    for _ in 0..plan.sequential {
        let started = Instant::now();
        client.get().await;
        samples.push(started.elapsed());
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

/// One round of one client: throughput and CPU per GET, then (median,
/// p99) sequential latency.
async fn round<C: Client>(client: &C, plan: &Plan) -> Round {
    let (ops_per_sec, cpu) = throughput(client, plan).await;
    let (median, p99) = latency(client, plan).await;
    Round {
        ops_per_sec,
        cpu: cpu.unwrap_or_default(),
        median,
        p99,
    }
}

#[derive(Clone, Copy)]
struct Round {
    ops_per_sec: f64,
    cpu: Duration,
    median: Duration,
    p99: Duration,
}

fn median_of<T: PartialOrd + Copy>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    values[values.len() / 2]
}

/// Median cost of one checkout + return, over batches of 100.
async fn checkout_cost<F, Fut>(plan: &Plan, mut checkout: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    const BATCH: u32 = 100;
    for _ in 0..1_000 {
        checkout().await;
    }
    let mut batches = Vec::new();
    for _ in 0..plan.checkouts / BATCH as usize {
        let started = Instant::now();
        for _ in 0..BATCH {
            checkout().await;
        }
        batches.push(started.elapsed() / BATCH);
    }
    batches.sort_unstable();
    batches[batches.len() / 2]
}

fn micros(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn main() {
    let plan = Plan::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let server = support::RedisServer::start();
    let url = server.url();
    let started = Instant::now();
    runtime.block_on(async {
        let get = {
            let mut cmd = redis::cmd("GET");
            cmd.arg(KEY);
            cmd
        };
        let redis_client = redis::Client::open(url.as_str()).expect("url");
        let mut bare = redis_client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let _: () = bare.set(KEY, "x".repeat(100)).await.expect("SET");

        let mut cfg = redkeep::Config::from_url(url.as_str());
        cfg.pool.max_size = POOL_SIZE;
        let pool = redkeep::Pool::connect(cfg).await.expect("redkeep pool");

        let deadpool = deadpool_redis::Config::from_url(url.as_str())
            .builder()
            .expect("deadpool config")
            .max_size(POOL_SIZE)
            .runtime(deadpool_redis::Runtime::Tokio1)
            .build()
            .expect("deadpool pool");

        eprintln!("measuring against redis-server on port {}", server.port());
        let bare_client = Bare(bare, get.clone());
        let query_client = Query(pool.clone(), get.clone());
        let deadpool_client = Deadpool(deadpool.clone(), get.clone());
        let exclusive_client = Exclusive(pool.clone(), get.clone());
        let handle_client = HandleGet(pool.handle());
        let names = [
            "(a) redis-rs MultiplexedConnection",
            "(b) redkeep query()",
            "(c) deadpool-redis get(), max_size 16",
            "(d) redkeep get(), max_size 16",
            "(e) redkeep handle().get() (AsyncCommands)",
        ];
        let mut rounds: [Vec<Round>; 5] = Default::default();
        for r in 0..plan.rounds {
            rounds[0].push(round(&bare_client, &plan).await);
            rounds[1].push(round(&query_client, &plan).await);
            rounds[4].push(round(&handle_client, &plan).await);
            rounds[2].push(round(&deadpool_client, &plan).await);
            rounds[3].push(round(&exclusive_client, &plan).await);
            eprintln!(
                "  round {} of {}: GET/s {:.0} / {:.0} / {:.0} / {:.0} / {:.0}",
                r + 1,
                plan.rounds,
                rounds[0][r].ops_per_sec,
                rounds[1][r].ops_per_sec,
                rounds[2][r].ops_per_sec,
                rounds[3][r].ops_per_sec,
                rounds[4][r].ops_per_sec,
            );
        }
        let figures: Vec<Figures> = names
            .iter()
            .zip(rounds)
            .map(|(name, rounds)| Figures {
                name,
                ops_per_sec: median_of(rounds.iter().map(|r| r.ops_per_sec).collect()),
                cpu: median_of(rounds.iter().map(|r| r.cpu).collect()),
                median: median_of(rounds.iter().map(|r| r.median).collect()),
                p99: median_of(rounds.iter().map(|r| r.p99).collect()),
            })
            .collect();

        let idle = redkeep::Pool::connect(redkeep::Config::from_url(url.as_str()))
            .await
            .expect("idle pool");
        let redkeep_checkout = checkout_cost(&plan, || async {
            drop(idle.get().await.expect("checkout"));
        })
        .await;
        let deadpool_checkout = checkout_cost(&plan, || async {
            drop(deadpool.get().await.expect("checkout"));
        })
        .await;

        let (a, c) = (&figures[0], &figures[2]);
        println!();
        println!(
            "| client | GET/s, {TASKS} tasks | vs (a) | vs (c) | client CPU µs/GET | sequential median µs | p99 µs | median vs (a) |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for f in &figures {
            println!(
                "| {} | {:.0} | {:.2}× | {:.2}× | {:.2} | {} | {} | {:+.1}% |",
                f.name,
                f.ops_per_sec,
                f.ops_per_sec / a.ops_per_sec,
                f.ops_per_sec / c.ops_per_sec,
                f.cpu.as_secs_f64() * 1e6,
                micros(f.median),
                micros(f.p99),
                (f.median.as_secs_f64() / a.median.as_secs_f64() - 1.0) * 100.0,
            );
        }
        println!();
        println!("| checkout + return, idle pool | median |");
        println!("|---|---:|");
        println!(
            "| redkeep get() | {} ns |",
            redkeep_checkout.as_nanos()
        );
        println!(
            "| deadpool-redis get() (PINGs on recycle) | {} ns |",
            deadpool_checkout.as_nanos()
        );
        println!();
        println!(
            "targets: query() ≥ 0.9× (a) throughput: {:.2}×; sequential median within 10% of (a): {:+.1}%; \
             get() ≥ 2× (c): {:.2}×; checkout+return ≤ 1 µs: {} ns",
            figures[1].ops_per_sec / a.ops_per_sec,
            (figures[1].median.as_secs_f64() / a.median.as_secs_f64() - 1.0) * 100.0,
            figures[3].ops_per_sec / c.ops_per_sec,
            redkeep_checkout.as_nanos(),
        );
        let (b, e) = (&figures[1], &figures[4]);
        println!(
            "handle().get ≥ 0.95× query(): throughput {:.2}×, sequential median {:.2}× (same run, \
             interleaved rounds)",
            e.ops_per_sec / b.ops_per_sec,
            b.median.as_secs_f64() / e.median.as_secs_f64(),
        );
        pool.close().await;
        idle.close().await;
    });
    eprintln!("bench took {:.1?}", started.elapsed());
}
