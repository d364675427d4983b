//! The common tasks, one after the other, on a local Redis that the pool
//! starts itself if none answers (so it runs where no Redis is installed
//! only if `redis-server` or `valkey-server` is on `PATH`; the quickstart
//! fetches one): a cache with expiry, a counter, a transaction with
//! `WATCH`, a queue with `BLPOP`, and pub/sub that survives a server crash.
//!
//! ```text
//! cargo run --example tasks [redis://127.0.0.1:PORT]
//! ```

use std::time::Duration;

use redkeep::redis::{self, AsyncCommands};
use redkeep::{Config, Pool, SubscriberEvent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| {
        // A free port: this example never touches a Redis it did not start.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        format!("redis://127.0.0.1:{port}")
    });
    let pool = Pool::connect(Config::from_url(url.as_str()).spawn_if_absent()?).await?;
    println!(
        "pool on {} ({})",
        pool.name(),
        if pool.server().is_some() {
            "started here"
        } else {
            "attached"
        }
    );

    cache(&pool).await?;
    counter(&pool).await?;
    transfer_with_watch(&pool).await?;
    queue(&pool).await?;
    pubsub_across_a_crash(&pool).await?;

    pool.close().await;
    Ok(())
}

/// A cache entry with a time to live, read back, through `pool.handle()`.
async fn cache(pool: &Pool) -> redis::RedisResult<()> {
    let mut h = pool.handle();
    let _: () = h.set_ex("cache:user:1", "alice", 60).await?;
    let name: Option<String> = h.get("cache:user:1").await?;
    let ttl: i64 = h.ttl("cache:user:1").await?;
    println!("cache: {name:?}, expires in {ttl} s");
    Ok(())
}

/// A counter: `INCR` is a write, sent once and never again.
async fn counter(pool: &Pool) -> redkeep::Result<()> {
    let n: i64 = pool.query(redis::cmd("INCR").arg("visits")).await?;
    println!("counter: visits = {n}");
    Ok(())
}

/// An optimistic transaction: `WATCH`, read, `MULTI`/`EXEC` on a
/// connection of its own; `EXEC` answers nil if a watched key changed, and
/// the loop tries again.
async fn transfer_with_watch(pool: &Pool) -> Result<(), Box<dyn std::error::Error>> {
    let _: () = pool.handle().set("balance:a", 100).await?;
    let _: () = pool.handle().set("balance:b", 0).await?;
    let mut conn = pool.get().await?;
    loop {
        let _: () = redis::cmd("WATCH")
            .arg("balance:a")
            .query_async(&mut *conn)
            .await?;
        let a: i64 = conn.get("balance:a").await?;
        let done: Option<(i64, i64)> = redis::pipe()
            .atomic()
            .decr("balance:a", 30)
            .incr("balance:b", 30)
            .query_async(&mut *conn)
            .await?;
        if let Some((a_after, b_after)) = done {
            println!("transaction: a {a} -> {a_after}, b -> {b_after}");
            return Ok(());
        }
    }
}

/// A job queue: `BLPOP` waits on an exclusive connection of the pool's,
/// with its own wait added to the reply timeout, while other calls go on.
async fn queue(pool: &Pool) -> redkeep::Result<()> {
    let worker = {
        let pool = pool.clone();
        tokio::spawn(async move {
            pool.query::<Option<(String, String)>>(redis::cmd("BLPOP").arg("jobs").arg(5))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _: i64 = pool
        .query(redis::cmd("RPUSH").arg("jobs").arg("job-1"))
        .await?;
    let job = worker.await.expect("the worker task")?;
    println!("queue: took {job:?}");
    Ok(())
}

/// Pub/sub that keeps its subscriptions when the server crashes: with a
/// server the pool started, kill it and watch the subscriber come back.
async fn pubsub_across_a_crash(pool: &Pool) -> Result<(), Box<dyn std::error::Error>> {
    let sub = pool.subscriber().await?;
    sub.subscribe(["news"]).await?;
    let _: i64 = pool
        .query(redis::cmd("PUBLISH").arg("news").arg("before"))
        .await?;
    expect(&sub, "a message", |e| {
        matches!(e, SubscriberEvent::Message(_))
    })
    .await?;
    let Some(pid) = pool.server().and_then(|s| s.pid()) else {
        println!("pub/sub: attached to a server this example did not start, so no crash");
        return Ok(());
    };
    kill(pid);
    expect(&sub, "Disconnected", |e| {
        matches!(e, SubscriberEvent::Disconnected { .. })
    })
    .await?;
    // Once the pool's supervisor has restarted the server.
    expect(&sub, "Resubscribed", |e| {
        matches!(e, SubscriberEvent::Resubscribed { .. })
    })
    .await?;
    let _: i64 = pool
        .query(redis::cmd("PUBLISH").arg("news").arg("after"))
        .await?;
    expect(&sub, "a message", |e| {
        matches!(e, SubscriberEvent::Message(_))
    })
    .await?;
    Ok(())
}

/// Prints the subscriber's next event; an error if it is not `what` or
/// does not come within 15 s.
async fn expect(
    sub: &redkeep::Subscriber,
    what: &str,
    is: impl Fn(&SubscriberEvent) -> bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let event = tokio::time::timeout(Duration::from_secs(15), sub.next_message())
        .await
        .map_err(|_| format!("pub/sub: no {what} within 15 s"))?
        .ok_or("pub/sub: the subscriber ended")?;
    match &event {
        SubscriberEvent::Message(m) => {
            println!("pub/sub: {} says {}", m.channel_str(), m.payload_str())
        }
        SubscriberEvent::Disconnected { reason } => println!("pub/sub: disconnected ({reason})"),
        SubscriberEvent::Resubscribed { channels, .. } => {
            println!("pub/sub: resubscribed to {} channel(s)", channels.len())
        }
        other => println!("pub/sub: {other:?}"),
    }
    if is(&event) {
        Ok(())
    } else {
        Err(format!("pub/sub: expected {what}, got {event:?}").into())
    }
}

/// Kills the pool's server the hard way (the pool's supervisor restarts it).
fn kill(pid: u32) {
    #[cfg(unix)]
    // SAFETY: `kill` has no memory effects; `pid` is the server's.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = std::process::Command::new("taskkill")
        .args(["/F", "/PID", &pid.to_string()])
        .status();
    println!("pub/sub: killed the server (pid {pid})");
}
