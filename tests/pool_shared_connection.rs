//! The shared connection behind `query()`, driven by its callers: under
//! many concurrent callers every one gets its own reply; callers that give
//! up at any point (before their request is written, while waiting, while
//! reading for the others) leave the connection in step; requests too large
//! for the socket's buffer at once go out whole, with small ones around them;
//! a caller whose future is kept but no longer polled, reading, due to
//! write or handed the reading, holds no one else's request or reply;
//! a caller alone, which polls the socket before sleeping, reads replies of
//! every size and replies slower than its poll.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redkeep::{redis, Pool};
use support::{fast_config, within, RedisServer};

async fn pool_for(server: &RedisServer) -> Pool {
    let mut cfg = fast_config(server.url());
    cfg.timeouts.command = Duration::from_secs(10);
    within(Duration::from_secs(5), "connect", Pool::connect(cfg))
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_callers_each_get_their_own_reply() {
    let server = RedisServer::start();
    let pool = Arc::new(pool_for(&server).await);
    let mut tasks = Vec::new();
    for task in 0..1000 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                let key = format!("k{task}:{i}");
                let value = format!("v{task}:{i}");
                let set: String = pool
                    .query(redis::cmd("SET").arg(&key).arg(&value))
                    .await
                    .unwrap();
                assert_eq!(set, "OK");
                let got: String = pool.query(redis::cmd("GET").arg(&key)).await.unwrap();
                assert_eq!(got, value, "a reply went to the wrong caller");
                let (a, b): (String, i64) = pool
                    .query_pipeline(redis::pipe().get(&key).strlen(&key))
                    .await
                    .unwrap();
                assert_eq!((a.as_str(), b), (value.as_str(), value.len() as i64));
            }
        }));
    }
    for task in tasks {
        within(Duration::from_secs(60), "callers", task)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_giving_up_at_any_moment_leave_the_connection_in_step() {
    let server = RedisServer::start();
    let pool = Arc::new(pool_for(&server).await);
    let mut tasks = Vec::new();
    for task in 0..200u64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut gave_up = 0;
            for i in 0..50u64 {
                let key = format!("g{task}:{i}");
                if (task + i) % 2 == 0 {
                    // Gives up after 0 to 90 µs: before, during or after
                    // its request, sometimes while reading for others.
                    let limit = Duration::from_micros((task * 7 + i * 13) % 100);
                    let cmd = redis::cmd("INCR").arg(&key).to_owned();
                    if pool.query_with::<i64>(&cmd, Some(limit)).await.is_err() {
                        gave_up += 1;
                    }
                } else {
                    let n: i64 = pool
                        .query(redis::cmd("INCRBY").arg(&key).arg(i))
                        .await
                        .unwrap();
                    assert_eq!(n, i as i64, "a reply went to the wrong caller");
                }
            }
            gave_up
        }));
    }
    let mut gave_up = 0;
    for task in tasks {
        gave_up += within(Duration::from_secs(60), "callers", task)
            .await
            .unwrap();
    }
    assert!(gave_up > 0, "no caller gave up: the test tested nothing");
    // In step afterwards: every reply is the one asked for.
    for i in 0..100 {
        let echoed: String = pool.query(redis::cmd("ECHO").arg(i)).await.unwrap();
        assert_eq!(echoed, i.to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_larger_than_the_socket_buffer_go_out_whole() {
    let server = RedisServer::start();
    let pool = Arc::new(pool_for(&server).await);
    let big = "x".repeat(16 << 20);
    let small = {
        let pool = pool.clone();
        tokio::spawn(async move {
            for i in 0..500 {
                let echoed: String = pool.query(redis::cmd("ECHO").arg(i)).await.unwrap();
                assert_eq!(echoed, i.to_string());
            }
        })
    };
    let set: String = pool
        .query(redis::cmd("SET").arg("big").arg(&big))
        .await
        .unwrap();
    assert_eq!(set, "OK");
    let mut pipe = redis::pipe();
    for i in 0..50_000 {
        pipe.cmd("RPUSH").arg("list").arg(i).ignore();
    }
    pipe.cmd("LLEN").arg("list");
    let (len,): (i64,) = pool.query_pipeline(&pipe).await.unwrap();
    assert_eq!(len, 50_000);
    let got: String = pool.query(redis::cmd("GET").arg("big")).await.unwrap();
    assert!(got == big, "the large value came back changed");
    within(Duration::from_secs(30), "small requests", small)
        .await
        .unwrap();
}

/// Twenty calls one after the other, each answered with its own reply well
/// within its timeout: none is held behind a stalled call (`what`).
async fn others_still_get_their_replies(pool: &Pool, what: &str) {
    for i in 0..20 {
        let echoed: String = within(
            Duration::from_secs(2),
            what,
            pool.query(redis::cmd("ECHO").arg(i)),
        )
        .await
        .unwrap();
        assert_eq!(echoed, i.to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_kept_but_no_longer_polled_holds_no_one_elses_reply() {
    let server = RedisServer::start();
    let pool = Arc::new(pool_for(&server).await);
    let _: () = pool
        .query(redis::cmd("SET").arg("a").arg("1"))
        .await
        .unwrap();
    // Polled once (the server stopped, so that its reply cannot come at
    // once), the call is written and waits for its reply, reading for the
    // connection; then its owner stops polling it.
    let get_a = redis::cmd("GET").arg("a").to_owned();
    let stalled = pool.query::<String>(&get_a);
    let mut stalled = std::pin::pin!(stalled);
    let paused = server.pause();
    std::future::poll_fn(|cx| {
        assert!(stalled.as_mut().poll(cx).is_pending(), "answered at once");
        std::task::Poll::Ready(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    paused.resume();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Other callers still get their replies, well within their timeout.
    others_still_get_their_replies(&pool, "a call behind a stalled one").await;
    // And the stalled call, polled again, has its own reply.
    let a = within(Duration::from_secs(2), "the stalled call", stalled).await;
    assert_eq!(a.unwrap(), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_due_to_write_but_no_longer_polled_holds_no_one_elses_request() {
    let server = RedisServer::start();
    let pool = Arc::new(pool_for(&server).await);
    let paused = server.pause();
    // One call in flight, so that the next waits a scheduler turn to write.
    let in_flight = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.query::<String>(redis::cmd("ECHO").arg("first")).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let echo = redis::cmd("ECHO").arg("stalled").to_owned();
    let stalled = pool.query::<String>(&echo);
    let mut stalled = std::pin::pin!(stalled);
    std::future::poll_fn(|cx| {
        assert!(stalled.as_mut().poll(cx).is_pending(), "answered at once");
        std::task::Poll::Ready(())
    })
    .await;
    paused.resume();
    let first = within(Duration::from_secs(2), "the call in flight", in_flight).await;
    assert_eq!(first.unwrap().unwrap(), "first");
    others_still_get_their_replies(&pool, "a call behind a stalled one").await;
    let stalled = within(Duration::from_secs(2), "the stalled call", stalled).await;
    assert_eq!(stalled.unwrap(), "stalled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_handed_the_reading_but_no_longer_polled_holds_no_one_elses_reply() {
    let server = RedisServer::start();
    let pool = Arc::new(pool_for(&server).await);
    let paused = server.pause();
    // Two calls in flight, the first reading for the connection.
    let echo = |word: &'static str| {
        let pool = pool.clone();
        tokio::spawn(async move { pool.query::<String>(redis::cmd("ECHO").arg(word)).await })
    };
    let first = echo("first");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = echo("second");
    tokio::time::sleep(Duration::from_millis(20)).await;
    // A third, written and waiting (polled twice: it writes after a
    // scheduler turn), then no longer polled.
    let echo_stalled = redis::cmd("ECHO").arg("stalled").to_owned();
    let stalled = pool.query::<String>(&echo_stalled);
    let mut stalled = std::pin::pin!(stalled);
    std::future::poll_fn(|cx| {
        assert!(stalled.as_mut().poll(cx).is_pending(), "answered at once");
        assert!(stalled.as_mut().poll(cx).is_pending(), "answered at once");
        std::task::Poll::Ready(())
    })
    .await;
    // The replies come: the second caller reads the first two and hands
    // the reading to the third, which does not come for it.
    paused.resume();
    let first = within(Duration::from_secs(2), "the first call", first).await;
    assert_eq!(first.unwrap().unwrap(), "first");
    let second = within(Duration::from_secs(2), "the second call", second).await;
    assert_eq!(second.unwrap().unwrap(), "second");
    // Callers after it still get their replies, well within their timeout.
    others_still_get_their_replies(&pool, "a call behind one handed the reading").await;
    let stalled = within(Duration::from_secs(2), "the stalled call", stalled).await;
    assert_eq!(stalled.unwrap(), "stalled");
}

/// A script that keeps the server busy for 5 ms, then returns 5.
const BUSY_5_MS: &str = "local s = redis.call('TIME') repeat local n = redis.call('TIME') \
     until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) >= 5000 return 5";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_alone_reads_replies_of_every_size_and_speed() {
    let server = RedisServer::start();
    let pool = pool_for(&server).await;
    // One caller at a time for a while: its reads poll the socket first.
    for i in 0..50 {
        let got: Option<String> = pool.query(redis::cmd("GET").arg("absent")).await.unwrap();
        assert_eq!(got, None, "call {i}");
    }
    let mut size = 1;
    while size <= 8 << 20 {
        let value: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let key = format!("size:{size}");
        let _: () = pool
            .query(redis::cmd("SET").arg(&key).arg(&value))
            .await
            .unwrap();
        // A reply of many socket reads, some of them past the poll.
        let got: Vec<u8> = pool.query(redis::cmd("GET").arg(&key)).await.unwrap();
        assert!(got == value, "the {size}-byte value came back changed");
        // A reply later than any poll (the server is busy for 5 ms), then
        // a quick one: the read that slept and the next are in step.
        let slow: i64 = pool
            .query(redis::cmd("EVAL").arg(BUSY_5_MS).arg(0))
            .await
            .unwrap();
        assert_eq!(slow, 5);
        let len: usize = pool.query(redis::cmd("STRLEN").arg(&key)).await.unwrap();
        assert_eq!(len, size);
        size *= 4;
    }
}
