//! A graceful stop (`SHUTDOWN SAVE` over the connection) of a server with
//! persistence leaves a complete RDB file: a new server on the same
//! directory loads every key back.

use std::time::Duration;

use redkeep::{ensure_server, ServerConfig};

fn dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("redkeep-graceful-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    d
}

async fn dbsize(url: &str) -> i64 {
    let client = redis::Client::open(url).expect("url");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    redis::cmd("DBSIZE")
        .query_async(&mut con)
        .await
        .expect("DBSIZE")
}

#[tokio::test]
async fn a_graceful_stop_with_persistence_leaves_a_complete_rdb() {
    let dir = dir();
    let cfg = ServerConfig {
        dir: Some(dir.clone()),
        persistence: true,
        // No snapshot of its own during the test: only the stop saves.
        args: vec!["--save".into(), "".into()],
        stop_timeout: Duration::from_secs(20),
        ..ServerConfig::tcp(0)
    };
    let server = ensure_server(cfg.clone()).await.expect("spawn");
    let client = redis::Client::open(server.url()).expect("url");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    const KEYS: i64 = 20_000;
    let mut pipe = redis::pipe();
    for i in 0..KEYS {
        pipe.cmd("SET")
            .arg(format!("k{i}"))
            .arg(format!("value-{i}-{}", "x".repeat(64)))
            .ignore();
    }
    let () = pipe.query_async(&mut con).await.expect("SET");
    drop(con);
    assert!(
        !dir.join("dump.rdb").exists(),
        "no snapshot before the stop"
    );
    server.shutdown().await.expect("graceful stop");

    let rdb = std::fs::read(dir.join("dump.rdb")).expect("the stop wrote dump.rdb");
    assert!(rdb.starts_with(b"REDIS"), "an RDB file");
    // A new server on the same directory loads all of it back.
    let again = ensure_server(ServerConfig {
        args: Vec::new(),
        ..cfg
    })
    .await
    .expect("respawn");
    assert_eq!(dbsize(&again.url()).await, KEYS);
    again.shutdown().await.expect("stop");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_graceful_stop_without_persistence_is_prompt() {
    let server = ensure_server(ServerConfig::tcp(0)).await.expect("spawn");
    let started = std::time::Instant::now();
    server.shutdown().await.expect("stop");
    // SHUTDOWN NOSAVE acts at once (SIGTERM would wait for a cron tick).
    eprintln!("graceful stop took {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(5));
}
