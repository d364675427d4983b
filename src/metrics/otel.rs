//! OpenTelemetry export (feature `otel`): observable instruments for the
//! counts and counters, histograms recorded as calls happen.

use std::sync::Weak;

use opentelemetry::metrics::{Histogram, Meter};
use opentelemetry::KeyValue;

use super::histogram::BUCKETS;
use super::Metrics;
use crate::health::State;
use crate::Pool;

/// The histograms of one pool, recorded by its [`Recorder`](super::Recorder).
pub(crate) struct Histograms {
    pub(crate) create_time: Histogram<f64>,
    pub(crate) wait_time: Histogram<f64>,
    pub(crate) use_time: Histogram<f64>,
    pub(crate) probe_rtt: Histogram<f64>,
    /// `db.client.connection.pool.name`.
    pub(crate) attrs: [KeyValue; 1],
}

impl std::fmt::Debug for Histograms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Histograms")
    }
}

/// Registers `pool`'s metrics on `meter`, after the OpenTelemetry
/// `db.client.connection.*` conventions (attribute
/// `db.client.connection.pool.name` = the pool's redacted address;
/// `db.client.connection.state` = `idle`/`used` on the count) plus
/// `redkeep.*` instruments: the health state (`redkeep.health.state`, 1
/// for the current `redkeep.state`), `redkeep.probe.rtt`, and the
/// counters of [`Stats`](crate::Stats) (`redkeep.reconnects`,
/// `redkeep.fast_fails`, `redkeep.evictions`, `redkeep.connects`,
/// `redkeep.connect_failures`, `redkeep.checkouts`, `redkeep.probes`,
/// `redkeep.probe_failures`), and `redkeep.server.restarts` for a pool
/// that owns its server.
///
/// Counts and counters are observable instruments read from
/// [`Pool::metrics`] at each collection; the duration histograms (seconds)
/// are recorded as connects, checkouts and calls happen, from now on. The
/// callbacks hold the pool weakly: a dropped pool reports nothing. A pool
/// is registered once; a second call returns `false` and changes nothing.
///
/// ```no_run
/// # async fn demo(pool: redkeep::Pool) {
/// let meter = opentelemetry::global::meter("my-service");
/// redkeep::metrics::register(&meter, &pool);
/// # }
/// ```
pub fn register(meter: &Meter, pool: &Pool) -> bool {
    let name = pool.name().to_owned();
    let attrs = [KeyValue::new(
        "db.client.connection.pool.name",
        name.clone(),
    )];
    let bounds = BUCKETS.to_vec();
    let histogram = |n: &'static str, d: &'static str| {
        meter
            .f64_histogram(n)
            .with_unit("s")
            .with_description(d)
            .with_boundaries(bounds.clone())
            .build()
    };
    let histograms = Histograms {
        create_time: histogram(
            "db.client.connection.create_time",
            "The time it took to create a new connection.",
        ),
        wait_time: histogram(
            "db.client.connection.wait_time",
            "The time it took to obtain an open connection from the pool.",
        ),
        use_time: histogram(
            "db.client.connection.use_time",
            "The time between borrowing a connection and returning it to the pool.",
        ),
        probe_rtt: histogram(
            "redkeep.probe.rtt",
            "Round trips of successful health probes.",
        ),
        attrs,
    };
    if !pool.recorder().set_otel(histograms) {
        return false;
    }
    let weak = std::sync::Arc::downgrade(&pool.shared);
    let pool_attr = KeyValue::new("db.client.connection.pool.name", name);

    let (w, a) = (weak.clone(), pool_attr.clone());
    meter
        .u64_observable_gauge("db.client.connection.count")
        .with_unit("{connection}")
        .with_description("The number of connections that are currently in state described by the state attribute.")
        .with_callback(move |o| {
            if let Some(m) = read(&w) {
                o.observe(m.idle, &[a.clone(), KeyValue::new("db.client.connection.state", "idle")]);
                o.observe(m.used, &[a.clone(), KeyValue::new("db.client.connection.state", "used")]);
            }
        })
        .build();
    gauge(
        meter,
        &weak,
        &pool_attr,
        "db.client.connection.idle.min",
        "{connection}",
        "The minimum number of idle open connections allowed.",
        |m| m.idle_min,
    );
    gauge(
        meter,
        &weak,
        &pool_attr,
        "db.client.connection.max",
        "{connection}",
        "The maximum number of open connections allowed.",
        |m| m.max,
    );
    gauge(
        meter,
        &weak,
        &pool_attr,
        "db.client.connection.pending_requests",
        "{request}",
        "The number of current pending requests for an open connection.",
        |m| m.pending_requests,
    );
    counter(meter, &weak, &pool_attr, "db.client.connection.timeouts", "{timeout}", "The number of connection timeouts that have occurred trying to obtain a connection from the pool.", |m| m.timeouts);

    let (w, a) = (weak.clone(), pool_attr.clone());
    meter
        .u64_observable_gauge("redkeep.health.state")
        .with_description("1 for the pool's current health state, 0 for the others.")
        .with_callback(move |o| {
            if let Some(m) = read(&w) {
                for state in [State::Up, State::Degraded, State::Down, State::Closed] {
                    let attrs = [a.clone(), KeyValue::new("redkeep.state", state.to_string())];
                    o.observe(u64::from(m.state == state), &attrs);
                }
            }
        })
        .build();
    counter(
        meter,
        &weak,
        &pool_attr,
        "redkeep.checkouts",
        "{checkout}",
        "Successful checkouts of an exclusive connection.",
        |m| m.stats.checkouts,
    );
    counter(
        meter,
        &weak,
        &pool_attr,
        "redkeep.fast_fails",
        "{call}",
        "Calls refused without I/O because the pool was down.",
        |m| m.stats.fast_fails,
    );
    counter(
        meter,
        &weak,
        &pool_attr,
        "redkeep.connects",
        "{connection}",
        "Connections opened successfully.",
        |m| m.stats.connects,
    );
    counter(
        meter,
        &weak,
        &pool_attr,
        "redkeep.connect_failures",
        "{attempt}",
        "Connection attempts that failed.",
        |m| m.stats.connect_failures,
    );
    counter(
        meter,
        &weak,
        &pool_attr,
        "redkeep.reconnects",
        "{attempt}",
        "Reconnect attempts by the health watch while down.",
        |m| m.stats.reconnects,
    );
    counter(
        meter,
        &weak,
        &pool_attr,
        "redkeep.evictions",
        "{connection}",
        "Connections dropped as broken, out of step or stale.",
        |m| m.stats.evicted,
    );
    counter(
        meter,
        &weak,
        &pool_attr,
        "redkeep.probes",
        "{probe}",
        "Health probes sent.",
        |m| m.stats.probes,
    );
    counter(
        meter,
        &weak,
        &pool_attr,
        "redkeep.probe_failures",
        "{probe}",
        "Health probes that failed.",
        |m| m.stats.probe_failures,
    );
    let (w, a) = (weak, pool_attr);
    meter
        .u64_observable_counter("redkeep.server.restarts")
        .with_unit("{restart}")
        .with_description("Restarts of the local server the pool owns (none reported for a server it attached to).")
        .with_callback(move |o| {
            if let Some(restarts) = read(&w).and_then(|m| m.server_restarts) {
                o.observe(restarts, std::slice::from_ref(&a));
            }
        })
        .build();
    true
}

fn read(pool: &Weak<crate::pool::Shared>) -> Option<Metrics> {
    pool.upgrade().map(|shared| Pool { shared }.metrics())
}

type Read = fn(&Metrics) -> u64;

#[allow(clippy::too_many_arguments)]
fn gauge(
    meter: &Meter,
    w: &Weak<crate::pool::Shared>,
    a: &KeyValue,
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    value: Read,
) {
    let (w, a) = (w.clone(), a.clone());
    meter
        .u64_observable_gauge(name)
        .with_unit(unit)
        .with_description(description)
        .with_callback(move |o| {
            if let Some(m) = read(&w) {
                o.observe(value(&m), std::slice::from_ref(&a));
            }
        })
        .build();
}

#[allow(clippy::too_many_arguments)]
fn counter(
    meter: &Meter,
    w: &Weak<crate::pool::Shared>,
    a: &KeyValue,
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    value: Read,
) {
    let (w, a) = (w.clone(), a.clone());
    meter
        .u64_observable_counter(name)
        .with_unit(unit)
        .with_description(description)
        .with_callback(move |o| {
            if let Some(m) = read(&w) {
                o.observe(value(&m), std::slice::from_ref(&a));
            }
        })
        .build();
}

#[cfg(test)]
mod tests {
    use crate::Pool;

    #[tokio::test]
    async fn a_pool_registers_once() {
        let mut cfg = crate::Config::from_url("redis://127.0.0.1:1");
        cfg.timeouts.connect = std::time::Duration::from_millis(50);
        let pool = Pool::new(cfg).expect("a lazy pool");
        let meter = opentelemetry::global::meter("redkeep-test");
        assert!(super::register(&meter, &pool));
        assert!(
            !super::register(&meter, &pool),
            "a second registration changes nothing"
        );
        pool.close().await;
    }
}
