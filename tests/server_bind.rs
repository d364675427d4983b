//! A spawned server is reachable only locally, keeps no data by default,
//! and keeps its password out of sight.
#![cfg(target_os = "linux")]

mod server_support;

use redkeep::testing::TestServer;
use redkeep::{ensure_server, ServerConfig};
use server_support::ping;

/// Local addresses (hex, as in /proc/net/tcp*) of sockets listening on `port`.
fn listeners(port: u16) -> Vec<String> {
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
                continue;
            };
            let Some((addr, hex_port)) = local.rsplit_once(':') else {
                continue;
            };
            if *state == "0A" && u16::from_str_radix(hex_port, 16) == Ok(port) {
                found.push(addr.to_owned());
            }
        }
    }
    found
}

#[test]
fn a_tcp_server_listens_on_127_0_0_1_only() {
    let server = TestServer::start();
    let port = server.port().expect("tcp");
    let addrs = listeners(port);
    // 127.0.0.1 in /proc/net/tcp's little-endian hex.
    assert_eq!(
        addrs,
        vec!["0100007F".to_owned()],
        "listening sockets on {port}"
    );
}

#[tokio::test]
async fn a_unix_server_opens_no_tcp_port_and_a_private_socket() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let server = ensure_server(ServerConfig::unix()).await.expect("spawn");
    let redkeep::ServerAddr::Unix(Some(path)) = server.addr().clone() else {
        panic!("unix address expected");
    };
    let meta = std::fs::metadata(&path).expect("socket");
    assert!(meta.file_type().is_socket());
    assert_eq!(
        meta.permissions().mode() & 0o077,
        0,
        "no access for group/others"
    );
    let client = redis::Client::open(server.url()).expect("url");
    let mut con = client.get_connection().expect("connect");
    let port: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("port")
        .query(&mut con)
        .expect("CONFIG GET");
    assert_eq!(port, ["port", "0"], "no TCP listener");
}

#[test]
fn no_persistence_by_default() {
    let server = TestServer::start();
    let client = redis::Client::open(server.url()).expect("url");
    let mut con = client.get_connection().expect("connect");
    let save: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("save")
        .query(&mut con)
        .unwrap();
    assert_eq!(save, ["save", ""]);
    let aof: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query(&mut con)
        .unwrap();
    assert_eq!(aof, ["appendonly", "no"]);
}

#[test]
fn with_a_password_an_unauthenticated_client_is_refused() {
    let secret = "pa:ss@w/rd \"q\"";
    let mut cfg = TestServer::config();
    cfg.password = Some(secret.to_owned());
    let server = TestServer::try_start(cfg).expect("start");
    let port = server.port().expect("tcp");

    let anonymous = format!("redis://127.0.0.1:{port}");
    let err = ping(&anonymous).expect_err("no password, no PING");
    assert!(err.to_string().contains("NOAUTH"), "{err}");
    assert_eq!(
        ping(&server.url()).expect("the full URL authenticates"),
        "PONG"
    );

    // The secret is nowhere in plain sight.
    let redacted = server.server().redacted_url();
    assert_eq!(redacted, format!("redis://:***@127.0.0.1:{port}"));
    let debug = format!("{:?}", server.server());
    assert!(
        !debug.contains("pa:ss") && !debug.contains("w/rd"),
        "{debug}"
    );
    let pid = server.pid().expect("pid");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
    assert!(
        !String::from_utf8_lossy(&cmdline).contains("w/rd"),
        "the password is not on the command line"
    );
    let run_dir = server.server().log_path().unwrap().parent().unwrap();
    for entry in std::fs::read_dir(run_dir).expect("run dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let text = std::fs::read(&path).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&text).contains("w/rd"),
                "{} holds the password after startup",
                path.display()
            );
        }
    }
}

#[tokio::test]
async fn a_non_loopback_host_is_refused() {
    let cfg = ServerConfig {
        addr: redkeep::ServerAddr::Tcp {
            host: "0.0.0.0".to_owned(),
            port: 0,
        },
        ..ServerConfig::default()
    };
    let err = ensure_server(cfg)
        .await
        .expect_err("0.0.0.0 is not loopback");
    assert_eq!(err.kind(), redkeep::ErrorKind::Config);
    assert!(err.to_string().contains("not a loopback address"), "{err}");
}
