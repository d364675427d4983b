//! An exclusive connection never hands its `WATCH` or `MULTI` to the next
//! caller: `Connection::reset` undoes them (one round trip), and one
//! dropped without it is closed, not reused.

mod support;

use std::time::Duration;

use redkeep::{redis, ErrorKind, Pool};
use support::{fast_config, within, RedisServer};

async fn one_connection_pool(url: String) -> Pool {
    let mut cfg = fast_config(url);
    cfg.pool.max_size = 1;
    within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .expect("connect")
}

/// WATCH `a`, change `a` from elsewhere, then run a transaction on `b` on
/// the pool's only exclusive connection: it must not be aborted.
async fn second_transaction_runs(pool: &Pool) -> bool {
    let _: () = pool
        .query(redis::cmd("SET").arg("a").arg("changed"))
        .await
        .unwrap();
    let mut conn = pool.get().await.unwrap();
    let _: () = conn
        .query_with(redis::cmd("WATCH").arg("b"), None)
        .await
        .unwrap();
    let result: Option<(String,)> = conn
        .query_pipeline_with(redis::pipe().atomic().set("b", "ok"), None)
        .await
        .unwrap();
    result.is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_clears_a_watch_and_keeps_the_connection() {
    let server = RedisServer::start();
    let pool = one_connection_pool(server.url()).await;
    {
        let mut conn = pool.get().await.unwrap();
        let _: () = conn
            .query_with(redis::cmd("WATCH").arg("a"), None)
            .await
            .unwrap();
        conn.reset().await.unwrap();
    }
    assert!(second_transaction_runs(&pool).await);
    assert_eq!(pool.stats().evicted, 0, "a reset connection is reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_while_watching_or_in_multi_is_closed() {
    let server = RedisServer::start();
    let pool = one_connection_pool(server.url()).await;
    {
        let mut conn = pool.get().await.unwrap();
        let _: () = redis::cmd("WATCH")
            .arg("a")
            .query_async(&mut *conn)
            .await
            .unwrap();
    }
    assert_eq!(pool.stats().evicted, 1);
    assert!(second_transaction_runs(&pool).await);
    {
        let mut conn = pool.get().await.unwrap();
        let _: () = conn.query_with(&redis::cmd("MULTI"), None).await.unwrap();
        let _: String = conn
            .query_with(redis::cmd("SET").arg("q").arg(1), None)
            .await
            .unwrap();
    }
    assert_eq!(pool.stats().evicted, 2);
    let v: Option<String> = pool.query(redis::cmd("GET").arg("q")).await.unwrap();
    assert_eq!(v, None, "the queued SET never ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_that_ran_exec_goes_back_as_is() {
    let server = RedisServer::start();
    let pool = one_connection_pool(server.url()).await;
    {
        let mut conn = pool.get().await.unwrap();
        let _: () = conn
            .query_with(redis::cmd("WATCH").arg("a"), None)
            .await
            .unwrap();
        let _: Option<(String,)> = conn
            .query_pipeline_with(redis::pipe().atomic().set("a", 1), None)
            .await
            .unwrap();
    }
    assert_eq!(pool.stats().evicted, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_call_timeouts_bound_checkouts_pipelines_and_exclusive_calls() {
    let server = RedisServer::start();
    let pool = one_connection_pool(server.url()).await;
    let mut conn = pool.get().await.unwrap();
    // The only connection is taken: the checkout ends at the call's limit.
    let err = pool
        .get_with(Some(Duration::from_millis(50)))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // A blocking command on the exclusive connection, cut by the limit.
    let err = conn
        .query_with::<redis::Value>(
            redis::cmd("BLPOP").arg("never").arg(0),
            Some(Duration::from_millis(100)),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    drop(conn);
    assert_eq!(pool.stats().evicted, 1, "a cut-short connection is closed");
    let err = pool
        .query_pipeline_with::<redis::Value>(
            redis::pipe().cmd("BLPOP").arg("never").arg(0),
            Some(Duration::from_millis(100)),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(
        pool.query_pipeline::<redis::Value>(redis::pipe().cmd("WATCH").arg("k"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Refused
    );
}
