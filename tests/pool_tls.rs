//! TLS against a real redis-server started with `--tls-port`: the `tls`
//! feature connects without panicking (it brings its own crypto provider),
//! every path works over TLS, and an untrusted certificate is a typed
//! `Connection` error within `timeouts.connect`.
#![cfg(feature = "tls")]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use redkeep::{redis, Config, ErrorKind, Pem, Pool, TlsConfig};
use support::{fast_config, free_port, within, RedisServer, ServerOptions};

/// A throwaway CA and a server certificate for 127.0.0.1, made with openssl.
fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=redkeep test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.crt",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=redkeep test client",
        "-keyout",
        "client.key",
        "-out",
        "client.csr",
    ]);
    // An extension makes it an X.509 v3 certificate, as rustls requires.
    std::fs::write(dir.join("client.cnf"), "extendedKeyUsage=clientAuth\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "client.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "client.cnf",
        "-out",
        "client.crt",
    ]);
}

/// A redis-server with plain TCP (for the harness) and TLS on `tls_port`;
/// `mutual`: clients must show a certificate signed by the test CA.
fn tls_server(dir: &Path, tls_port: u16, mutual: bool) -> RedisServer {
    let file = |name: &str| dir.join(name).display().to_string();
    RedisServer::start_with(ServerOptions {
        args: vec![
            "--tls-port".into(),
            tls_port.to_string(),
            "--tls-cert-file".into(),
            file("server.crt"),
            "--tls-key-file".into(),
            file("server.key"),
            "--tls-ca-cert-file".into(),
            file("ca.crt"),
            "--tls-auth-clients".into(),
            if mutual { "yes" } else { "no" }.into(),
        ],
        ..ServerOptions::default()
    })
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "redkeep-tls-test-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_pool_serves_every_path_without_panicking() {
    let dir = temp_dir();
    make_certs(&dir);
    let tls_port = free_port();
    let _server = tls_server(&dir, tls_port, false);
    let url = format!("rediss://127.0.0.1:{tls_port}/#insecure");
    let pool = within(
        Duration::from_secs(5),
        "TLS connect",
        Pool::connect(fast_config(url)),
    )
    .await
    .expect("a TLS pool connects");

    let _: () = pool
        .query(redis::cmd("SET").arg("k").arg("over tls"))
        .await
        .unwrap();
    let v: String = pool.query(redis::cmd("GET").arg("k")).await.unwrap();
    assert_eq!(v, "over tls");
    let popped: Option<(String, String)> = pool
        .query(redis::cmd("BLPOP").arg("q").arg(0.1))
        .await
        .unwrap();
    assert_eq!(popped, None);
    let mut conn = pool.get().await.unwrap();
    let pong: String = redis::cmd("PING").query_async(&mut *conn).await.unwrap();
    assert_eq!(pong, "PONG");
    drop(conn);
    // The calling-thread path hands TLS to the runtime.
    let p = pool.clone();
    let v: String =
        tokio::task::spawn_blocking(move || p.query_blocking(redis::cmd("GET").arg("k"), None))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(v, "over tls");
    pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_a_typed_connection_error_within_the_connect_timeout() {
    let dir = temp_dir();
    make_certs(&dir);
    let tls_port = free_port();
    let _server = tls_server(&dir, tls_port, false);
    // Verified TLS against a CA nobody trusts.
    let mut cfg = fast_config(format!("rediss://127.0.0.1:{tls_port}"));
    cfg.timeouts.connect = Duration::from_secs(1);
    let started = Instant::now();
    let err = within(Duration::from_secs(5), "TLS connect", Pool::connect(cfg))
        .await
        .expect_err("an untrusted certificate must not connect");
    let took = started.elapsed();
    println!("untrusted certificate refused after {took:?}: {err}");
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(took < Duration::from_millis(1100), "took {took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

enum Subscribe {
    Shard,
    Plain,
}

fn with_tls(url: String, tls: TlsConfig) -> Config {
    let mut cfg = fast_config(url);
    cfg.tls = Some(tls);
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_ca_verifies_the_server_and_mutual_tls_needs_the_client_certificate() {
    let dir = temp_dir();
    make_certs(&dir);
    let tls_port = free_port();
    let _server = tls_server(&dir, tls_port, true);
    let url = format!("rediss://127.0.0.1:{tls_port}");
    let ca = || Some(Pem::File(dir.join("ca.crt")));

    // The CA alone: verified, but the server wants a client certificate.
    let err = within(
        Duration::from_secs(5),
        "connect without a client certificate",
        Pool::connect(with_tls(
            url.clone(),
            TlsConfig {
                ca_cert: ca(),
                ..TlsConfig::default()
            },
        )),
    )
    .await
    .expect_err("mutual TLS refuses a client without a certificate");
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");

    // With the client certificate (its key given as PEM text).
    let key = std::fs::read_to_string(dir.join("client.key")).unwrap();
    let tls = TlsConfig {
        ca_cert: ca(),
        client_cert: Some(Pem::File(dir.join("client.crt"))),
        client_key: Some(Pem::Text(key.clone())),
        insecure: false,
    };
    let cfg = with_tls(url, tls);
    assert!(
        !format!("{cfg:?}").contains(key.trim()),
        "the key shows in Debug"
    );
    let pool = within(
        Duration::from_secs(5),
        "mutual TLS connect",
        Pool::connect(cfg),
    )
    .await
    .expect("mutual TLS connects");
    let pong: String = pool.query(&redis::cmd("PING")).await.unwrap();
    assert_eq!(pong, "PONG");
    // A monitor opens its connection the same way (CA, client certificate).
    let monitor = pool.monitor().await.expect("a monitor over mutual TLS");
    let _: () = pool
        .query(redis::cmd("SET").arg("tls:mon").arg(1))
        .await
        .unwrap();
    within(Duration::from_secs(5), "the monitor's line", async {
        while !monitor.next_line().await.unwrap().contains("\"tls:mon\"") {}
    })
    .await;
    // So does a subscriber's RESP3 connection (shard messages: Redis 7).
    let sub = pool
        .subscriber()
        .await
        .expect("a subscriber over mutual TLS");
    let (subscribe, publish) = match support::redis_major_version() {
        7.. => (Subscribe::Shard, "SPUBLISH"),
        _ => (Subscribe::Plain, "PUBLISH"),
    };
    match subscribe {
        Subscribe::Shard => sub.ssubscribe(["tls:sub"]).await.unwrap(),
        Subscribe::Plain => sub.subscribe(["tls:sub"]).await.unwrap(),
    }
    let n: i64 = pool
        .query(redis::cmd(publish).arg("tls:sub").arg("hi"))
        .await
        .unwrap();
    assert_eq!(n, 1);
    match within(Duration::from_secs(5), "the message", sub.next_message()).await {
        Some(redkeep::SubscriberEvent::ShardMessage(m) | redkeep::SubscriberEvent::Message(m)) => {
            assert_eq!(m.payload_str(), "hi")
        }
        other => panic!("expected a message, got {other:?}"),
    }
    pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_ca_file_is_a_config_error_naming_the_file() {
    let cfg = with_tls(
        "rediss://127.0.0.1:1".into(),
        TlsConfig {
            ca_cert: Some(Pem::File("/nonexistent/ca.crt".into())),
            ..TlsConfig::default()
        },
    );
    let err = Pool::connect(cfg).await.expect_err("no CA file");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("/nonexistent/ca.crt"), "{err}");
}

/// The outage rules hold over TLS: a blackholed TLS link is declared Down
/// within `interval + timeout × failures`, calls then fail fast, and the
/// pool is Up again once the link forwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_tls_link_goes_down_within_the_probe_budget_and_recovers() {
    let dir = temp_dir();
    make_certs(&dir);
    let tls_port = free_port();
    let _server = tls_server(&dir, tls_port, false);
    let upstream = std::net::SocketAddr::from(([127, 0, 0, 1], tls_port));
    let proxy = support::Proxy::start(upstream).await;
    let url = format!("rediss://{}", proxy.addr());
    let mut cfg = with_tls(
        url,
        TlsConfig {
            ca_cert: Some(Pem::File(dir.join("ca.crt"))),
            ..TlsConfig::default()
        },
    );
    cfg.health.interval = Duration::from_millis(200);
    cfg.health.timeout = Duration::from_millis(150);
    cfg.health.failures_before_down = 2;
    let budget = Duration::from_millis(200 + 150 * 2);
    let pool = within(Duration::from_secs(5), "TLS connect", Pool::connect(cfg))
        .await
        .unwrap();
    let mut rx = pool.watch();
    support::first_probe(&pool).await;

    proxy.set_mode(support::Mode::Blackhole);
    let started = Instant::now();
    support::wait_for_state(&mut rx, redkeep::State::Down, Duration::from_secs(5)).await;
    let took = started.elapsed();
    println!("TLS blackhole: Down after {took:?} (budget {budget:?})");
    assert!(
        took <= budget + Duration::from_millis(300),
        "Down after {took:?}"
    );
    let fast = Instant::now();
    let err = pool.query::<String>(&redis::cmd("PING")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(fast.elapsed() < Duration::from_millis(50));

    proxy.set_mode(support::Mode::Forward);
    support::wait_for_state(&mut rx, redkeep::State::Up, Duration::from_secs(5)).await;
    let pong: String = pool.query(&redis::cmd("PING")).await.unwrap();
    assert_eq!(pong, "PONG");
    pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
