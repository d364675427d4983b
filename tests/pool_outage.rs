//! Redis dies and comes back: Down is seen without traffic, calls fail fast
//! while Down, Up returns within one backoff step, and nothing from before the
//! outage is handed out again.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, ErrorKind, Pool, State};
use support::{fast_config, wait_for_state, within, Mode, Proxy, RedisServer};

/// Room for a noisy 2-core machine on top of every computed budget.
const MARGIN: Duration = Duration::from_millis(500);

async fn connect(cfg: redkeep::Config) -> Pool {
    within(Duration::from_secs(5), "Pool::connect", Pool::connect(cfg))
        .await
        .expect("connect")
}

fn probe_budget(cfg: &redkeep::Config) -> Duration {
    cfg.health.interval + cfg.health.timeout * cfg.health.failures_before_down
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_turns_the_pool_down_without_any_traffic() {
    let mut server = RedisServer::start();
    let cfg = fast_config(server.url());
    let budget = probe_budget(&cfg) + MARGIN;
    let pool = connect(cfg).await;
    {
        // Two idle exclusive connections, to be dropped when Down.
        let _a = pool.get().await.unwrap();
        let _b = pool.get().await.unwrap();
    }
    assert_eq!(pool.stats().idle, 2);
    support::first_probe(&pool).await;
    let mut rx = pool.watch();
    assert_eq!(rx.borrow_and_update().state, State::Up);
    let generation = pool.health().generation;
    let evicted = pool.stats().evicted;

    server.kill9();
    let took = wait_for_state(&mut rx, State::Down, Duration::from_secs(10)).await;

    assert!(
        took <= budget,
        "Down seen after {took:?}, budget {budget:?}"
    );
    // The two exclusive ones and the shared one are dropped and counted.
    within(Duration::from_secs(1), "idle connections dropped", async {
        while pool.stats().size > 0 || pool.stats().evicted < evicted + 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(pool.stats().evicted, evicted + 3, "{:?}", pool.stats());
    let health = pool.health();
    assert!(health.last_error.is_some(), "{health:?}");
    assert!(health.generation > generation, "{health:?}");
    assert!(pool.stats().probe_failures >= 1 || pool.stats().connect_failures >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_fail_fast_with_unavailable_while_down() {
    let mut server = RedisServer::start();
    let mut cfg = fast_config(server.url());
    // Long timeouts: a call that touched the network would show.
    cfg.timeouts.connect = Duration::from_secs(2);
    cfg.timeouts.wait = Duration::from_secs(2);
    cfg.timeouts.command = Duration::from_secs(2);
    cfg.backoff.initial = Duration::from_millis(500);
    cfg.backoff.max = Duration::from_secs(1);
    let pool = connect(cfg).await;
    let mut rx = pool.watch();
    server.kill9();
    wait_for_state(&mut rx, State::Down, Duration::from_secs(10)).await;
    let before = pool.stats().fast_fails;

    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    for i in 0..100 {
        let t = Instant::now();
        let err = within(
            Duration::from_secs(5),
            "query while down",
            pool.query::<Option<String>>(redis::cmd("GET").arg(i)),
        )
        .await
        .unwrap_err();
        slowest = slowest.max(t.elapsed());
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.is_unavailable() && err.is_retryable());
        assert!(err.to_string().contains("unavailable"), "{err}");

        let t = Instant::now();
        let err = within(Duration::from_secs(5), "get while down", pool.get())
            .await
            .unwrap_err();
        slowest = slowest.max(t.elapsed());
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");

        let t = Instant::now();
        let err = within(
            Duration::from_secs(5),
            "pipeline while down",
            pool.query_pipeline::<(i64,)>(redis::pipe().incr("n", 1)),
        )
        .await
        .unwrap_err();
        slowest = slowest.max(t.elapsed());
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    }
    let total = started.elapsed();

    assert!(
        slowest < Duration::from_millis(100),
        "a call took {slowest:?} while Down (timeouts are 2 s)"
    );
    assert!(total < Duration::from_secs(1), "300 calls took {total:?}");
    assert!(
        pool.stats().fast_fails >= before + 300,
        "{:?}",
        pool.stats()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_pool_is_up_within_one_backoff_step_and_every_command_works() {
    let mut server = RedisServer::start();
    let cfg = fast_config(server.url());
    let step = cfg.backoff.max;
    let pool = connect(cfg).await;
    let mut rx = pool.watch();

    // Some connections of both kinds exist before the outage.
    for _ in 0..3 {
        let _: String = pool.query(&redis::cmd("PING")).await.unwrap();
    }
    {
        let mut a = pool.get().await.unwrap();
        let mut b = pool.get().await.unwrap();
        let _: String = redis::cmd("PING").query_async(&mut *a).await.unwrap();
        let _: String = redis::cmd("PING").query_async(&mut *b).await.unwrap();
    }
    let generation = pool.health().generation;

    server.kill9();
    wait_for_state(&mut rx, State::Down, Duration::from_secs(10)).await;
    // Long enough for the schedule to reach its cap.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(pool.health().state, State::Down);

    tokio::task::block_in_place(|| server.restart());
    let took = wait_for_state(&mut rx, State::Up, Duration::from_secs(10)).await;
    assert!(
        took <= step + MARGIN,
        "Up {took:?} after the restart; one backoff step is {step:?}"
    );
    assert!(pool.health().generation > generation);

    // Zero failures on connections handed out after Up, both paths, with
    // traffic from many tasks at once.
    let mut tasks = Vec::new();
    for t in 0..8 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let key = format!("k{t}:{i}");
                let _: () = pool
                    .query(redis::cmd("SET").arg(&key).arg(i))
                    .await
                    .unwrap_or_else(|e| panic!("query after Up failed: {e}"));
                let mut conn = pool
                    .get()
                    .await
                    .unwrap_or_else(|e| panic!("get after Up failed: {e}"));
                let v: i64 = redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut *conn)
                    .await
                    .unwrap_or_else(|e| panic!("command on a checkout after Up failed: {e}"));
                assert_eq!(v, i);
            }
        }));
    }
    for task in tasks {
        within(Duration::from_secs(20), "traffic after Up", task)
            .await
            .unwrap();
    }
}

/// The outage is a blackhole, so connections opened before it are still
/// alive at the TCP level when it ends: only the pool's generation check
/// keeps them from being handed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_connection_from_before_the_outage_is_handed_out_after_it() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    let mut cfg = fast_config(proxy.url());
    cfg.pool.max_size = 4;
    let pool = connect(cfg).await;
    let mut rx = pool.watch();

    // Every connection opened before the outage, by its server-side id
    // (`CLIENT ID` changes no connection state, so each goes back idle).
    let shared_before: i64 = pool.query(redis::cmd("CLIENT").arg("ID")).await.unwrap();
    let mut before = std::collections::HashSet::new();
    {
        let mut held = Vec::new();
        for _ in 0..4 {
            let mut conn = pool.get().await.unwrap();
            let id: i64 = redis::cmd("CLIENT")
                .arg("ID")
                .query_async(&mut *conn)
                .await
                .unwrap();
            before.insert(id);
            held.push(conn);
        }
    }
    // One still checked out across the outage, returned after Up.
    let mut straggler = pool.get().await.unwrap();
    let straggler_id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut *straggler)
        .await
        .unwrap();
    assert!(
        before.contains(&straggler_id),
        "the straggler is one of them"
    );
    assert_eq!(pool.stats().size, 4);

    proxy.set_mode(Mode::Blackhole);
    wait_for_state(&mut rx, State::Down, Duration::from_secs(10)).await;
    proxy.set_mode(Mode::Forward);
    wait_for_state(&mut rx, State::Up, Duration::from_secs(10)).await;

    // The straggler survived at the TCP level: it still works for its holder.
    let id: i64 = within(
        Duration::from_secs(5),
        "straggler",
        redis::cmd("CLIENT").arg("ID").query_async(&mut *straggler),
    )
    .await
    .unwrap();
    assert_eq!(id, straggler_id);
    drop(straggler);

    let shared_after: i64 = pool.query(redis::cmd("CLIENT").arg("ID")).await.unwrap();
    assert_ne!(
        shared_after, shared_before,
        "a shared connection from before the outage was used"
    );
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut conn = within(Duration::from_secs(5), "checkout after Up", pool.get())
            .await
            .unwrap();
        let id: i64 = redis::cmd("CLIENT")
            .arg("ID")
            .query_async(&mut *conn)
            .await
            .unwrap();
        assert!(
            !before.contains(&id),
            "an exclusive connection from before the outage was handed out"
        );
        held.push(conn);
    }
    assert!(pool.stats().evicted >= 5, "{:?}", pool.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_pool_comes_up_when_redis_starts_later() {
    let mut server = RedisServer::start();
    server.stop();
    let pool = Pool::new(fast_config(server.url())).expect("lazy pool never fails on reachability");
    let mut rx = pool.watch();
    wait_for_state(&mut rx, State::Down, Duration::from_secs(5)).await;

    tokio::task::block_in_place(|| server.restart());
    wait_for_state(&mut rx, State::Up, Duration::from_secs(5)).await;
    let pong: String = within(
        Duration::from_secs(5),
        "PING",
        pool.query(&redis::cmd("PING")),
    )
    .await
    .unwrap();
    assert_eq!(pong, "PONG");
}
