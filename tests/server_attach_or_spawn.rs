//! Attach to a running Redis, spawn one when nothing listens, refuse an
//! address held by something else; startup failures explain themselves.
#![cfg(target_os = "linux")]

mod server_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use redkeep::testing::TestServer;
use redkeep::{ensure_server, ErrorKind, Origin, ServerAddr, ServerConfig, ServerStatus};
use server_support::{pid_alive, ping, server_pid, wait_dead};

#[tokio::test]
async fn spawns_when_nothing_listens_and_stops_on_shutdown() {
    let server = ensure_server(ServerConfig::tcp(0)).await.expect("spawn");
    let Origin::Spawned { pid } = server.origin() else {
        panic!("expected a spawned server, got {:?}", server.origin());
    };
    assert_eq!(server.pid(), Some(pid));
    assert_eq!(server.status(), ServerStatus::Running { pid });
    let port = server.port().expect("tcp");
    assert_ne!(port, 0, "port 0 must be resolved to the real port");
    assert_eq!(server.url(), format!("redis://127.0.0.1:{port}"));
    assert_eq!(ping(&server.url()).expect("PING"), "PONG");
    assert_eq!(server_pid(&server.url()), pid, "the URL reaches our child");
    let log = server
        .log_path()
        .expect("a spawned server has a log")
        .to_owned();
    assert!(log.exists());

    server.shutdown().await.expect("shutdown");
    assert!(
        wait_dead(pid, Duration::from_millis(100)).is_some(),
        "redis-server {pid} must be gone after shutdown"
    );
    assert!(
        !log.exists(),
        "the private run directory is removed on shutdown"
    );
}

#[tokio::test]
async fn drop_stops_a_spawned_server() {
    let server = ensure_server(ServerConfig::tcp(0)).await.expect("spawn");
    let pid = server.pid().expect("pid");
    drop(server);
    assert!(!pid_alive(pid), "drop returns after the server is gone");
}

#[tokio::test]
async fn attaches_to_a_running_redis_and_leaves_it_alone() {
    let owner = TestServer::start_async().await;
    let port = owner.port().expect("tcp");
    let pid = owner.pid().expect("pid");

    let attached = ensure_server(ServerConfig::tcp(port))
        .await
        .expect("attach");
    assert_eq!(attached.origin(), Origin::Attached);
    assert_eq!(attached.status(), ServerStatus::Attached);
    assert_eq!(attached.pid(), None);
    assert_eq!(attached.url(), owner.url());
    attached
        .shutdown()
        .await
        .expect("shutdown of an attached server");

    assert!(pid_alive(pid), "an attached server is never stopped");
    assert_eq!(ping(&owner.url()).expect("PING"), "PONG");
}

#[tokio::test]
async fn noauth_still_counts_as_redis() {
    let mut cfg = TestServer::config();
    cfg.password = Some("s3cret".to_owned());
    let owner = TestServer::try_start_async(cfg).await.expect("start");
    let port = owner.port().expect("tcp");

    // No password: the server answers NOAUTH, which proves it is a Redis.
    let attached = ensure_server(ServerConfig::tcp(port))
        .await
        .expect("attach");
    assert_eq!(attached.origin(), Origin::Attached);
}

fn listener_answering(reply: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0; 64];
            let _ = stream.read(&mut buf);
            if !reply.is_empty() {
                let _ = stream.write_all(reply);
            } else {
                // Silent: hold the connection open past the probe timeout.
                std::thread::sleep(Duration::from_secs(3));
            }
        }
    });
    port
}

#[tokio::test]
async fn refuses_an_address_held_by_something_else() {
    let port = listener_answering(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    let err = ensure_server(ServerConfig::tcp(port))
        .await
        .expect_err("an HTTP server is not Redis");
    assert_eq!(err.kind(), ErrorKind::Spawn);
    let msg = err.to_string();
    assert!(msg.contains("not Redis"), "{msg}");
    assert!(msg.contains("HTTP/1.1 400"), "says what answered: {msg}");
    assert!(msg.contains("not starting a server over it"), "{msg}");
}

#[tokio::test]
async fn a_loading_redis_is_waited_for_then_attached() {
    // A stand-in Redis: LOADING to the first two PINGs, then PONG.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let pings = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = pings.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0; 64];
            let _ = stream.read(&mut buf);
            let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let reply: &[u8] = if n < 2 {
                b"-LOADING Redis is loading the dataset in memory\r\n"
            } else {
                b"+PONG\r\n"
            };
            let _ = stream.write_all(reply);
        }
    });
    let server = ensure_server(ServerConfig::tcp(port))
        .await
        .expect("attach");
    assert_eq!(server.origin(), Origin::Attached);
    assert_eq!(
        pings.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "retried while LOADING"
    );
}

#[tokio::test]
async fn refuses_a_silent_listener() {
    let port = listener_answering(b"");
    let err = ensure_server(ServerConfig::tcp(port))
        .await
        .expect_err("a silent listener is not Redis");
    assert_eq!(err.kind(), ErrorKind::Spawn);
    assert!(err.to_string().contains("did not answer PING"), "{err}");
}

#[tokio::test]
async fn a_missing_binary_says_where_it_looked_and_how_to_install() {
    let cfg = ServerConfig {
        binary: Some("/nonexistent/redis-server".into()),
        ..ServerConfig::tcp(0)
    };
    let err = ensure_server(cfg).await.expect_err("no such binary");
    assert_eq!(err.kind(), ErrorKind::Spawn);
    let msg = err.to_string();
    for needle in [
        "/nonexistent/redis-server",
        "does not exist",
        "apt-get install redis-server",
        "brew install redis",
        "REDKEEP_REDIS_SERVER",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in: {msg}");
    }
}

#[tokio::test]
async fn a_bad_extra_arg_fails_with_the_log_tail() {
    let cfg = ServerConfig {
        args: vec!["--no-such-directive".into(), "1".into()],
        ..ServerConfig::tcp(0)
    };
    let err = ensure_server(cfg).await.expect_err("bad directive");
    assert_eq!(err.kind(), ErrorKind::Spawn);
    let msg = err.to_string();
    assert!(msg.contains("exited before it was ready"), "{msg}");
    assert!(
        msg.contains("a configuration directive or argument was rejected"),
        "{msg}"
    );
    assert!(
        msg.contains("no-such-directive"),
        "carries the log tail: {msg}"
    );
    assert!(msg.contains("Bad directive"), "carries the log tail: {msg}");
}

#[tokio::test]
async fn an_address_in_use_is_named() {
    // A Redis already there would be attached to, so make redis-server
    // itself hit EADDRINUSE: it binds the same address twice.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let cfg = ServerConfig {
        args: vec!["--bind".into(), "127.0.0.1 127.0.0.1".into()],
        ..ServerConfig::tcp(port)
    };
    let err = ensure_server(cfg).await.expect_err("double bind");
    let msg = err.to_string();
    assert!(msg.contains("the address is already in use"), "{msg}");
}

#[test]
fn port_zero_picks_a_free_port() {
    let a = TestServer::start();
    let b = TestServer::start();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.port(), Some(0));
}

#[test]
fn twenty_harnesses_start_concurrently_on_distinct_ports() {
    let servers: Vec<TestServer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20).map(|_| s.spawn(TestServer::start)).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("start"))
            .collect()
    });
    let mut ports: Vec<u16> = servers.iter().map(|s| s.port().expect("tcp")).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 20, "distinct ports");
    for server in &servers {
        assert_eq!(ping(&server.url()).expect("PING"), "PONG");
        assert_eq!(server_pid(&server.url()), server.pid().expect("pid"));
    }
}

#[tokio::test]
async fn a_unix_socket_server_lives_in_a_private_directory() {
    use std::os::unix::fs::PermissionsExt;
    let server = ensure_server(ServerConfig::unix()).await.expect("spawn");
    let ServerAddr::Unix(Some(path)) = server.addr().clone() else {
        panic!("expected a unix address, got {:?}", server.addr());
    };
    assert!(
        server.url().starts_with("redis+unix://"),
        "{}",
        server.url()
    );
    let dir = path.parent().expect("dir");
    let mode = std::fs::metadata(dir).expect("dir").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "private directory");
    assert_eq!(ping(&server.url()).expect("PING"), "PONG");
    server.shutdown().await.expect("shutdown");
    assert!(!dir.exists(), "removed on shutdown");
}
