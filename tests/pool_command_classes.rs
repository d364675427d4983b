//! Connection-state commands (`SELECT`, `MULTI`, `WATCH`, `SUBSCRIBE`,
//! `CLIENT SETNAME`, ...) on the shared call path are refused unsent with
//! `ErrorKind::Refused` and a message naming the command and the tool to use
//! instead; they never reach the server, so the shared connections keep
//! their state and every other caller's commands land where they should.

mod support;

use std::time::Duration;

use redkeep::{command_class, redis, CommandClass, ErrorKind, Pool};
use support::{fast_config, on_a_thread, within, RedisServer};

/// A refused command: its argv, the name the message must carry, the
/// `cmdstat_` entry it would show if it reached the server, and a word of
/// the tool the message must point to.
struct Refused {
    argv: &'static [&'static str],
    name: &'static str,
    stat: &'static str,
    tool: &'static str,
}

const REFUSED: &[Refused] = &[
    Refused {
        argv: &["SELECT", "1"],
        name: "SELECT",
        stat: "select",
        tool: "URL",
    },
    Refused {
        argv: &["MULTI"],
        name: "MULTI",
        stat: "multi",
        tool: "Pool::get",
    },
    Refused {
        argv: &["WATCH", "k"],
        name: "WATCH",
        stat: "watch",
        tool: "Pool::get",
    },
    Refused {
        argv: &["SUBSCRIBE", "c"],
        name: "SUBSCRIBE",
        stat: "subscribe",
        tool: "Pool::pubsub",
    },
    Refused {
        argv: &["CLIENT", "SETNAME", "x"],
        name: "CLIENT SETNAME",
        stat: "client|setname",
        tool: "Pool::get",
    },
];

fn cmd(argv: &[&str]) -> redis::Cmd {
    let mut cmd = redis::Cmd::new();
    for arg in argv {
        cmd.arg(*arg);
    }
    cmd
}

async fn calls_of_every_refused_command(server: &RedisServer) -> Vec<u64> {
    let mut calls = Vec::new();
    for refused in REFUSED {
        calls.push(server.command_calls(refused.stat).await);
    }
    calls
}

/// The server counted no call of any refused command since `before`.
async fn assert_unsent(server: &RedisServer, before: &[u64]) {
    let after = calls_of_every_refused_command(server).await;
    for ((refused, before), after) in REFUSED.iter().zip(before).zip(after) {
        assert_eq!(
            after, *before,
            "{:?} reached the server (cmdstat_{} calls {before} -> {after})",
            refused.argv, refused.stat
        );
    }
}

fn check_refusal(path: &str, refused: &Refused, result: redkeep::Result<redis::Value>) {
    let err = match result {
        Ok(value) => panic!("{path}: {:?} was answered: {value:?}", refused.argv),
        Err(err) => err,
    };
    println!("{path}: {:?} -> {err}", refused.argv);
    assert_eq!(err.kind(), ErrorKind::Refused, "{path}: {err}");
    let message = err.to_string();
    assert!(
        message.contains(refused.name),
        "{path}: the message does not name {}: {message}",
        refused.name
    );
    assert!(
        message.contains(refused.tool),
        "{path}: the message does not point to {}: {message}",
        refused.tool
    );
}

#[test]
fn the_command_table_puts_these_commands_in_the_connection_state_class() {
    for refused in REFUSED {
        assert_eq!(
            command_class(&cmd(refused.argv)),
            CommandClass::ConnectionState,
            "{:?}",
            refused.argv
        );
    }
}

/// The harness itself: each of these commands, sent straight to the
/// server, shows in `INFO commandstats` under the name the tests read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_counts_these_commands_when_they_do_reach_it() {
    let server = RedisServer::start();
    let before = calls_of_every_refused_command(&server).await;
    for refused in REFUSED {
        server.send_raw(refused.argv);
    }
    let after = calls_of_every_refused_command(&server).await;
    for ((refused, before), after) in REFUSED.iter().zip(before).zip(after) {
        assert_eq!(after, before + 1, "cmdstat_{}", refused.stat);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_state_commands_are_refused_unsent_on_query() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    let before = calls_of_every_refused_command(&server).await;

    let mut results = Vec::new();
    for refused in REFUSED {
        let query = within(
            Duration::from_secs(2),
            "a refused command",
            pool.query::<redis::Value>(&cmd(refused.argv)),
        )
        .await;
        let query_with = within(
            Duration::from_secs(2),
            "a refused command",
            pool.query_with::<redis::Value>(&cmd(refused.argv), Some(Duration::from_secs(1))),
        )
        .await;
        results.push((refused, query, query_with));
    }

    assert_unsent(&server, &before).await;
    for (refused, query, query_with) in results {
        check_refusal("query", refused, query);
        check_refusal("query_with", refused, query_with);
    }
    let pong: String = pool.query(&redis::cmd("PING")).await.unwrap();
    assert_eq!(pong, "PONG", "the shared connection still serves");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_state_commands_are_refused_unsent_on_query_blocking() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    // The calling-thread path has a connection of its own before the test.
    let p = pool.clone();
    let pong: String = on_a_thread(move || p.query_blocking(&redis::cmd("PING"), None))
        .await
        .unwrap();
    assert_eq!(pong, "PONG");
    let before = calls_of_every_refused_command(&server).await;

    let p = pool.clone();
    let results = on_a_thread(move || {
        REFUSED
            .iter()
            .map(|refused| p.query_blocking::<redis::Value>(&cmd(refused.argv), None))
            .collect::<Vec<_>>()
    })
    .await;
    assert_unsent(&server, &before).await;
    for (refused, result) in REFUSED.iter().zip(results) {
        check_refusal("query_blocking", refused, result);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_refused_select_every_callers_writes_land_in_db_0() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();

    let err = pool
        .query::<String>(redis::cmd("SELECT").arg(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    let p = pool.clone();
    let err = on_a_thread(move || p.query_blocking::<String>(redis::cmd("SELECT").arg(1), None))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");

    // 50 concurrent callers on the shared path.
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let p = pool.clone();
            tokio::spawn(async move { p.query::<i64>(redis::cmd("INCR").arg("counter")).await })
        })
        .collect();
    for task in tasks {
        within(Duration::from_secs(5), "INCR counter", task)
            .await
            .unwrap()
            .expect("INCR on the shared path");
    }
    // 50 threads on the calling-thread path.
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let p = pool.clone();
            on_a_thread(move || p.query_blocking::<i64>(redis::cmd("INCR").arg("counter2"), None))
        })
        .collect();
    for thread in threads {
        within(Duration::from_secs(5), "INCR counter2", thread)
            .await
            .expect("INCR on the calling-thread path");
    }

    let mut db0 = server.client().await;
    let counts: (Option<i64>, Option<i64>) = redis::cmd("MGET")
        .arg("counter")
        .arg("counter2")
        .query_async(&mut db0)
        .await
        .unwrap();
    assert_eq!(counts, (Some(50), Some(50)), "db 0 holds every INCR");
    let db1 = redis::Client::open(format!("{}/1", server.url())).unwrap();
    let mut db1 = db1.get_multiplexed_async_connection().await.unwrap();
    let in_db1: i64 = redis::cmd("EXISTS")
        .arg("counter")
        .arg("counter2")
        .query_async(&mut db1)
        .await
        .unwrap();
    assert_eq!(in_db1, 0, "nothing landed in db 1");
}
