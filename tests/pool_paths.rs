//! The two paths: exclusive checkouts (`get`) for transactions, `WATCH` and
//! blocking commands; shared multiplexed connections (`query`,
//! `query_pipeline`) for everything else. A checkout costs no round trip.

mod support;

use std::time::Duration;

use redkeep::{redis, ErrorKind, Pool};
use support::{fast_config, within, Proxy, RedisServer};

async fn pool_for(url: String, tweak: impl FnOnce(&mut redkeep::Config)) -> Pool {
    let mut cfg = fast_config(url);
    tweak(&mut cfg);
    within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exclusive_connection_runs_a_multi_exec_transaction() {
    let server = RedisServer::start();
    let pool = pool_for(server.url(), |_| {}).await;
    let mut conn = pool.get().await.unwrap();
    let (set, n): (String, i64) = redis::pipe()
        .atomic()
        .set("tx", 41)
        .incr("tx", 1)
        .query_async(&mut *conn)
        .await
        .unwrap();
    assert_eq!((set.as_str(), n), ("OK", 42));
    assert_eq!(pool.stats().checkouts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_on_an_exclusive_connection_aborts_a_transaction_when_the_key_changes() {
    let server = RedisServer::start();
    let pool = pool_for(server.url(), |_| {}).await;
    let _: () = pool.query(redis::cmd("SET").arg("w").arg(1)).await.unwrap();

    let mut conn = pool.get().await.unwrap();
    let _: () = redis::cmd("WATCH")
        .arg("w")
        .query_async(&mut *conn)
        .await
        .unwrap();
    // Someone else changes the key (on the shared path).
    let _: () = pool.query(redis::cmd("SET").arg("w").arg(2)).await.unwrap();
    let aborted: Option<(String,)> = redis::pipe()
        .atomic()
        .set("w", 3)
        .query_async(&mut *conn)
        .await
        .unwrap();
    assert_eq!(aborted, None, "EXEC ran although the watched key changed");
    let w: i64 = pool.query(redis::cmd("GET").arg("w")).await.unwrap();
    assert_eq!(w, 2);

    // Without interference the same transaction commits.
    let _: () = redis::cmd("WATCH")
        .arg("w")
        .query_async(&mut *conn)
        .await
        .unwrap();
    let done: Option<(String,)> = redis::pipe()
        .atomic()
        .set("w", 3)
        .query_async(&mut *conn)
        .await
        .unwrap();
    assert_eq!(done, Some(("OK".to_owned(),)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blpop_waits_on_an_exclusive_connection_with_a_longer_command_timeout() {
    let server = RedisServer::start();
    let pool = pool_for(server.url(), |cfg| {
        cfg.timeouts.command = Duration::from_millis(200);
    })
    .await;
    let mut conn = pool.get().await.unwrap();
    conn.set_command_timeout(Duration::from_secs(5));

    let pusher = {
        let pool = pool.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            pool.query::<i64>(redis::cmd("LPUSH").arg("jobs").arg("job-1"))
                .await
        })
    };
    let popped: Option<(String, String)> = within(
        Duration::from_secs(5),
        "BLPOP",
        redis::cmd("BLPOP")
            .arg("jobs")
            .arg(3)
            .query_async(&mut *conn),
    )
    .await
    .unwrap();
    assert_eq!(popped, Some(("jobs".to_owned(), "job-1".to_owned())));
    assert_eq!(pusher.await.unwrap().unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_and_query_pipeline_run_commands_and_map_errors() {
    let server = RedisServer::start();
    let pool = pool_for(server.url(), |_| {}).await;

    let _: () = pool
        .query(redis::cmd("SET").arg("a").arg("1"))
        .await
        .unwrap();
    let a: String = pool.query(redis::cmd("GET").arg("a")).await.unwrap();
    assert_eq!(a, "1");
    let missing: Option<String> = pool.query(redis::cmd("GET").arg("nope")).await.unwrap();
    assert_eq!(missing, None);

    let (x, y): (i64, i64) = pool
        .query_pipeline(redis::pipe().incr("x", 1).incr("y", 5))
        .await
        .unwrap();
    assert_eq!((x, y), (1, 5));
    let (x2,): (i64,) = pool
        .query_pipeline(redis::pipe().atomic().incr("x", 1))
        .await
        .unwrap();
    assert_eq!(x2, 2);

    // A server error reply is a Response error, and the connection stays.
    let err = pool
        .query::<i64>(redis::cmd("INCR").arg("a").arg("too-many"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Response, "{err}");
    assert!(!err.is_retryable());
    let _: () = pool
        .query(redis::cmd("LPUSH").arg("list").arg(1))
        .await
        .unwrap();
    let err = pool
        .query::<i64>(redis::cmd("INCR").arg("list"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Response, "{err}");
    assert!(err.to_string().contains("WRONGTYPE"), "{err}");
    let err = pool
        .query_pipeline::<(i64,)>(redis::pipe().incr("list", 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Response, "{err}");

    // A reply of the wrong type is a Response error too.
    let err = pool
        .query::<i64>(redis::cmd("GET").arg("list-missing-but-string").arg("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Response, "{err}");
    let err = pool
        .query::<Vec<i64>>(&redis::cmd("PING"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Response, "{err}");

    // None of that broke a connection.
    assert_eq!(pool.stats().evicted, 0, "{:?}", pool.stats());
    let pong: String = pool.query(&redis::cmd("PING")).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exclusive_connections_are_reused() {
    let server = RedisServer::start();
    let pool = pool_for(server.url(), |cfg| cfg.pool.max_size = 2).await;
    let id_of = |mut conn: redkeep::Connection| async move {
        let id: i64 = redis::cmd("CLIENT")
            .arg("ID")
            .query_async(&mut *conn)
            .await
            .unwrap();
        id
    };
    let first = id_of(pool.get().await.unwrap()).await;
    for _ in 0..10 {
        assert_eq!(id_of(pool.get().await.unwrap()).await, first);
    }
    let stats = pool.stats();
    assert_eq!(
        (stats.size, stats.idle, stats.checkouts),
        (1, 1, 11),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_costs_no_round_trip() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr()).await;
    let pool = pool_for(proxy.url(), |cfg| {
        // The watch's own PINGs must not blur the count.
        cfg.health.interval = Duration::from_secs(60);
        cfg.pool.max_size = 4;
    })
    .await;
    support::first_probe(&pool).await;
    {
        // Open the connections once.
        let mut held = Vec::new();
        for _ in 0..4 {
            let mut conn = pool.get().await.unwrap();
            let _: String = redis::cmd("PING").query_async(&mut *conn).await.unwrap();
            held.push(conn);
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let bytes = proxy.bytes();
    let pings = server.command_calls("ping").await;
    let accepted = proxy.accepted();

    for _ in 0..1000 {
        let conn = within(Duration::from_secs(1), "checkout", pool.get())
            .await
            .unwrap();
        drop(conn);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    assert_eq!(proxy.bytes(), bytes, "checkouts sent bytes to Redis");
    assert_eq!(proxy.accepted(), accepted, "checkouts opened connections");
    // `command_calls` itself connects directly; only PINGs count here.
    assert_eq!(server.command_calls("ping").await, pings);
    assert_eq!(pool.stats().checkouts, 1004);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_gets_a_dedicated_connection_that_receives_published_messages() {
    use futures_util::StreamExt;
    let server = RedisServer::start();
    let pool = pool_for(server.url(), |_| {}).await;
    let mut pubsub = pool.pubsub().await.expect("pubsub connection");
    pubsub.subscribe("news").await.unwrap();
    let receivers: i64 = pool
        .query(redis::cmd("PUBLISH").arg("news").arg("hello"))
        .await
        .unwrap();
    assert_eq!(receivers, 1, "the subscriber is registered on the server");
    let msg = within(
        Duration::from_secs(2),
        "message",
        pubsub.on_message().next(),
    )
    .await
    .expect("a message");
    assert_eq!(msg.get_channel_name(), "news");
    assert_eq!(msg.get_payload::<String>().unwrap(), "hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_reply_carries_the_servers_own_words() {
    let server = RedisServer::start();
    let pool = pool_for(server.url(), |_| {}).await;
    let _: () = pool
        .query(redis::cmd("SET").arg("s").arg("x"))
        .await
        .unwrap();
    let err = pool
        .query::<i64>(redis::cmd("INCR").arg("s"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Response);
    assert_eq!(
        err.to_string(),
        "ERR value is not an integer or out of range"
    );
    let err = pool
        .query::<i64>(redis::cmd("LPUSH").arg("s").arg(1))
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("WRONGTYPE "), "{err}");

    // The same mapping is available for errors from an exclusive connection.
    let mut conn = pool.get().await.unwrap();
    let raw = redis::cmd("INCR")
        .arg("s")
        .query_async::<i64>(&mut *conn)
        .await
        .unwrap_err();
    let err = redkeep::Error::from(raw);
    assert_eq!(err.kind(), ErrorKind::Response);
    assert_eq!(
        err.to_string(),
        "ERR value is not an integer or out of range"
    );
}
