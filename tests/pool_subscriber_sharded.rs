//! `Subscriber::ssubscribe`: shard messages arrive as `ShardMessage`, apart
//! from plain ones, and keep arriving after the server is killed and
//! restarted: the shard set is subscribed again with the rest.

mod support;

use std::time::Duration;

use redkeep::redis::{self, AsyncCommands};
use redkeep::{Message, Pool, Subscriber, SubscriberEvent};
use support::{fast_config, within, RedisServer};

const LIMIT: Duration = Duration::from_secs(10);

async fn next(sub: &Subscriber, what: &str) -> SubscriberEvent {
    within(LIMIT, what, sub.next_message())
        .await
        .unwrap_or_else(|| panic!("{what}: the subscriber ended"))
}

async fn expect_shard_message(sub: &Subscriber, channel: &str, payload: &str) -> Message {
    match next(sub, &format!("a shard message on {channel}")).await {
        SubscriberEvent::ShardMessage(m) => {
            assert_eq!(
                (m.channel_str(), m.payload_str(), m.pattern.as_deref()),
                (channel.into(), payload.into(), None)
            );
            m
        }
        other => panic!("expected a shard message on {channel}, got {other:?}"),
    }
}

async fn spublish(server: &RedisServer, channel: &str, payload: &str) -> i64 {
    let mut c = server.client().await;
    redis::cmd("SPUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async(&mut c)
        .await
        .expect("SPUBLISH")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_messages_keep_arriving_after_kill_9_and_restart() {
    if support::redis_major_version() < 7 {
        eprintln!("skipped: SSUBSCRIBE needs Redis 7");
        return;
    }
    let mut server = RedisServer::start();
    let pool = within(
        Duration::from_secs(5),
        "Pool::connect",
        Pool::connect(fast_config(server.url())),
    )
    .await
    .expect("connect");
    let sub = pool.subscriber().await.expect("subscriber");
    sub.subscribe(["news"]).await.unwrap();
    sub.ssubscribe(["orders", "stock"]).await.unwrap();
    assert_eq!(
        sub.shard_subscriptions().await,
        vec![b"orders".to_vec(), b"stock".to_vec()]
    );

    assert_eq!(spublish(&server, "orders", "one").await, 1);
    expect_shard_message(&sub, "orders", "one").await;
    // A plain message on the same connection stays a plain one.
    let mut c = server.client().await;
    let n: i64 = c.publish("news", "plain").await.unwrap();
    assert_eq!(n, 1);
    match next(&sub, "a plain message").await {
        SubscriberEvent::Message(m) => assert_eq!(m.payload_str(), "plain"),
        other => panic!("expected a plain message, got {other:?}"),
    }

    server.kill9();
    match next(&sub, "the Disconnected event").await {
        SubscriberEvent::Disconnected { reason } => assert!(!reason.is_empty()),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    server.restart();
    match next(&sub, "the Resubscribed event").await {
        SubscriberEvent::Resubscribed {
            channels,
            shard_channels,
            ..
        } => {
            assert_eq!(channels, vec![b"news".to_vec()]);
            assert_eq!(shard_channels, vec![b"orders".to_vec(), b"stock".to_vec()]);
        }
        other => panic!("expected Resubscribed, got {other:?}"),
    }
    assert_eq!(spublish(&server, "stock", "two").await, 1);
    expect_shard_message(&sub, "stock", "two").await;

    // Unsubscribing from none means from every shard channel in the set.
    sub.sunsubscribe(Vec::<String>::new()).await.unwrap();
    assert!(sub.shard_subscriptions().await.is_empty());
    assert_eq!(spublish(&server, "orders", "gone").await, 0);
    // The connection still answers: a shard channel again.
    sub.ssubscribe(["orders"]).await.unwrap();
    assert_eq!(spublish(&server, "orders", "three").await, 1);
    expect_shard_message(&sub, "orders", "three").await;

    // close() lets the connection go at once (the subscriber value lives on).
    sub.close();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while spublish(&server, "orders", "after close").await != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "still subscribed after close()"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pool.close().await;
}
