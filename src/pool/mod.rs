//! The pool: shared multiplexed connections for `query`, exclusive ones for
//! `get`, one health watch over both.

mod blocking;
mod command;
mod connector;
mod core;
mod evented;
mod exclusive;
mod set;
mod shared;
mod thread_conn;
mod watcher;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::{Cmd, FromRedisValue, Pipeline};

use tokio::sync::watch;

use self::blocking::BlockingConnections;
use self::core::Core;
use self::exclusive::{ExclusiveConnections, Manager};
use self::set::ConnectionSet;
use self::shared::SharedConnections;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Phase, Result};
use crate::health::Health;
use crate::server::LocalServer;
use crate::stats::{Counters, Stats};

pub use self::command::{command_class, CommandClass};
pub use self::evented::{Begun, Finished, PendingReply, Resend};
pub use self::exclusive::{Connection, ExclusiveConnection};

/// A resilient Redis pool: timeouts on every phase, one reconnect in flight,
/// a health watch that fails fast while Redis is down.
///
/// Cloning is cheap and shares the pool. The health watch ends when the last
/// clone is dropped or [`Pool::close`] is called.
///
/// # Behavior
///
/// - **One call path.** [`Pool::query`] (and [`Pool::query_with`],
///   [`Pool::query_blocking`], and every binding's call) decides by the
///   command's [`CommandClass`]: ordinary and read-only commands go over one
///   of a few shared multiplexed connections (auto-pipelined: the fast
///   path); a blocking command (`BLPOP`, `XREAD ... BLOCK`, `WAIT`) runs on
///   an exclusive connection with a reply timeout of its own wait plus
///   `timeouts.command`; a connection-state command (`SELECT`, `MULTI`,
///   `WATCH`, `SUBSCRIBE`, ...) is refused unsent with
///   [`ErrorKind::Refused`]. [`Pool::get`] checks out an exclusive
///   connection for transactions, `WATCH` or per-connection state;
///   [`Pool::pubsub`] opens a dedicated subscriber connection.
/// - **Close.** [`Pool::close`] ends every call in flight, on every path,
///   with [`ErrorKind::Closed`]; health then says [`State::Closed`](crate::State::Closed).
/// - **Checkouts cost no round trip.** There is no `PING` per checkout. A
///   connection is dropped instead of reused when it broke (its first I/O
///   error), when a reply on an exclusive connection timed out or was
///   abandoned by a cancelled caller (the server may still be busy with
///   it), or when it was opened before the last outage (generation).
/// - **Health watch.** A background task sends `PING` every
///   `health.interval` with `health.timeout`, on a connection of its own
///   (so `timeouts.command` never shortens or lengthens a probe). After
///   `health.failures_before_down` failed probes in a row — or at once when a
///   connect fails — the pool is `Down`: idle connections are dropped, and
///   `get`/`query` return [`ErrorKind::Unavailable`] immediately, without
///   touching the network. A silent peer (half-open TCP) is caught by the
///   probe timeout.
/// - **Reconnect.** While `Down`, only the watch reconnects, one attempt at a
///   time on the [`Backoff`](crate::Backoff) schedule, whatever the request
///   rate. The first success whose `PING` answers within `health.timeout`
///   turns the pool `Up` (a slower link stays `Down`, no flapping); everything opened before
///   the outage is discarded, so only new connections are handed out.
/// - **No duplicated writes.** A command is sent again only if it is
///   read-only (`GET`, `MGET`, `HGETALL`, ...) and failed because its
///   connection dropped — once, on a fresh connection. Anything else fails
///   with its error; whether to repeat a write is the caller's decision.
/// - **Timeouts.** `timeouts.connect` bounds each connect (handshake and
///   first `PING` included), `timeouts.wait` a checkout when all exclusive
///   connections are taken, `timeouts.command` each reply. The error's kind
///   names the phase: [`ErrorKind::Timeout`]`(`[`Phase`](crate::Phase)`)`.
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    core: Arc<Core>,
    shared: SharedConnections,
    blocking: BlockingConnections,
    exclusive: ExclusiveConnections,
    watcher: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The local server this pool attached to or spawned (`Config::spawn`).
    server: Option<Arc<LocalServer>>,
    /// The runtime the pool was built in: the calling-thread path hands it
    /// blocking commands and connects.
    runtime: tokio::runtime::Handle,
}

impl Shared {
    /// Every connection set of the pool, as the health watch sees them.
    pub(crate) fn sets(&self) -> [&dyn ConnectionSet; 3] {
        [&self.shared, &self.exclusive, &self.blocking]
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.core.close_on_drop();
    }
}

impl Pool {
    /// Builds a pool and makes sure Redis answers: it fails with a clear
    /// error if no working connection (connect, handshake, `PONG`) can be
    /// made within `timeouts.connect`.
    ///
    /// With [`Config::spawn`] set, it first calls
    /// [`ensure_server`](crate::server::ensure_server): a Redis already
    /// answering at that address is used as is; otherwise a local
    /// `redis-server` is started, owned by the pool (stopped by
    /// [`Pool::close`] or when the last clone is dropped) and restarted by
    /// its supervisor if it crashes. The pool then connects to the server's
    /// address, keeping the database number of `url`.
    pub async fn connect(mut config: Config) -> Result<Pool> {
        let server = match config.spawn.clone() {
            Some(spawn) => {
                config.validate()?;
                let server = crate::server::ensure_server(spawn).await?;
                config.url = server_url(&config, &server)?;
                // A TLS server it started is trusted through its own CA.
                if config.tls.is_none() {
                    config.tls = server.client_tls();
                }
                Some(Arc::new(server))
            }
            None => None,
        };
        let pool = Pool::build(config, server)?;
        // The connections' first PING gives health a real round trip.
        let rtt = match pool.shared.shared.fill(&pool.shared.core).await {
            Ok(rtt) => rtt,
            Err(e) => {
                pool.close().await;
                return Err(e);
            }
        };
        pool.shared.core.mark_up(rtt);
        // Started only now, so that the caller of a failed connect hears the
        // cause, not a Down declared by a concurrent probe.
        pool.start_watch();
        Ok(pool)
    }

    /// Builds a pool without touching the network; it never fails on
    /// reachability. The health watch starts probing at once; until it
    /// succeeds the state is `Degraded`, and requests try to connect.
    ///
    /// Must be called within a tokio runtime (it spawns the health watch).
    /// Starting a local server is asynchronous, so a config with
    /// [`Config::spawn`] set is refused here: use [`Pool::connect`].
    pub fn new(config: Config) -> Result<Pool> {
        if config.spawn.is_some() {
            return Err(Error::config(
                "a pool that starts its own server cannot be built lazily: it must connect first",
            )
            .with_rust_hint(" (Rust: Config::spawn needs Pool::connect)"));
        }
        let pool = Pool::build(config, None)?;
        pool.start_watch();
        Ok(pool)
    }

    fn build(config: Config, server: Option<Arc<LocalServer>>) -> Result<Pool> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::config("redkeep::Pool must be created within a tokio runtime"))?;
        let core = Arc::new(Core::new(config)?);
        let pool_config = &core.config;
        let mut timeouts = deadpool::managed::Timeouts::new();
        timeouts.wait = Some(pool_config.timeouts.wait);
        let exclusive = deadpool::managed::Pool::builder(Manager { core: core.clone() })
            .max_size(pool_config.pool.max_size)
            .timeouts(timeouts)
            // The most recently returned connection first: it is warm (its
            // socket, buffers and driver task were just used), and spare
            // connections stay unused rather than rotated through.
            .queue_mode(deadpool::managed::QueueMode::Lifo)
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::config(format!("cannot build the pool: {e}")))?;
        let shared = Arc::new(Shared {
            shared: SharedConnections::new(pool_config.pool.multiplexed),
            blocking: BlockingConnections::new(
                core.connector.thread_target(),
                pool_config.pool.max_size,
            ),
            core: core.clone(),
            exclusive: ExclusiveConnections { pool: exclusive },
            watcher: std::sync::Mutex::new(None),
            server,
            runtime,
        });
        Ok(Pool { shared })
    }

    /// Starts the health watch (within the caller's runtime).
    fn start_watch(&self) {
        let task = tokio::spawn(watcher::run(
            self.shared.core.clone(),
            Arc::downgrade(&self.shared),
        ));
        *self.shared.watcher.lock().expect("not poisoned") = Some(task);
    }

    /// The local server from [`Config::spawn`], attached or spawned.
    pub fn server(&self) -> Option<&LocalServer> {
        self.shared.server.as_deref()
    }

    /// Checks out an exclusive connection; it returns to the pool on drop.
    ///
    /// A connection dropped while it still watches keys or is inside
    /// `MULTI` (or after another connection-state command such as
    /// `SELECT`) is closed instead, so the next caller never inherits that
    /// state; call [`Connection::reset`] first to keep it.
    ///
    /// Fails at once with `Unavailable` while the pool is `Down`, with
    /// `Timeout(Wait)` after `timeouts.wait` if all connections stay taken,
    /// and with `Timeout(Connect)` if a new connection cannot be opened.
    pub async fn get(&self) -> Result<Connection> {
        let core = &self.shared.core;
        core.check_available()?;
        match self.shared.exclusive.pool.get().await {
            Ok(object) => {
                Counters::bump(&core.counters.checkouts);
                Ok(Connection::new(object))
            }
            Err(e) => Err(self.checkout_error(e)),
        }
    }

    fn checkout_error(&self, e: deadpool::managed::PoolError<Error>) -> Error {
        use deadpool::managed::{PoolError, TimeoutType};
        let core = &self.shared.core;
        match e {
            PoolError::Backend(e) => e,
            PoolError::Timeout(TimeoutType::Wait) => {
                Counters::bump(&core.counters.checkout_timeouts);
                Error::timeout(Phase::Wait, core.config.timeouts.wait)
            }
            PoolError::Timeout(TimeoutType::Create) => {
                Error::timeout(Phase::Connect, core.config.timeouts.connect)
            }
            PoolError::Timeout(TimeoutType::Recycle) => {
                Error::timeout(Phase::Wait, core.config.timeouts.wait)
            }
            PoolError::Closed => Error::closed(),
            other => Error::new(ErrorKind::Connection, other.to_string()),
        }
    }

    /// Runs one command and converts the reply: the pool's one call path.
    ///
    /// What happens depends on the command's [`CommandClass`]:
    /// ordinary and read-only commands go over a shared multiplexed
    /// connection; a blocking command (`BLPOP`, `XREAD ... BLOCK`, `WAIT`)
    /// runs on an exclusive connection with a reply timeout of its own wait
    /// plus `timeouts.command`, so it never holds up other callers; a
    /// connection-state command (`SELECT`, `MULTI`, `SUBSCRIBE`, ...) is
    /// refused unsent with [`ErrorKind::Refused`]. See the type's
    /// `Behavior` section for retries.
    ///
    /// ```no_run
    /// # async fn demo(pool: redkeep::Pool) -> redkeep::Result<()> {
    /// use redkeep::redis;
    /// let n: i64 = pool.query(redis::cmd("INCR").arg("visits")).await?;
    /// let job: Option<(String, String)> = pool.query(redis::cmd("BLPOP").arg("jobs").arg(5)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.query_with(cmd, None).await
    }

    /// [`Pool::query`] with a per-call timeout: `timeout` bounds the whole
    /// call (connect, checkout, reply), on top of the pool's own timeouts.
    /// Past it the call fails with `Timeout(Command)`; a command already
    /// written may still run on the server.
    pub async fn query_with<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
        timeout: Option<Duration>,
    ) -> Result<T> {
        let core = &self.shared.core;
        let value = match timeout {
            None => core.until_closed(self.call(cmd)).await?,
            Some(limit) => {
                let bounded = async {
                    match tokio::time::timeout(limit, self.call(cmd)).await {
                        Ok(result) => result,
                        Err(_) => Err(Error::call_timeout(limit)),
                    }
                };
                // Boxed: the timer stays out of the futures of untimed calls.
                Box::pin(core.until_closed(bounded)).await?
            }
        };
        convert(value)
    }

    /// The one decision every path takes: refuse, run exclusively, or send
    /// on a shared connection (re-sending a read once).
    async fn call(&self, cmd: &Cmd) -> Result<redis::Value> {
        match command::admit(cmd)? {
            // Boxed: the rare path stays out of every caller's future.
            CommandClass::Blocking { wait } => Box::pin(self.call_exclusive(cmd, wait)).await,
            class => match self.send(cmd).await {
                Err(e) if e.allows_resend() && class == CommandClass::ReadOnly => {
                    tracing::debug!("resending a read-only command after a dropped connection");
                    self.send(cmd).await
                }
                other => other,
            },
        }
    }

    /// A blocking command on an exclusive connection whose reply timeout is
    /// the command's own wait plus `timeouts.command`.
    async fn call_exclusive(&self, cmd: &Cmd, wait: Option<Duration>) -> Result<redis::Value> {
        let reply_timeout = blocking_reply_timeout(wait, self.shared.core.config.timeouts.command);
        let mut conn = self.get().await?;
        conn.set_command_timeout(reply_timeout);
        match conn.req_packed_command(cmd).await {
            Ok(value) => value
                .extract_error()
                .map_err(|e| Error::from_redis(e, Phase::Command)),
            Err(e) if e.is_timeout() => Err(Error::timeout(Phase::Command, reply_timeout)),
            Err(e) => Err(Error::from_redis(e, Phase::Command)),
        }
    }

    /// Runs one command with blocking I/O on the calling thread — for
    /// callers that block a thread anyway (FFI, Python): one round trip, no
    /// hop to a runtime thread. `timeout` bounds the whole call (connect
    /// included), on top of the pool's own timeouts.
    ///
    /// Same rules as [`Pool::query`] (it is the same decision): fails fast
    /// while `Down`, refuses connection-state commands, re-sends a read-only
    /// command once after a dropped connection and a write never. A
    /// blocking command (`BLPOP`, ...) is handed to the runtime's exclusive
    /// path and waited for. [`Pool::close`] ends the call with `Closed`.
    /// Call it from a plain thread (or tokio's `spawn_blocking`), never from
    /// an async task: it blocks its thread, and a blocking command or a
    /// connect waits on the pool's runtime (tokio panics on that inside a
    /// task).
    pub fn query_blocking<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
        timeout: Option<Duration>,
    ) -> Result<T> {
        let core = &self.shared.core;
        let class = match command::admit(cmd)? {
            CommandClass::Blocking { .. } => {
                return self.shared.runtime.block_on(self.query_with(cmd, timeout));
            }
            class => class,
        };
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let send = || match self
            .shared
            .blocking
            .send(core, &self.shared.runtime, cmd, deadline)
        {
            blocking::Outcome::Done(result) => result,
            // The set is full (more threads than `pool.max_size`) or the
            // connection needs the runtime (TLS): the shared path, waited for.
            blocking::Outcome::UseRuntime => {
                let left = deadline.map(connector::remaining);
                self.shared
                    .runtime
                    .block_on(self.query_with::<redis::Value>(cmd, left))
            }
        };
        let result = match send() {
            Err(e) if e.allows_resend() && class == CommandClass::ReadOnly => {
                tracing::debug!("resending a read-only command after a dropped connection");
                send()
            }
            other => other,
        };
        match (result, timeout, deadline) {
            // The per-call timeout ran out, whichever phase it cut: the same
            // error as on the async path.
            (Err(e), Some(limit), Some(at))
                if e.is_timeout() && connector::remaining(at).is_zero() =>
            {
                Err(Error::call_timeout(limit))
            }
            (result, _, _) => convert(result?),
        }
    }

    /// Runs a pipeline (or a `MULTI`/`EXEC` block built with
    /// `Pipeline::atomic`) in one round trip. Never sent twice.
    ///
    /// The commands inside follow the same table as [`Pool::query`]: a
    /// pipeline holding a connection-state command is refused unsent; one
    /// holding a blocking command runs on an exclusive connection with a
    /// reply timeout of the longest wait plus `timeouts.command`; any other
    /// goes over a shared connection. [`Pool::close`] ends it with `Closed`.
    pub async fn query_pipeline<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T> {
        let core = &self.shared.core;
        // `None`: no blocking command; `Some(None)`: one may wait forever.
        let mut longest_wait: Option<Option<Duration>> = None;
        for cmd in pipe.cmd_iter() {
            if let CommandClass::Blocking { wait } = command::admit(cmd)? {
                longest_wait = Some(match (longest_wait, wait) {
                    (Some(None), _) | (_, None) => None,
                    (Some(Some(a)), Some(b)) => Some(a.max(b)),
                    (None, Some(b)) => Some(b),
                });
            }
        }
        let run = async {
            match longest_wait {
                Some(wait) => self.pipeline_exclusive(pipe, wait).await,
                None => self.pipeline_shared(pipe).await,
            }
        };
        core.until_closed(run).await
    }

    /// [`Pool::query_pipeline`] with a per-call timeout bounding the whole
    /// call (checkout or connection pick, and the replies), as
    /// [`Pool::query_with`].
    pub async fn query_pipeline_with<T: FromRedisValue>(
        &self,
        pipe: &Pipeline,
        timeout: Option<Duration>,
    ) -> Result<T> {
        match timeout {
            None => self.query_pipeline(pipe).await,
            Some(limit) => match tokio::time::timeout(limit, self.query_pipeline(pipe)).await {
                Ok(result) => result,
                Err(_) => Err(Error::call_timeout(limit)),
            },
        }
    }

    /// [`Pool::get`] bounded by `timeout` too (on top of `timeouts.wait`
    /// and `timeouts.connect`): past it the checkout fails with
    /// `Timeout(Command)`, the call's own limit.
    pub async fn get_with(&self, timeout: Option<Duration>) -> Result<Connection> {
        match timeout {
            None => self.get().await,
            Some(limit) => match tokio::time::timeout(limit, self.get()).await {
                Ok(result) => result,
                Err(_) => Err(Error::call_timeout(limit)),
            },
        }
    }

    async fn pipeline_shared<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T> {
        let core = &self.shared.core;
        core.check_available()?;
        let mut picked = self.shared.shared.pick(core).await?;
        match pipe.query_async::<T>(&mut picked.conn).await {
            Ok(value) => Ok(value),
            // Conversion of the replies, not the wire: the connection is fine.
            Err(e) if e.kind() == redis::ErrorKind::Parse => Err(Error::new(
                ErrorKind::Response,
                format!("unexpected reply type: {e}"),
            )),
            Err(e) => Err(self.failed(&picked, e)),
        }
    }

    async fn pipeline_exclusive<T: FromRedisValue>(
        &self,
        pipe: &Pipeline,
        wait: Option<Duration>,
    ) -> Result<T> {
        let reply_timeout = blocking_reply_timeout(wait, self.shared.core.config.timeouts.command);
        let mut conn = self.get().await?;
        conn.set_command_timeout(reply_timeout);
        match pipe.query_async::<T>(&mut *conn).await {
            Ok(value) => Ok(value),
            Err(e) if e.is_timeout() => Err(Error::timeout(Phase::Command, reply_timeout)),
            Err(e) => Err(Error::from_redis(e, Phase::Command)),
        }
    }

    async fn send(&self, cmd: &Cmd) -> Result<redis::Value> {
        let core = &self.shared.core;
        core.check_available()?;
        let mut picked = self.shared.shared.pick(core).await?;
        let result = picked.conn.req_packed_command(cmd).await;
        self.settle(&picked, result)
    }

    /// Maps a reply; evicts the shared connection if it broke.
    fn settle(
        &self,
        picked: &shared::Picked,
        result: redis::RedisResult<redis::Value>,
    ) -> Result<redis::Value> {
        match result {
            Ok(value) => value
                .extract_error()
                .map_err(|e| Error::from_redis(e, Phase::Command)),
            Err(e) => Err(self.failed(picked, e)),
        }
    }

    /// Maps a failed send; evicts the shared connection if it broke.
    fn failed(&self, picked: &shared::Picked, e: redis::RedisError) -> Error {
        let core = &self.shared.core;
        let err = if e.is_timeout() {
            Error::timeout(Phase::Command, core.config.timeouts.command)
        } else {
            Error::from_redis(e, Phase::Command)
        };
        let verdict = core.judge(&err, core::Stream::Multiplexed);
        if verdict == core::Verdict::Broken && self.shared.shared.evict(picked) {
            tracing::debug!(error = %err, "evicting a broken shared connection");
            core.report_broken();
        }
        err
    }

    /// Opens a dedicated pub/sub connection (not pooled: it is yours until
    /// dropped). Fails fast with `Unavailable` while the pool is `Down`, and
    /// with `Timeout(Connect)` after `timeouts.connect`.
    ///
    /// A subscriber is not restored after a dropped connection: when its
    /// message stream ends, open a new one (and re-subscribe) once
    /// [`Pool::health`] is `Up` again.
    pub async fn pubsub(&self) -> Result<redis::aio::PubSub> {
        let core = &self.shared.core;
        core.check_available()?;
        core.open_pubsub().await
    }

    /// The current health, read without sending a command.
    pub fn health(&self) -> Health {
        self.shared.core.health()
    }

    /// A receiver that sees every health change.
    pub fn watch(&self) -> watch::Receiver<Health> {
        self.shared.core.subscribe()
    }

    /// Counters, and the size of every connection set now.
    pub fn stats(&self) -> Stats {
        let status = self.shared.exclusive.pool.status();
        let mut stats =
            self.shared
                .core
                .counters
                .snapshot(status.size, status.available, status.waiting);
        stats.shared_open = self.shared.shared.size().open;
        let thread = self.shared.blocking.size();
        stats.thread_open = thread.open;
        stats.thread_idle = thread.idle;
        stats
    }

    /// The configuration the pool was built with.
    pub fn config(&self) -> &Config {
        &self.shared.core.config
    }

    /// Stops the health watch, drops every connection and stops a server
    /// the pool spawned. Later calls fail with `Closed`. Idempotent; clones
    /// share the closed state.
    pub async fn close(&self) {
        let core = &self.shared.core;
        core.close();
        self.shared.exclusive.pool.close();
        self.shared.shared.clear();
        self.shared.blocking.shut_down_all();
        let task = self.shared.watcher.lock().expect("not poisoned").take();
        if let Some(task) = task {
            // The watch may be mid-connect; it holds nothing worth finishing.
            task.abort();
            let _ = task.await;
        }
        if let Some(server) = &self.shared.server {
            if let Err(e) = server.stop().await {
                tracing::warn!(error = %e, "stopping the local redis-server failed");
            }
        }
    }

    /// Whether [`Pool::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.shared.core.is_closed()
    }
}

/// The server's URL (password included) with the database of `config.url`.
fn server_url(config: &Config, server: &LocalServer) -> Result<String> {
    let db = config.connection_info()?.redis_settings().db();
    Ok(server.url_with_db(db))
}

/// The reply timeout of a blocking command: its own server-side wait plus
/// `timeouts.command`; a year for one that may wait forever.
fn blocking_reply_timeout(wait: Option<Duration>, command: Duration) -> Duration {
    const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);
    wait.map_or(FOREVER, |w| w.saturating_add(command))
}

fn convert<T: FromRedisValue>(value: redis::Value) -> Result<T> {
    redis::from_redis_value(value)
        .map_err(|e| Error::new(ErrorKind::Response, format!("unexpected reply type: {e}")))
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("url", &self.shared.core.config.redacted_url())
            .field("state", &self.health().state)
            .field("closed", &self.is_closed())
            .finish()
    }
}
