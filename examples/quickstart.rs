//! Connects to `REDIS_URL`, runs a few commands and prints health changes as
//! they happen. Without `REDIS_URL` it uses `redis://127.0.0.1:6379`, and if
//! nothing answers there it starts a local `redis-server` (stopped at exit).
//!
//! ```text
//! cargo run --example quickstart
//! REDIS_URL=redis://127.0.0.1:7000 cargo run --example quickstart
//! RUST_LOG=redkeep=debug cargo run --example quickstart   # the library's events
//! ```

use std::time::Duration;

use redkeep::redis;

#[tokio::main]
async fn main() {
    // The library logs through `tracing`; this shows its events on stderr,
    // filtered by RUST_LOG (default: warnings), coloured only on a terminal.
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    if let Err(e) = run().await {
        eprintln!("quickstart: {e}");
        std::process::exit(1);
    }
}

async fn run() -> redkeep::Result<()> {
    let config = match std::env::var("REDIS_URL") {
        Ok(url) => redkeep::Config::from_url(url),
        Err(_) => redkeep::Config::from_url("redis://127.0.0.1:6379").spawn_if_absent()?,
    };
    println!("connecting to {}", config.redacted_url());
    let pool = redkeep::Pool::connect(config).await?;
    match pool.server().map(|s| s.origin()) {
        Some(redkeep::server::Origin::Spawned { pid }) => {
            println!("nothing answered: started a local redis-server (pid {pid})")
        }
        Some(redkeep::server::Origin::Attached) => {
            println!("a Redis was already running: attached")
        }
        None => {}
    }

    let mut health = pool.watch();
    tokio::spawn(async move {
        while health.changed().await.is_ok() {
            let h = health.borrow_and_update().clone();
            match h.last_error {
                Some(e) => println!("health: {} ({e})", h.state),
                None => println!("health: {}", h.state),
            }
        }
    });

    pool.query::<()>(redis::cmd("SET").arg("redkeep:quickstart").arg("hello"))
        .await?;
    let value: Option<String> = pool
        .query(redis::cmd("GET").arg("redkeep:quickstart"))
        .await?;
    println!("GET redkeep:quickstart -> {value:?}");
    let n: i64 = pool
        .query(redis::cmd("INCR").arg("redkeep:counter"))
        .await?;
    println!("INCR redkeep:counter -> {n}");

    {
        let mut conn = pool.get().await?;
        let (a, b): (i64, i64) = redis::pipe()
            .atomic()
            .incr("redkeep:a", 1)
            .incr("redkeep:b", 2)
            .query_async(&mut *conn)
            .await
            .map_err(|e| redkeep::Error::new(redkeep::ErrorKind::Response, e.to_string()))?;
        println!("MULTI INCR a, INCR b -> ({a}, {b}) on an exclusive connection");
    }

    let h = pool.health();
    println!("health: {} (probe rtt {:?})", h.state, h.rtt);
    println!("stats: {:?}", pool.stats());
    let secs: u64 = std::env::var("QUICKSTART_WATCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if secs > 0 {
        println!("watching health for {secs}s (stop or restart Redis to see it change)");
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
    pool.close().await;
    Ok(())
}
