//! Prometheus text exposition (format 0.0.4) of [`Metrics`].

use std::fmt::Write;

use super::histogram::{HistogramSnapshot, BUCKETS};
use super::Metrics;
use crate::health::State;

/// Renders the metrics of one or more pools as Prometheus text (format
/// 0.0.4, `text/plain; version=0.0.4`): one `# HELP`/`# TYPE` block per
/// family, one series per pool, labelled `pool="<redacted address>"`.
///
/// ```no_run
/// # async fn demo(pool: redkeep::Pool) {
/// let text = redkeep::metrics::render(&[pool.metrics()]);
/// assert!(text.contains("db_client_connection_count{pool="));
/// # }
/// ```
pub fn render(pools: &[Metrics]) -> String {
    let mut out = String::with_capacity(4096 * pools.len().max(1));
    let w = &mut out;
    family(
        w,
        "db_client_connection_count",
        "gauge",
        "Connections open now, by state (idle or used; shared multiplexed connections are used).",
    );
    for m in pools {
        sample(
            w,
            "db_client_connection_count",
            &m.pool,
            &[("state", "idle")],
            m.idle as f64,
        );
        sample(
            w,
            "db_client_connection_count",
            &m.pool,
            &[("state", "used")],
            m.used as f64,
        );
    }
    gauge(
        w,
        pools,
        "db_client_connection_idle_min",
        "The minimum number of idle connections kept open (pool.min_idle).",
        |m| m.idle_min as f64,
    );
    gauge(
        w,
        pools,
        "db_client_connection_max",
        "The most connections the pool may hold.",
        |m| m.max as f64,
    );
    gauge(
        w,
        pools,
        "db_client_connection_pending_requests",
        "Callers waiting for a connection now.",
        |m| m.pending_requests as f64,
    );
    counter(
        w,
        pools,
        "db_client_connection_timeouts_total",
        "Checkouts that ran out of timeouts.wait.",
        |m| m.timeouts,
    );
    histogram(
        w,
        pools,
        "db_client_connection_create_time_seconds",
        "Time successful connects took (handshake and first PING).",
        |m| &m.create_time,
    );
    histogram(
        w,
        pools,
        "db_client_connection_wait_time_seconds",
        "Time callers waited for a connection.",
        |m| &m.wait_time,
    );
    histogram(
        w,
        pools,
        "db_client_connection_use_time_seconds",
        "Time callers held a connection (a checkout, or a shared command until its reply).",
        |m| &m.use_time,
    );

    family(w, "redkeep_health_state", "gauge",
        "The pool's health state: 1 for the current one (up, degraded, down, closed), 0 for the others.");
    for m in pools {
        for state in [State::Up, State::Degraded, State::Down, State::Closed] {
            let label = state.to_string();
            let value = if m.state == state { 1.0 } else { 0.0 };
            sample(
                w,
                "redkeep_health_state",
                &m.pool,
                &[("state", &label)],
                value,
            );
        }
    }
    gauge(
        w,
        pools,
        "redkeep_health_since_seconds",
        "Seconds since the pool entered its current health state.",
        |m| m.health.since.elapsed().as_secs_f64(),
    );
    histogram(
        w,
        pools,
        "redkeep_probe_rtt_seconds",
        "Round trips of successful health probes.",
        |m| &m.probe_rtt,
    );
    counter(
        w,
        pools,
        "redkeep_checkouts_total",
        "Successful checkouts of an exclusive connection.",
        |m| m.stats.checkouts,
    );
    counter(
        w,
        pools,
        "redkeep_fast_fails_total",
        "Calls refused with Unavailable, without I/O, because the pool was down.",
        |m| m.stats.fast_fails,
    );
    counter(
        w,
        pools,
        "redkeep_connects_total",
        "Connections opened successfully.",
        |m| m.stats.connects,
    );
    counter(
        w,
        pools,
        "redkeep_connect_failures_total",
        "Connection attempts that failed.",
        |m| m.stats.connect_failures,
    );
    counter(
        w,
        pools,
        "redkeep_reconnects_total",
        "Reconnect attempts by the health watch while down.",
        |m| m.stats.reconnects,
    );
    counter(w, pools, "redkeep_evictions_total", "Connections dropped: broken, out of step, idle when Redis went down, or from before an outage.", |m| m.stats.evicted);
    counter(
        w,
        pools,
        "redkeep_probes_total",
        "Health probes sent.",
        |m| m.stats.probes,
    );
    counter(
        w,
        pools,
        "redkeep_probe_failures_total",
        "Health probes that failed.",
        |m| m.stats.probe_failures,
    );
    let owners: Vec<&Metrics> = pools
        .iter()
        .filter(|m| m.server_restarts.is_some())
        .collect();
    if !owners.is_empty() {
        family(
            w,
            "redkeep_server_restarts_total",
            "counter",
            "Restarts of the supervised local redis-server.",
        );
        for m in owners {
            let n = m.server_restarts.unwrap_or(0);
            sample(w, "redkeep_server_restarts_total", &m.pool, &[], n as f64);
        }
    }
    out
}

fn family(w: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(w, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(w, "# TYPE {name} {kind}");
}

fn gauge(
    w: &mut String,
    pools: &[Metrics],
    name: &str,
    help: &str,
    value: impl Fn(&Metrics) -> f64,
) {
    family(w, name, "gauge", help);
    for m in pools {
        sample(w, name, &m.pool, &[], value(m));
    }
}

fn counter(
    w: &mut String,
    pools: &[Metrics],
    name: &str,
    help: &str,
    value: impl Fn(&Metrics) -> u64,
) {
    family(w, name, "counter", help);
    for m in pools {
        sample(w, name, &m.pool, &[], value(m) as f64);
    }
}

fn histogram(
    w: &mut String,
    pools: &[Metrics],
    name: &str,
    help: &str,
    pick: impl Fn(&Metrics) -> &HistogramSnapshot,
) {
    family(w, name, "histogram", help);
    let bucket = format!("{name}_bucket");
    for m in pools {
        let h = pick(m);
        let cumulative = h.cumulative();
        for (bound, count) in BUCKETS.iter().zip(cumulative) {
            let le = format_float(*bound);
            sample(w, &bucket, &m.pool, &[("le", &le)], count as f64);
        }
        let total = cumulative[BUCKETS.len()];
        sample(w, &bucket, &m.pool, &[("le", "+Inf")], total as f64);
        sample(w, &format!("{name}_sum"), &m.pool, &[], h.sum.as_secs_f64());
        sample(w, &format!("{name}_count"), &m.pool, &[], total as f64);
    }
}

fn sample(w: &mut String, name: &str, pool: &str, labels: &[(&str, &str)], value: f64) {
    w.push_str(name);
    w.push_str("{pool=\"");
    escape_label(w, pool);
    w.push('"');
    for (k, v) in labels {
        w.push(',');
        w.push_str(k);
        w.push_str("=\"");
        escape_label(w, v);
        w.push('"');
    }
    w.push_str("} ");
    w.push_str(&format_float(value));
    w.push('\n');
}

/// A sample value or `le` bound: integers without a fraction, others in
/// the shortest form that reads back the same.
fn format_float(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v.is_nan() {
        return "NaN".into();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Label values escape `\`, `"` and newlines.
fn escape_label(w: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => w.push_str("\\\\"),
            '"' => w.push_str("\\\""),
            '\n' => w.push_str("\\n"),
            c => w.push(c),
        }
    }
}

/// Help text escapes `\` and newlines.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        let mut s = String::new();
        escape_label(&mut s, "a\"b\\c\nd");
        assert_eq!(s, "a\\\"b\\\\c\\nd");
        assert_eq!(format_float(3.0), "3");
        assert_eq!(format_float(0.00025), "0.00025");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
    }
}
