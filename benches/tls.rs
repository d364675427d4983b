//! TLS: redkeep's `query()` against bare redis-rs over TLS, in the same
//! run, against one local TLS-only server (`TestServer::start_tls`, a
//! throwaway CA), both trusting that CA.
//!
//! Measures GET throughput with 50 concurrent tasks and sequential GET
//! latency (median), the two clients in turns for several rounds (so that
//! load from elsewhere on the machine hits both alike), each figure the
//! median of its rounds; prints a markdown table and the ratio.
//! `REDKEEP_BENCH_QUICK=1` runs fewer, shorter rounds.
//!
//! ```text
//! cargo bench --features tls --bench tls
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redkeep::redis::{self, AsyncCommands};

const KEY: &str = "bench:tls";
const TASKS: usize = 50;

struct Plan {
    rounds: usize,
    throughput_for: Duration,
    sequential: usize,
}

impl Plan {
    fn from_env() -> Self {
        if std::env::var("REDKEEP_BENCH_QUICK").as_deref() == Ok("1") {
            Plan {
                rounds: 3,
                throughput_for: Duration::from_millis(500),
                sequential: 1_000,
            }
        } else {
            Plan {
                rounds: 7,
                throughput_for: Duration::from_secs(1),
                sequential: 3_000,
            }
        }
    }
}

/// One GET, as each client does it.
#[derive(Clone)]
enum Client {
    Bare(redis::aio::MultiplexedConnection),
    Query(redkeep::Pool),
}

impl Client {
    async fn get(&self, cmd: &redis::Cmd) {
        let v: Vec<u8> = match self {
            Client::Bare(conn) => cmd.query_async(&mut conn.clone()).await.expect("GET"),
            Client::Query(pool) => pool.query(cmd).await.expect("GET"),
        };
        assert!(!v.is_empty());
    }
}

async fn throughput(client: &Client, cmd: &redis::Cmd, length: Duration) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (client, cmd, stop, count) =
                (client.clone(), cmd.clone(), stop.clone(), count.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    client.get(&cmd).await;
                    n += 1;
                }
                count.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    let started = Instant::now();
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("task");
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn median_latency(client: &Client, cmd: &redis::Cmd, n: usize) -> Duration {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        client.get(cmd).await;
        samples.push(started.elapsed());
    }
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn median<T: PartialOrd + Copy>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    values[values.len() / 2]
}

fn main() {
    let plan = Plan::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let server = redkeep::testing::TestServer::start_tls();
    let url = server.url();
    let ca_path = server.ca_cert_path().expect("a TLS server has a CA");
    let ca = std::fs::read(ca_path).expect("read the CA");
    let started = Instant::now();
    runtime.block_on(async {
        let mut get = redis::cmd("GET");
        get.arg(KEY);

        // redkeep first: connecting selects the crate's rustls crypto
        // provider for the process, which bare redis-rs then uses too.
        let pool = redkeep::Pool::connect(server.pool_config())
            .await
            .expect("redkeep pool over TLS");
        let certs = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(ca),
        };
        let client = redis::Client::build_with_tls(url.as_str(), certs).expect("TLS client");
        let mut bare = client
            .get_multiplexed_async_connection()
            .await
            .expect("bare redis-rs over TLS");
        let _: () = bare.set(KEY, "x".repeat(100)).await.expect("SET");

        let clients = [Client::Bare(bare), Client::Query(pool.clone())];
        let names = ["(a) redis-rs MultiplexedConnection, TLS", "(b) redkeep query(), TLS"];
        let mut ops: [Vec<f64>; 2] = Default::default();
        let mut lat: [Vec<Duration>; 2] = Default::default();
        eprintln!(
            "measuring against a TLS redis-server on port {:?}",
            server.port()
        );
        for c in &clients {
            throughput(c, &get, Duration::from_millis(200)).await; // warm-up
            median_latency(c, &get, plan.sequential / 10).await;
        }
        for r in 0..plan.rounds {
            // Alternate which client goes first, so neither always follows
            // the other's burst.
            let order = if r % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                ops[i].push(throughput(&clients[i], &get, plan.throughput_for).await);
                lat[i].push(median_latency(&clients[i], &get, plan.sequential).await);
            }
            eprintln!(
                "  round {} of {}: GET/s {:.0} / {:.0}",
                r + 1,
                plan.rounds,
                ops[0][r],
                ops[1][r]
            );
        }
        let ops: Vec<f64> = ops.into_iter().map(median).collect();
        let lat: Vec<Duration> = lat.into_iter().map(median).collect();
        println!();
        println!("| client | GET/s, {TASKS} tasks | vs (a) | sequential median µs | median vs (a) |");
        println!("|---|---:|---:|---:|---:|");
        for i in 0..2 {
            println!(
                "| {} | {:.0} | {:.2}× | {:.1} | {:+.1}% |",
                names[i],
                ops[i],
                ops[i] / ops[0],
                lat[i].as_secs_f64() * 1e6,
                (lat[i].as_secs_f64() / lat[0].as_secs_f64() - 1.0) * 100.0,
            );
        }
        println!();
        println!(
            "target: TLS query() ≥ 0.9× bare redis-rs over TLS: {:.2}× throughput, {:+.1}% sequential median",
            ops[1] / ops[0],
            (lat[1].as_secs_f64() / lat[0].as_secs_f64() - 1.0) * 100.0,
        );
        pool.close().await;
    });
    eprintln!("bench took {:.1?}", started.elapsed());
}
