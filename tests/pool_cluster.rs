//! A pool on a Redis Cluster: the fast path routes by slot through one
//! shared cluster connection, exclusive connections go to the slot's
//! primary, and a dead primary's slots fail fast (`Unavailable`) while the
//! other slots go on — with or without a replica to take over.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, ErrorKind, Pool, State};
use support::multi::ClusterGroup;
use support::{percentile, within};

fn config(group: &ClusterGroup) -> redkeep::Config {
    let mut cfg = redkeep::Config::cluster(group.urls());
    cfg.timeouts.connect = Duration::from_millis(500);
    cfg.timeouts.command = Duration::from_millis(500);
    cfg.health.interval = Duration::from_millis(200);
    cfg.health.timeout = Duration::from_millis(200);
    cfg
}

async fn start(masters: usize, replicas: usize) -> (ClusterGroup, Pool) {
    let group = tokio::task::spawn_blocking(move || ClusterGroup::start(masters, replicas))
        .await
        .unwrap();
    let pool = within(
        Duration::from_secs(5),
        "connect",
        Pool::connect(config(&group)),
    )
    .await
    .expect("connect to the cluster");
    (group, pool)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_pool_routes_every_path_and_says_why_cross_slot_fails() {
    let (group, pool) = start(3, 1).await;
    // The replicas appear in the slot map once they have synced.
    let mut rx = pool.watch();
    within(Duration::from_secs(10), "every node in the health", async {
        rx.wait_for(|h| h.nodes.len() == 6 && h.state == State::Up)
            .await
            .unwrap();
    })
    .await;
    let health = pool.health();
    assert_eq!(health.nodes.len(), 6, "{:?}", health.nodes);
    assert_eq!(health.nodes.iter().filter(|n| n.primary).count(), 3);
    for i in 0..3 {
        let key = group.key_on(i);
        let () = pool
            .query(redis::cmd("SET").arg(&key).arg(i))
            .await
            .unwrap();
        let v: usize = pool.query(redis::cmd("GET").arg(&key)).await.unwrap();
        assert_eq!(v, i);
    }
    // Cross-slot: the error says what to do.
    let (a, b) = (group.key_on(0), group.key_on(1));
    let e = pool
        .query::<()>(redis::cmd("MSETNX").arg(&a).arg(1).arg(&b).arg(2))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Response, "{e}");
    assert!(e.to_string().contains("hash tag"), "{e}");
    // A transaction on the slot's primary.
    let mut conn = pool.get_for_key("{t}a").await.unwrap();
    let (x, y): (i64, i64) = redis::pipe()
        .atomic()
        .incr("{t}a", 1)
        .incr("{t}b", 2)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!((x, y), (1, 2));
    drop(conn);
    // `get()` names the right tool.
    let e = pool.get().await.unwrap_err();
    assert!(e.to_string().contains("get_for_key"), "{e}");
    // A blocking command through query runs on the key's node.
    let () = pool
        .query(redis::cmd("RPUSH").arg("q").arg("job"))
        .await
        .unwrap();
    let got: (String, String) = pool
        .query(redis::cmd("BLPOP").arg("q").arg(1))
        .await
        .unwrap();
    assert_eq!(got.1, "job");
    // The calling-thread path falls back to the runtime.
    let p = pool.clone();
    let v: Option<String> = tokio::task::spawn_blocking(move || {
        p.query_blocking(redis::cmd("GET").arg("{t}nothing"), None)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(v, None);
    // A pipeline on one slot.
    let (n,): (i64,) = pool
        .query_pipeline(redis::pipe().incr("{t}c", 5))
        .await
        .unwrap();
    assert_eq!(n, 5);
    pool.close().await;
}

/// Kills master 1; returns (fail-fast p99, other-slot p99) while it is down.
async fn dead_master_phase(group: &mut ClusterGroup, pool: &Pool) -> (Duration, Duration) {
    let dead_key = group.key_on(1);
    let live_key = group.key_on(0);
    group.nodes[1].kill9();
    // Detected: the slot's calls fail with Unavailable.
    let detected = Instant::now();
    within(Duration::from_secs(5), "dead primary detected", async {
        loop {
            match pool
                .query::<()>(redis::cmd("SET").arg(&dead_key).arg(1))
                .await
            {
                Err(e) if e.kind() == ErrorKind::Unavailable => break,
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
    .await;
    println!(
        "cluster: dead primary detected after {:?}",
        detected.elapsed()
    );
    assert_eq!(pool.health().state, State::Degraded, "{:?}", pool.health());
    let mut fast = Vec::new();
    let mut live = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        match pool
            .query::<()>(redis::cmd("SET").arg(&dead_key).arg(1))
            .await
        {
            Err(e) if e.kind() == ErrorKind::Unavailable => fast.push(t.elapsed()),
            // The replica was promoted meanwhile.
            _ => break,
        }
        let t = Instant::now();
        let () = pool
            .query(redis::cmd("SET").arg(&live_key).arg(1))
            .await
            .expect("the other slots go on");
        live.push(t.elapsed());
    }
    assert!(
        fast.len() > 20,
        "few fast fails before the promotion: {}",
        fast.len()
    );
    (percentile(&fast, 99.0), percentile(&live, 99.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_primary_fails_fast_until_its_replica_takes_over() {
    let (mut group, pool) = start(3, 1).await;
    let dead_key = group.key_on(1);
    let (fast, live) = dead_master_phase(&mut group, &pool).await;
    println!("cluster, primary killed: fail-fast p99 {fast:?}, other slots p99 {live:?}");
    assert!(fast < Duration::from_millis(5), "fail fast p99 {fast:?}");
    // The replica is promoted; its slots serve again.
    let killed = Instant::now();
    within(
        Duration::from_secs(15),
        "writes to the promoted replica",
        async {
            while pool
                .query::<()>(redis::cmd("SET").arg(&dead_key).arg(2))
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
    )
    .await;
    println!(
        "cluster: the dead primary's slots serve again {:?} later",
        killed.elapsed()
    );
    // Serving, but that shard lost its replica.
    let h = pool.health();
    assert_ne!(h.state, State::Down, "{h:?}");
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_replica_calls_keep_failing_fast_instead_of_blocking() {
    let (mut group, pool) = start(3, 0).await;
    let (fast, live) = dead_master_phase(&mut group, &pool).await;
    println!("cluster without replicas, primary killed: fail-fast p99 {fast:?}, other slots p99 {live:?}");
    assert!(fast < Duration::from_millis(5), "fail fast p99 {fast:?}");
    // Still failing fast seconds later (no replica takes over).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t = Instant::now();
    let e = pool
        .query::<()>(redis::cmd("SET").arg(group.key_on(1)).arg(1))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(t.elapsed() < Duration::from_millis(50));
    assert!(pool.health().nodes.iter().any(|n| n.state == State::Down));
    pool.close().await;
}
