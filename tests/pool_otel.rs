//! The `otel` feature against the real OpenTelemetry SDK: a pool
//! registered on an `SdkMeterProvider` exports the `db.client.connection.*`
//! instruments and redkeep's own, labelled with the pool's redacted name,
//! and the figures follow real traffic on a real server.

#[cfg(target_os = "linux")]
mod server_support;
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use opentelemetry::metrics::MeterProvider;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use redkeep::redis;
use support::{first_probe, RedisServer};

/// One exported point: its attributes and its value (a histogram's count).
#[derive(Debug)]
struct Point {
    attrs: BTreeMap<String, String>,
    value: f64,
}

fn attrs<'a>(kvs: impl Iterator<Item = &'a KeyValue>) -> BTreeMap<String, String> {
    kvs.map(|kv| (kv.key.to_string(), kv.value.to_string()))
        .collect()
}

/// Every point of the last collection, by instrument name.
fn collect(
    provider: &SdkMeterProvider,
    exporter: &InMemoryMetricExporter,
) -> BTreeMap<String, Vec<Point>> {
    exporter.reset();
    provider.force_flush().expect("flush");
    let mut out: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for resource in exporter.get_finished_metrics().expect("metrics") {
        for scope in resource.scope_metrics() {
            for metric in scope.metrics() {
                let points = out.entry(metric.name().to_owned()).or_default();
                match metric.data() {
                    AggregatedMetrics::U64(MetricData::Gauge(g)) => {
                        points.extend(g.data_points().map(|p| Point {
                            attrs: attrs(p.attributes()),
                            value: p.value() as f64,
                        }))
                    }
                    AggregatedMetrics::U64(MetricData::Sum(s)) => {
                        points.extend(s.data_points().map(|p| Point {
                            attrs: attrs(p.attributes()),
                            value: p.value() as f64,
                        }))
                    }
                    AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                        points.extend(h.data_points().map(|p| Point {
                            attrs: attrs(p.attributes()),
                            value: p.count() as f64,
                        }))
                    }
                    other => panic!("{}: unexpected data {other:?}", metric.name()),
                }
            }
        }
    }
    out
}

/// The one point of `name` for `pool` whose attributes include `extra`.
fn value(
    all: &BTreeMap<String, Vec<Point>>,
    name: &str,
    pool: &str,
    extra: &[(&str, &str)],
) -> f64 {
    let points = all
        .get(name)
        .unwrap_or_else(|| panic!("{name} not exported: {:?}", all.keys()));
    let matching: Vec<&Point> = points
        .iter()
        .filter(|p| {
            p.attrs
                .get("db.client.connection.pool.name")
                .map(String::as_str)
                == Some(pool)
        })
        .filter(|p| {
            extra
                .iter()
                .all(|(k, v)| p.attrs.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(matching.len(), 1, "{name} {extra:?}: {points:?}");
    matching[0].value
}

/// An SDK meter provider exporting to memory, with `pool` registered on it.
fn registered(pool: &redkeep::Pool) -> (SdkMeterProvider, InMemoryMetricExporter) {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    assert!(redkeep::metrics::register(
        &provider.meter("redkeep-test"),
        pool
    ));
    (provider, exporter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_pool_exports_through_the_sdk_and_follows_traffic() {
    let server = RedisServer::with_password("otel-s3cret");
    let mut cfg = support::fast_config(server.url());
    cfg.timeouts.command = Duration::from_secs(5);
    let pool = redkeep::Pool::connect(cfg).await.expect("connect");
    first_probe(&pool).await;

    let (provider, exporter) = registered(&pool);
    let name = pool.name().to_owned();
    assert!(!name.contains("otel-s3cret"), "{name}");

    for i in 0..40 {
        let _: () = pool
            .query(redis::cmd("SET").arg("otel:k").arg(i))
            .await
            .expect("SET");
    }
    {
        let mut conn = pool.get().await.expect("checkout");
        let _: () = redis::cmd("PING")
            .query_async(&mut *conn)
            .await
            .expect("PING");
    }
    let first = collect(&provider, &exporter);
    let uses = value(&first, "db.client.connection.use_time", &name, &[]);
    assert!(uses >= 41.0, "40 shared commands and one checkout: {uses}");
    assert!(value(&first, "db.client.connection.wait_time", &name, &[]) >= 41.0);
    assert!(value(&first, "db.client.connection.create_time", &name, &[]) >= 1.0);
    assert_eq!(value(&first, "redkeep.checkouts", &name, &[]), 1.0);
    assert_eq!(
        value(
            &first,
            "redkeep.health.state",
            &name,
            &[("redkeep.state", "up")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &first,
            "redkeep.health.state",
            &name,
            &[("redkeep.state", "down")]
        ),
        0.0
    );
    assert!(
        value(
            &first,
            "db.client.connection.count",
            &name,
            &[("db.client.connection.state", "used")]
        ) >= 1.0
    );
    assert!(value(&first, "db.client.connection.max", &name, &[]) >= 1.0);
    assert!(value(&first, "redkeep.connects", &name, &[]) >= 1.0);
    assert!(
        !first.contains_key("redkeep.server.restarts"),
        "a pool attached to a server reports no restarts"
    );

    for i in 0..10 {
        let _: Option<String> = pool
            .query(redis::cmd("GET").arg(format!("otel:{i}")))
            .await
            .expect("GET");
    }
    let second = collect(&provider, &exporter);
    let more = value(&second, "db.client.connection.use_time", &name, &[]);
    assert!(
        more >= uses + 10.0,
        "cumulative use_time grew by the 10 GETs: {uses} -> {more}"
    );

    provider.shutdown().expect("shutdown");
    pool.close().await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_that_owns_its_server_exports_its_restarts() {
    use support::{free_port, within};
    let port = free_port();
    let cfg = support::fast_config(format!("redis://127.0.0.1:{port}"))
        .spawn_if_absent()
        .expect("a redis:// URL can spawn");
    let pool = within(
        Duration::from_secs(15),
        "connect with spawn",
        redkeep::Pool::connect(cfg),
    )
    .await
    .expect("spawned and connected");
    let (provider, exporter) = registered(&pool);
    let name = pool.name().to_owned();
    assert_eq!(
        value(
            &collect(&provider, &exporter),
            "redkeep.server.restarts",
            &name,
            &[]
        ),
        0.0
    );

    let pid = pool
        .server()
        .and_then(|s| s.pid())
        .expect("a spawned server's pid");
    server_support::signal(pid, "KILL");
    within(Duration::from_secs(10), "a restarted server", async {
        while pool.server().and_then(|s| s.pid()).is_none_or(|p| p == pid) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let restarts = value(
        &collect(&provider, &exporter),
        "redkeep.server.restarts",
        &name,
        &[],
    );
    assert_eq!(restarts, 1.0);

    provider.shutdown().expect("shutdown");
    pool.close().await;
}
