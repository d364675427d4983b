//! Cluster throughput: `Pool::query` on a Cluster pool against a bare
//! redis-rs cluster-async connection, same local 3-primary cluster, same
//! run, in turns (interleaved rounds, medians).
//!
//! 50 concurrent tasks each run `GET` on keys spread over every slot.
//! `REDKEEP_BENCH_QUICK=1` runs fewer rounds.
//!
//! ```text
//! cargo bench --bench cluster
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redkeep::redis;

const TASKS: usize = 50;
const KEYS: usize = 64;

async fn measure<F, Fut>(run: F, for_: Duration) -> f64
where
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (run, stop, count) = (run.clone(), stop.clone(), count.clone());
            tokio::spawn(async move {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    run(format!("bench:{}", i % KEYS)).await;
                    count.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    let started = Instant::now();
    tokio::time::sleep(for_).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::var("REDKEEP_BENCH_QUICK").as_deref() == Ok("1");
    let (rounds, for_) = if quick {
        (3, Duration::from_millis(700))
    } else {
        (7, Duration::from_secs(1))
    };
    let group = support::multi::ClusterGroup::start(3, 0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = redkeep::Pool::connect(redkeep::Config::cluster(group.urls()))
            .await
            .expect("cluster pool");
        let bare = redis::cluster::ClusterClient::new(group.urls())
            .unwrap()
            .get_async_connection()
            .await
            .expect("bare cluster connection");
        // The same redis-rs connection with the settings redkeep gives it
        // (one overall reply timeout, no retries of its own): what the
        // timeout costs.
        let bounded = redis::cluster::ClusterClientBuilder::new(group.urls())
            .retries(0)
            .connection_timeout(Duration::from_secs(1))
            .overall_response_timeout(Some(Duration::from_secs(2)))
            .build()
            .unwrap()
            .get_async_connection()
            .await
            .expect("bounded cluster connection");
        for i in 0..KEYS {
            let () = pool
                .query(redis::cmd("SET").arg(format!("bench:{i}")).arg("v"))
                .await
                .unwrap();
        }
        let (mut ours, mut theirs, mut same) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let p = pool.clone();
            ours.push(
                measure(
                    move |k| {
                        let p = p.clone();
                        async move {
                            let _: Option<String> =
                                p.query(redis::cmd("GET").arg(k)).await.unwrap();
                        }
                    },
                    for_,
                )
                .await,
            );
            let b = bare.clone();
            theirs.push(
                measure(
                    move |k| {
                        let mut b = b.clone();
                        async move {
                            let _: Option<String> =
                                redis::cmd("GET").arg(k).query_async(&mut b).await.unwrap();
                        }
                    },
                    for_,
                )
                .await,
            );
            let b = bounded.clone();
            same.push(
                measure(
                    move |k| {
                        let mut b = b.clone();
                        async move {
                            let _: Option<String> =
                                redis::cmd("GET").arg(k).query_async(&mut b).await.unwrap();
                        }
                    },
                    for_,
                )
                .await,
            );
        }
        let (o, t, b) = (median(ours), median(theirs), median(same));
        println!("| client (3-primary cluster, {TASKS} tasks, GET) | ops/s (median of {rounds}) |");
        println!("|---|---|");
        println!("| redkeep Pool::query | {o:.0} |");
        println!("| bare redis-rs cluster-async | {t:.0} |");
        println!(
            "| bare redis-rs, redkeep's settings (overall reply timeout, retries 0) | {b:.0} |"
        );
        println!(
            "ratio redkeep / bare: {:.2}; redkeep / same settings: {:.2}",
            o / t,
            o / b
        );
        pool.close().await;
    });
}
