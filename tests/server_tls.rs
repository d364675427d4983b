//! Local TLS servers (`ServerConfig::tls()`, `TestServer::start_tls()`,
//! `redkeep run --tls`): a throwaway CA in the private directory, TLS only,
//! readiness over TLS, restarts after a crash, nothing left behind.
#![cfg(all(feature = "tls", target_os = "linux"))]

mod server_support;
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use redkeep::testing::TestServer;
use redkeep::{
    ensure_server, redis, Backoff, Config, ErrorKind, Pool, ServerAddr, ServerConfig, State,
};
use server_support::{signal, wait_dead};
use support::{fast_config, wait_for_state, within};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_test_server_serves_a_pool_that_trusts_its_ca() {
    let server = tokio::task::spawn_blocking(TestServer::start_tls)
        .await
        .unwrap();
    let url = server.url();
    assert!(url.starts_with("rediss://127.0.0.1:"), "{url}");
    let pool = within(
        Duration::from_secs(5),
        "TLS connect",
        Pool::connect(server.pool_config()),
    )
    .await
    .expect("a pool with the server's CA connects");
    let pong: String = pool.query(&redis::cmd("PING")).await.unwrap();
    assert_eq!(pong, "PONG");
    let _: () = pool
        .query(redis::cmd("SET").arg("k").arg("over tls"))
        .await
        .unwrap();
    let v: String = pool.query(redis::cmd("GET").arg("k")).await.unwrap();
    assert_eq!(v, "over tls");
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tls_server_refuses_plain_tcp_and_clients_without_its_ca() {
    let server = tokio::task::spawn_blocking(TestServer::start_tls)
        .await
        .unwrap();
    let port = server.port().expect("TCP");
    // TLS only: plain RESP on the same port gets no PONG.
    let plain = format!("redis://127.0.0.1:{port}");
    assert!(server_support::ping(&plain).is_err(), "plain TCP answered");
    // The web roots do not trust a throwaway CA.
    let mut cfg = fast_config(server.url());
    cfg.timeouts.connect = Duration::from_secs(1);
    let err = within(Duration::from_secs(5), "TLS connect", Pool::connect(cfg))
        .await
        .expect_err("an untrusted CA must not connect");
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_tls_server_is_restarted_and_the_pool_comes_back_up() {
    // A restart delay long enough for the pool to see the outage.
    let mut cfg = ServerConfig::tls();
    cfg.restart.backoff = Backoff {
        initial: Duration::from_secs(1),
        max: Duration::from_secs(1),
        jitter: 0.0,
        ..Backoff::default()
    };
    let server = ensure_server(cfg).await.expect("TLS server");
    let pool = Pool::connect(Config {
        tls: server.client_tls(),
        ..fast_config(server.url())
    })
    .await
    .expect("connect");
    let _: () = pool
        .query(redis::cmd("SET").arg("k").arg("v"))
        .await
        .unwrap();
    let mut health = pool.watch();
    let mut status = server.watch();
    let pid = server.pid().expect("running");

    signal(pid, "KILL");
    wait_dead(pid, Duration::from_secs(2)).expect("killed");
    wait_for_state(&mut health, State::Down, Duration::from_secs(5)).await;
    within(Duration::from_secs(10), "the restart", async {
        status
            .wait_for(|s| matches!(s, redkeep::ServerStatus::Running { pid: p } if *p != pid))
            .await
            .expect("status watch");
    })
    .await;
    assert_eq!(server.restarts(), 1);
    wait_for_state(&mut health, State::Up, Duration::from_secs(5)).await;
    // A new, empty server behind the same address and the same CA.
    let v: Option<String> = pool.query(redis::cmd("GET").arg("k")).await.unwrap();
    assert_eq!(v, None);
    pool.close().await;
    server.shutdown().await.unwrap();
}

#[test]
fn the_certificates_live_in_the_private_directory_and_go_with_it() {
    let server = TestServer::start_tls();
    let ca = server.ca_cert_path().expect("a CA").to_owned();
    let dir = ca.parent().expect("its directory").to_owned();
    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    assert_eq!(mode(&dir.join("server.key")), 0o600);
    assert!(dir.join("server.crt").is_file());
    let pem = std::fs::read_to_string(&ca).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    // The CA's own key is never written.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("ca") && n.ends_with(".key")),
        "{names:?}"
    );
    let tls = server.server().client_tls().expect("client TLS");
    assert!(
        matches!(&tls.ca_cert, Some(redkeep::Pem::File(p)) if *p == ca),
        "{tls:?}"
    );
    let pid = server.pid().expect("running");
    drop(server);
    assert!(wait_dead(pid, Duration::from_secs(1)).is_some());
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

#[test]
fn tls_needs_a_tcp_address() {
    let cfg = ServerConfig {
        addr: ServerAddr::Unix(None),
        ..ServerConfig::tls()
    };
    let e = cfg.validate().expect_err("TLS on a unix socket");
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("ServerConfig::tls"), "{e}");
}

#[cfg(feature = "cli")]
#[test]
fn redkeep_run_tls_gives_the_command_a_rediss_url_and_the_ca() {
    let redis_cli = std::process::Command::new("redis-cli")
        .arg("--version")
        .output();
    if redis_cli.is_err() {
        eprintln!("skipped: no redis-cli on PATH");
        return;
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_redkeep"))
        .args([
            "run",
            "--tls",
            "-q",
            "--",
            "sh",
            "-c",
            "echo {url}; echo \"$REDIS_CA_CERT\"; \
             redis-cli --tls --cacert \"$REDIS_CA_CERT\" -u \"$REDIS_URL\" ping",
        ])
        .env_remove("REDKEEP_PASSWORD")
        .output()
        .expect("run redkeep");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("rediss://127.0.0.1:"), "{stdout}");
    let ca = Path::new(lines[1]);
    assert!(ca.is_absolute(), "{stdout}");
    assert_eq!(lines[2], "PONG", "{stdout}");
    assert!(!ca.exists(), "the CA outlived redkeep: {}", ca.display());
}

#[cfg(feature = "cli")]
#[test]
fn redkeep_ensure_tls_prints_the_ca_and_removes_it_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_redkeep"))
        .args(["ensure", "--tls", "--port", "0", "-q"])
        .env_remove("REDKEEP_PASSWORD")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start redkeep");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().expect("a line").unwrap();
    let url = ready
        .split("ready at ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .expect("url")
        .to_owned();
    assert!(url.starts_with("rediss://127.0.0.1:"), "{ready}");
    let ca_line = lines.next().expect("a line").unwrap();
    let ca = ca_line
        .split("CA certificate is ")
        .nth(1)
        .expect("the CA path")
        .to_owned();
    let pong = std::process::Command::new("redis-cli")
        .args(["--tls", "--cacert", &ca, "-u", &url, "ping"])
        .output();
    if let Ok(pong) = pong {
        assert_eq!(String::from_utf8_lossy(&pong.stdout).trim(), "PONG");
    }
    signal(child.id(), "TERM");
    assert!(child.wait().expect("wait").success());
    assert!(!Path::new(&ca).exists(), "{ca} outlived redkeep");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_that_spawns_a_tls_server_trusts_its_ca_and_stops_it() {
    let mut cfg = Config::from_url("redis://127.0.0.1:6379");
    cfg.spawn = Some(ServerConfig::tls());
    let pool = within(Duration::from_secs(10), "connect", Pool::connect(cfg))
        .await
        .expect("a pool spawning a TLS server connects through the server's CA");
    assert!(
        pool.config().url.starts_with("rediss://"),
        "{}",
        pool.config().redacted_url()
    );
    let pong: String = pool.query(&redis::cmd("PING")).await.unwrap();
    assert_eq!(pong, "PONG");
    let pid = pool
        .server()
        .and_then(|s| s.pid())
        .expect("spawned, not attached");
    pool.close().await;
    assert!(
        wait_dead(pid, Duration::from_secs(5)).is_some(),
        "the spawned TLS server outlived close()"
    );
}
