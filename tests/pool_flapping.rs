//! Under a steady latency above `health.timeout`, the pool goes Down and
//! stays Down: a reconnect counts as recovered only after a `PING` answered
//! within `health.timeout`, so there is no Down → Up → Down flapping. Once
//! the latency is gone, the pool is Up again.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, Config, Pool, State};
use support::{first_probe, wait_for_state, within, Proxy, RedisServer};

const DELAY: Duration = Duration::from_millis(300);
const WINDOW: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_latency_above_the_probe_timeout_keeps_the_pool_down_without_flapping() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    // Default health settings: every 500 ms, 250 ms timeout, Down after 2.
    let cfg = Config::from_url(proxy.url());
    let health = cfg.health.clone();
    assert!(
        DELAY > health.timeout,
        "the test needs a delay above the probe timeout"
    );
    let bound = health.interval + health.timeout * health.failures_before_down;
    let pool = within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .unwrap();
    first_probe(&pool).await;

    // Every state the watch publishes, with when and the generation.
    let mut rx = pool.watch();
    let started = Instant::now();
    proxy.set_reply_delay(DELAY);
    let recorder = tokio::spawn(async move {
        let mut seen = Vec::new();
        while started.elapsed() < WINDOW {
            let left = WINDOW.saturating_sub(started.elapsed());
            match tokio::time::timeout(left, rx.changed()).await {
                Ok(Ok(())) => {
                    let h = rx.borrow_and_update().clone();
                    seen.push((started.elapsed(), h.state, h.generation, h.last_error));
                }
                Ok(Err(_)) => break,
                Err(_) => break,
            }
        }
        seen
    });
    let seen = within(WINDOW + Duration::from_secs(2), "the recorder", recorder)
        .await
        .unwrap();
    println!("reply delay {DELAY:?}, default health settings, transitions over {WINDOW:?}:");
    for (at, state, generation, last_error) in &seen {
        println!("  {at:>12.3?}  {state:<8}  generation {generation}  {last_error:?}");
    }
    let final_state = pool.health();
    println!(
        "  at the end: {} (generation {}), {} probes, {} probe failures, {} reconnects",
        final_state.state,
        final_state.generation,
        pool.stats().probes,
        pool.stats().probe_failures,
        pool.stats().reconnects
    );

    let first_down = seen
        .iter()
        .position(|(_, state, ..)| *state == State::Down)
        .expect("the pool never went Down under a steady latency above health.timeout");
    let down_at = seen[first_down].0;
    println!("  Down after {down_at:?} (bound {bound:?} + 300ms slack)");
    assert!(
        down_at <= bound + Duration::from_millis(300),
        "Down after {down_at:?}, bound {bound:?}"
    );
    let left_down: Vec<_> = seen[first_down..]
        .iter()
        .filter(|(_, state, ..)| *state != State::Down)
        .collect();
    assert!(
        left_down.is_empty(),
        "the pool left Down under the same latency (flapping): {left_down:?}"
    );
    // A second Down is a new generation, even if the watch coalesced the
    // Up in between.
    let down_generation = seen[first_down].2;
    assert_eq!(
        final_state.generation, down_generation,
        "the pool went Down again (generation {down_generation} -> {})",
        final_state.generation
    );
    assert_eq!(
        final_state.state,
        State::Down,
        "Down at the end of the window"
    );

    proxy.set_reply_delay(Duration::ZERO);
    let mut rx = pool.watch();
    let took = wait_for_state(&mut rx, State::Up, Duration::from_secs(6)).await;
    println!("  Up {took:?} after the delay was removed");
    let pong: String = within(
        Duration::from_secs(2),
        "PING after recovery",
        pool.query(&redis::cmd("PING")),
    )
    .await
    .unwrap();
    assert_eq!(pong, "PONG");
}
