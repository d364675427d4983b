//! `Pool::subscriber()`: a subscriber keeps receiving across a server
//! restart, re-subscribes every channel and pattern, and says so.

mod support;

use std::time::Duration;

use redkeep::redis::{self, AsyncCommands};
use redkeep::{ErrorKind, Message, Pool, Subscriber, SubscriberEvent};
use support::{fast_config, within, RedisServer};

const LIMIT: Duration = Duration::from_secs(10);

async fn connect(cfg: redkeep::Config) -> Pool {
    within(Duration::from_secs(5), "Pool::connect", Pool::connect(cfg))
        .await
        .expect("connect")
}

async fn next(sub: &Subscriber, what: &str) -> SubscriberEvent {
    within(LIMIT, what, sub.next_message())
        .await
        .unwrap_or_else(|| panic!("{what}: the subscriber ended"))
}

async fn expect_message(sub: &Subscriber, channel: &str, payload: &str) -> Message {
    match next(sub, &format!("a message on {channel}")).await {
        SubscriberEvent::Message(m) => {
            assert_eq!(
                (m.channel_str(), m.payload_str()),
                (channel.into(), payload.into())
            );
            m
        }
        other => panic!("expected a message on {channel}, got {other:?}"),
    }
}

async fn publish(server: &RedisServer, channel: &str, payload: &str) -> i64 {
    let mut c = server.client().await;
    c.publish(channel, payload).await.expect("PUBLISH")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_keeps_receiving_after_kill_9_and_restart() {
    let mut server = RedisServer::start();
    let pool = connect(fast_config(server.url())).await;
    let sub = pool.subscriber().await.expect("subscriber");
    sub.subscribe(["news"]).await.unwrap();
    sub.psubscribe(["alert.*"]).await.unwrap();

    assert_eq!(publish(&server, "news", "one").await, 1);
    expect_message(&sub, "news", "one").await;
    assert_eq!(publish(&server, "alert.fire", "hot").await, 1);
    let m = expect_message(&sub, "alert.fire", "hot").await;
    assert_eq!(m.pattern.as_deref(), Some(&b"alert.*"[..]));

    server.kill9();
    match next(&sub, "the Disconnected event").await {
        SubscriberEvent::Disconnected { reason } => assert!(!reason.is_empty()),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    // While there is no connection: kept in the set, and said so.
    let e = sub.subscribe(["late"]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");

    server.restart();
    match next(&sub, "the Resubscribed event").await {
        SubscriberEvent::Resubscribed {
            channels, patterns, ..
        } => {
            assert_eq!(channels, vec![b"late".to_vec(), b"news".to_vec()]);
            assert_eq!(patterns, vec![b"alert.*".to_vec()]);
        }
        other => panic!("expected Resubscribed, got {other:?}"),
    }
    assert_eq!(pool.stats().resubscribes, 1);
    assert_eq!(publish(&server, "news", "two").await, 1);
    expect_message(&sub, "news", "two").await;
    assert_eq!(publish(&server, "late", "three").await, 1);
    expect_message(&sub, "late", "three").await;
    assert_eq!(publish(&server, "alert.flood", "wet").await, 1);
    expect_message(&sub, "alert.flood", "wet").await;

    // Unsubscribing works on the new connection too.
    sub.unsubscribe(["news"]).await.unwrap();
    sub.punsubscribe(Vec::<String>::new()).await.unwrap();
    assert_eq!(publish(&server, "news", "gone").await, 0);
    assert_eq!(publish(&server, "alert.x", "gone").await, 0);
    assert_eq!(sub.subscriptions().await, (vec![b"late".to_vec()], vec![]));

    sub.close();
    assert!(sub.next_message().await.is_none());
    let e = sub.subscribe(["x"]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed);
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_is_caught_by_the_health_watch_and_resubscribed() {
    let server = RedisServer::start();
    let pool = connect(fast_config(server.url())).await;
    let sub = pool.subscriber().await.expect("subscriber");
    sub.subscribe(["news"]).await.unwrap();
    // SIGSTOP: the subscriber's socket stays open and silent; only the
    // pool's probes can tell.
    let paused = server.pause();
    match next(&sub, "the Disconnected event").await {
        SubscriberEvent::Disconnected { reason } => {
            assert!(reason.contains("pool went down"), "{reason}")
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    paused.resume();
    match next(&sub, "the Resubscribed event").await {
        SubscriberEvent::Resubscribed { channels, .. } => {
            assert_eq!(channels, vec![b"news".to_vec()])
        }
        other => panic!("expected Resubscribed, got {other:?}"),
    }
    // The old connection may still be subscribed on the server until it
    // notices; the new one receives.
    assert!(publish(&server, "news", "back").await >= 1);
    expect_message(&sub, "news", "back").await;
    pool.close().await;
    // Closing the pool ends the subscriber.
    assert!(within(LIMIT, "the end", sub.next_message()).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_subscription_leaves_the_set() {
    let server = RedisServer::start();
    let mut admin = server.client().await;
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            "reader",
            "on",
            ">pw",
            "resetchannels",
            "&ok",
            "+@all",
        ])
        .query_async(&mut admin)
        .await
        .unwrap();
    let url = format!("redis://reader:pw@127.0.0.1:{}", server.port());
    let pool = connect(fast_config(url)).await;
    let sub = pool.subscriber().await.expect("subscriber");
    sub.subscribe(["ok"]).await.unwrap();
    let e = sub.subscribe(["forbidden"]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Response, "{e}");
    assert_eq!(sub.subscriptions().await.0, vec![b"ok".to_vec()]);
    assert_eq!(publish(&server, "ok", "fine").await, 1);
    expect_message(&sub, "ok", "fine").await;
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_far_behind_gets_a_disconnect_and_a_fresh_start_not_unbounded_memory() {
    let server = RedisServer::start();
    let mut cfg = fast_config(server.url());
    // The marker subscription below waits for the whole flood to be read.
    cfg.timeouts.command = Duration::from_secs(5);
    let pool = connect(cfg).await;
    let sub = pool.subscriber().await.expect("subscriber");
    sub.subscribe(["flood"]).await.unwrap();

    // Far more than the subscriber holds for a reader that does not read
    // (its event buffer and the connection's push queue).
    let mut c = server.client().await;
    let total = 20_000;
    for chunk in 0..total / 1000 {
        let mut pipe = redis::pipe();
        for i in 0..1000 {
            pipe.publish("flood", chunk * 1000 + i).ignore();
        }
        let _: () = pipe.query_async(&mut c).await.expect("PUBLISH");
    }
    // The server may still hold part of the flood (in its output buffer or
    // the sockets' buffers). Its confirmation of one more subscription
    // comes after the whole flood on the same connection: once it is in,
    // every message has reached the subscriber, and far more than it holds
    // are waiting.
    match sub.subscribe(["flood:marker"]).await {
        Ok(()) => {}
        // Overflowed already and reconnecting: kept, sent when it is back.
        Err(e) if e.kind() == ErrorKind::Unavailable => {}
        Err(e) => panic!("SUBSCRIBE flood:marker: {e}"),
    }

    let mut delivered = 0u32;
    let reason = loop {
        match next(
            &sub,
            &format!("the flood, then Disconnected (after {delivered} messages)"),
        )
        .await
        {
            SubscriberEvent::Message(m) => {
                assert_eq!(
                    m.payload_str(),
                    delivered.to_string(),
                    "in order, none skipped"
                );
                delivered += 1;
            }
            SubscriberEvent::Disconnected { reason } => break reason,
            other => panic!("expected messages then Disconnected, got {other:?}"),
        }
    };
    assert!(reason.contains("fell behind"), "{reason}");
    assert!(
        delivered < total,
        "a reader that fell this far behind cannot have had all {total} messages"
    );
    match next(&sub, "the Resubscribed event").await {
        SubscriberEvent::Resubscribed { channels, .. } => {
            // The queue can overflow before the marker's SUBSCRIBE: that
            // one then went on the new connection, after the resubscribe.
            assert!(
                channels == [b"flood".to_vec(), b"flood:marker".to_vec()]
                    || channels == [b"flood".to_vec()],
                "resubscribed to {channels:?}"
            );
        }
        other => panic!("expected Resubscribed, got {other:?}"),
    }
    assert_eq!(
        sub.subscriptions().await.0,
        vec![b"flood".to_vec(), b"flood:marker".to_vec()],
        "the set holds both"
    );
    // The old connection's close may reach the server after the new
    // SUBSCRIBE: wait until the server counts one subscriber again.
    within(LIMIT, "one subscriber on flood", async {
        loop {
            let (_, n): (String, i64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg("flood")
                .query_async(&mut c)
                .await
                .expect("PUBSUB NUMSUB");
            if n == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(publish(&server, "flood", "after").await, 1);
    // The queue can overflow while the flood is still being published
    // (the task may move messages slower than the socket brings them):
    // its tail then reaches the new connection, in order, before "after".
    let mut last = None;
    loop {
        match next(&sub, "the flood's tail, then the message after").await {
            SubscriberEvent::Message(m) if m.payload_str() == "after" => break,
            SubscriberEvent::Message(m) => {
                let n: u32 = m.payload_str().parse().expect("a flood message");
                assert!(
                    n < total && last.is_none_or(|l| n > l),
                    "in order: {last:?} then {n}"
                );
                last = Some(n);
            }
            other => panic!("expected messages, got {other:?}"),
        }
    }
    pool.close().await;
}
