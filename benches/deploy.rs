//! Ready time of the local test deployments: `TestCluster::start(3, 1)`
//! and `TestSentinel::start(2, 3)`, interleaved, median of 5 each (and the
//! spread). `cargo bench --bench deploy` prints a table.

use std::time::{Duration, Instant};

use redkeep::testing::{TestCluster, TestSentinel};

const ROUNDS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn show(name: &str, target: Duration, v: Vec<Duration>) {
    let (min, max) = (*v.iter().min().unwrap(), *v.iter().max().unwrap());
    let med = median(v);
    let ms = |d: Duration| d.as_millis();
    println!(
        "{name:<28} median {:>5} ms  min {:>5} ms  max {:>5} ms  target ≤ {} ms{}",
        ms(med),
        ms(min),
        ms(max),
        ms(target),
        if med <= target { "" } else { "  (over)" }
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not run this.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let (mut cluster, mut sentinel) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let c = TestCluster::start(3, 1);
        cluster.push(t.elapsed());
        drop(c);
        let t = Instant::now();
        let s = TestSentinel::start(2, 3);
        sentinel.push(t.elapsed());
        drop(s);
    }
    println!("ready time, {ROUNDS} rounds interleaved:");
    show(
        "TestCluster::start(3, 1)",
        Duration::from_millis(2600),
        cluster,
    );
    show(
        "TestSentinel::start(2, 3)",
        Duration::from_millis(2500),
        sentinel,
    );
}
