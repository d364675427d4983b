//! `Config::spawn`: `Pool::connect` starts a local server when nothing
//! answers, owns it, recovers through its supervisor's restarts, and stops
//! it on `close`.
#![cfg(target_os = "linux")]

mod server_support;
mod support;

use std::time::Duration;

use redkeep::server::Origin;
use redkeep::{redis, Backoff, Config, Pool, State};
use server_support::{signal, wait_dead};
use support::{fast_config, free_port, wait_for_state, within};

fn spawning_config(port: u16) -> Config {
    let mut cfg = fast_config(format!("redis://127.0.0.1:{port}/3"))
        .spawn_if_absent()
        .expect("a redis:// URL can spawn");
    let spawn = cfg.spawn.as_mut().expect("spawn set");
    spawn.restart.backoff = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
        ..Backoff::default()
    };
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_spawns_when_nothing_answers_and_recovers_after_a_crash() {
    let port = free_port();
    let pool = within(
        Duration::from_secs(15),
        "connect with spawn",
        Pool::connect(spawning_config(port)),
    )
    .await
    .expect("spawned and connected");
    let server = pool.server().expect("the pool owns its server");
    let Origin::Spawned { pid } = server.origin() else {
        panic!("nothing listened on {port}, yet the pool attached");
    };
    assert_eq!(server.port(), Some(port));

    // The database number of the URL is kept.
    let _: () = pool
        .query(redis::cmd("SET").arg("k").arg("v"))
        .await
        .unwrap();
    let db: String = pool.query(redis::cmd("CLIENT").arg("INFO")).await.unwrap();
    assert!(db.contains(" db=3 "), "{db}");

    // A crash: the supervisor restarts it on the same port (often before a
    // probe even notices), and the pool serves again.
    signal(pid, "KILL");
    let new_pid = within(Duration::from_secs(10), "a restarted server", async {
        loop {
            match pool.server().and_then(|s| s.pid()) {
                Some(p) if p != pid => return p,
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
    .await;
    let pong: String = within(Duration::from_secs(10), "the pool to serve again", async {
        loop {
            match pool.query::<String>(&redis::cmd("PING")).await {
                Ok(pong) => return pong,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await;
    assert_eq!(pong, "PONG");
    let mut rx = pool.watch();
    wait_for_state(&mut rx, State::Up, Duration::from_secs(5)).await;
    assert_eq!(pool.server().unwrap().restarts(), 1);

    // close() stops the server it owns.
    pool.close().await;
    assert!(
        wait_dead(new_pid, Duration::from_secs(5)).is_some(),
        "the spawned server outlived Pool::close"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_attaches_to_a_running_server_and_leaves_it_running() {
    let server = support::RedisServer::start();
    let pool = within(
        Duration::from_secs(10),
        "connect with spawn",
        Pool::connect(spawning_config(server.port())),
    )
    .await
    .expect("attached");
    assert_eq!(pool.server().map(|s| s.origin()), Some(Origin::Attached));
    pool.close().await;
    let pid = server.pid().expect("running");
    assert!(
        server_support::pid_alive(pid),
        "close() stopped a server it did not start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_pool_refuses_a_spawn_config_with_a_clear_error() {
    let err = Pool::new(spawning_config(free_port())).unwrap_err();
    assert_eq!(err.kind(), redkeep::ErrorKind::Config);
    assert!(err.to_string().contains("Pool::connect"), "{err}");
}
