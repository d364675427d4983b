//! The pool: shared multiplexed connections for `query`, exclusive ones for
//! `get`, one health watch over both.

mod blocking;
mod cluster;
mod command;
mod connector;
mod core;
mod evented;
mod exclusive;
mod handle;
mod monitor;
mod mux;
mod sentinel;
mod set;
mod shared;
#[cfg(unix)]
mod spin;
mod subscriber;
mod thread_conn;
mod watcher;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::{Cmd, FromRedisValue, Pipeline};

use tokio::sync::watch;

use self::blocking::BlockingConnections;
use self::connector::Connector;
use self::core::Core;
use self::exclusive::{ExclusiveConnections, Manager};
use self::set::ConnectionSet;
use self::shared::SharedConnections;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Phase, Result};
use crate::health::{Health, State};
use crate::server::LocalServer;
use crate::stats::{Counters, Stats};

pub use self::command::{command_class, CommandClass};
pub use self::evented::{Begun, Finished, PendingReply, Resend};
pub use self::exclusive::{Connection, ExclusiveConnection};
pub use self::handle::Handle;
pub use self::monitor::Monitor;
pub use self::subscriber::{Message, Subscriber, SubscriberEvent};

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
///   path; over TCP and unix sockets the pool's own, driven by the calling
///   tasks themselves, with no driver task or channel between them and the
///   socket); a blocking command (`BLPOP`, `XREAD ... BLOCK`, `WAIT`) runs on
///   an exclusive connection with a reply timeout of its own wait plus
///   `timeouts.command`; a connection-state command (`SELECT`, `MULTI`,
///   `WATCH`, `SUBSCRIBE`, ...) is refused unsent with
///   [`ErrorKind::Refused`]. [`Pool::get`] checks out an exclusive
///   connection for transactions, `WATCH` or per-connection state;
///   [`Pool::pubsub`] opens a dedicated subscriber connection,
///   [`Pool::monitor`] one for the server's `MONITOR` feed.
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
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    core: Arc<Core>,
    shared: SharedConnections,
    blocking: BlockingConnections,
    exclusive: ExclusiveConnections,
    /// A Cluster's exclusive connections, one set per node.
    nodes: cluster::NodeSets,
    watcher: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Tasks that follow the deployment (a Sentinel group's events).
    followers: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// The local server this pool attached to or spawned (`Config::spawn`).
    server: Option<Arc<LocalServer>>,
    /// The database number of the URL, for [`Handle`]'s `get_db`.
    db: i64,
    /// The runtime the pool was built in: the calling-thread path hands it
    /// blocking commands and connects.
    runtime: tokio::runtime::Handle,
}

impl Shared {
    fn stop_followers(&self) {
        let tasks = std::mem::take(&mut *self.followers.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            task.abort();
        }
    }

    /// Every connection set of the pool, as the health watch sees them.
    pub(crate) fn sets(&self) -> [&dyn ConnectionSet; 4] {
        [&self.shared, &self.exclusive, &self.blocking, &self.nodes]
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.core.close_on_drop();
        self.stop_followers();
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
        if let Connector::Cluster(cluster) = &pool.shared.core.connector {
            let core = &pool.shared.core;
            let limit = core.config.timeouts.connect;
            let (state, reason, nodes) =
                match tokio::time::timeout(limit * 2, cluster.probe_all(core)).await {
                    Ok(found) => found,
                    Err(_) => (State::Down, Some("no cluster node answered".into()), vec![]),
                };
            if state == State::Down {
                pool.close().await;
                return Err(Error::new(
                    ErrorKind::Connection,
                    format!(
                        "cannot reach the cluster {}: {}",
                        core.config.redacted_url(),
                        reason.unwrap_or_default()
                    ),
                ));
            }
            core.publish_cluster(state, reason, nodes);
            pool.start_watch();
            return Ok(pool);
        }
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
        let db = pool_config.deployment()?.db();
        let mut timeouts = deadpool::managed::Timeouts::new();
        timeouts.wait = Some(pool_config.timeouts.wait);
        let exclusive = deadpool::managed::Pool::builder(Manager {
            core: core.clone(),
            node: None,
        })
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
            blocking: BlockingConnections::new(pool_config.pool.max_size),
            core: core.clone(),
            exclusive: ExclusiveConnections { pool: exclusive },
            nodes: cluster::NodeSets::default(),
            watcher: std::sync::Mutex::new(None),
            followers: std::sync::Mutex::new(Vec::new()),
            server,
            db,
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
        *self.shared.followers.lock().expect("not poisoned") =
            sentinel::spawn_listeners(&self.shared.core);
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
        if matches!(core.connector, Connector::Cluster(_)) {
            return Err(Error::new(
                ErrorKind::Refused,
                "a Cluster pool has one set of connections per node: check one out with Pool::get_for_key(key)",
            ));
        }
        let started = core.metrics.start();
        match self.shared.exclusive.pool.get().await {
            Ok(object) => {
                Counters::bump(&core.counters.checkouts);
                let checked_out = core.metrics.waited(started);
                Ok(Connection::new(object, checked_out))
            }
            Err(e) => Err(self.checkout_error(e)),
        }
    }

    /// Checks out an exclusive connection to the node that serves `key`:
    /// the primary of its hash slot for a Cluster (`MULTI`/`WATCH` on keys
    /// of that slot, blocking commands); the same as [`Pool::get`] for one
    /// server or a Sentinel group.
    ///
    /// Fails at once with `Unavailable` when that slot's primary is down.
    ///
    /// ```no_run
    /// # async fn demo(pool: redkeep::Pool) -> redkeep::Result<()> {
    /// use redkeep::redis;
    /// let mut conn = pool.get_for_key("{user:1}:cart").await?;
    /// let (n,): (i64,) = redis::pipe().atomic().incr("{user:1}:cart", 1).query_async(&mut conn).await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_for_key(&self, key: impl AsRef<[u8]>) -> Result<Connection> {
        let core = &self.shared.core;
        let Connector::Cluster(cluster) = &core.connector else {
            return self.get().await;
        };
        core.check_available()?;
        let node = cluster.primary_for(cluster::slot_of(key.as_ref()))?;
        let pool = self.shared.nodes.pool_for(core, &node)?;
        let started = core.metrics.start();
        match pool.get().await {
            Ok(object) => {
                Counters::bump(&core.counters.checkouts);
                let checked_out = core.metrics.waited(started);
                Ok(Connection::new(object, checked_out))
            }
            Err(e) => Err(self.checkout_error(e)),
        }
    }

    /// An exclusive connection for `cmd`: by its key on a Cluster.
    fn get_for<'a>(
        &'a self,
        cmd: Option<&'a Cmd>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Connection>> + Send + 'a>> {
        Box::pin(async move {
            if matches!(self.shared.core.connector, Connector::Cluster(_)) {
                if let Some(key) = cmd.and_then(cluster::first_key) {
                    return self.get_for_key(key).await;
                }
            }
            self.get().await
        })
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
            // `call` ends by itself on close: see `Pool::send`.
            None => self.call(cmd).await?,
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
    /// on a shared connection (re-sending a read once). Ends with `Closed`
    /// as soon as the pool is closed, on every path.
    async fn call(&self, cmd: &Cmd) -> Result<redis::Value> {
        match command::admit(cmd)? {
            // Boxed: the rare path stays out of every caller's future.
            CommandClass::Blocking { wait } => Box::pin(self.call_exclusive(cmd, wait)).await,
            class => match self.send(cmd).await {
                Err(e) if e.allows_resend() && class == CommandClass::ReadOnly => {
                    tracing::debug!(pool = %self.shared.core.name(), "resending a read-only command after a dropped connection");
                    self.send(cmd).await
                }
                other => other,
            },
        }
    }

    /// A blocking command on an exclusive connection whose reply timeout is
    /// the command's own wait plus `timeouts.command`. Close ends its
    /// checkout (closing the set, whose connects end on close) and its
    /// command (see `ExclusiveConnection`).
    async fn call_exclusive(&self, cmd: &Cmd, wait: Option<Duration>) -> Result<redis::Value> {
        let core = &self.shared.core;
        let reply_timeout = blocking_reply_timeout(wait, core.config.timeouts.command);
        let mut conn = self.get_for(Some(cmd)).await?;
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
    ///
    /// On Unix a read first polls its socket for up to 50 µs (one thread of
    /// the process at a time; after a poll that found nothing, the next 15
    /// reads of that connection do not poll), then sleeps in the kernel: a
    /// local server's reply is read without waking a sleeping thread, which
    /// on a virtual machine can cost more than the round trip itself.
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
        let send = || {
            let started = core.metrics.start();
            let outcome = self
                .shared
                .blocking
                .send(core, &self.shared.runtime, cmd, deadline);
            match outcome {
                blocking::Outcome::Done(result) => {
                    // The calling-thread set: its wait is taking an idle
                    // connection, inseparable from the call; all of it is use.
                    core.metrics.used(core.metrics.ready(started));
                    result
                }
                // The set is full (more threads than `pool.max_size`) or the
                // connection needs the runtime (TLS): the shared path, waited for.
                blocking::Outcome::UseRuntime => {
                    let left = deadline.map(connector::remaining);
                    self.shared
                        .runtime
                        .block_on(self.query_with::<redis::Value>(cmd, left))
                }
            }
        };
        let result = match send() {
            Err(e) if e.allows_resend() && class == CommandClass::ReadOnly => {
                tracing::debug!(pool = %core.name(), "resending a read-only command after a dropped connection");
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
        // The replies redis-rs itself asks for in `Pipeline::query_async`.
        let (offset, count) = if pipe.is_transaction() {
            (pipe.len() + 1, 1)
        } else {
            (0, pipe.len())
        };
        let values = self.pipeline_values(pipe, offset, count).await?;
        match pipe
            .query_async::<T>(&mut handle::Replay(Some(values)))
            .await
        {
            Ok(value) => Ok(value),
            Err(e) if e.kind() == redis::ErrorKind::Parse => Err(Error::new(
                ErrorKind::Response,
                format!("unexpected reply type: {e}"),
            )),
            Err(e) => Err(Error::from_redis(e, Phase::Command)),
        }
    }

    /// Runs a pipeline and returns `count` raw replies from `offset` (what
    /// redis-rs asks of a connection): the one pipeline path of
    /// [`Pool::query_pipeline`] and [`Handle`].
    pub(crate) async fn pipeline_values(
        &self,
        pipe: &Pipeline,
        offset: usize,
        count: usize,
    ) -> Result<Vec<redis::Value>> {
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
                Some(wait) => self.pipeline_exclusive(pipe, offset, count, wait).await,
                None => self.pipeline_shared(pipe, offset, count).await,
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

    async fn pipeline_shared(
        &self,
        pipe: &Pipeline,
        offset: usize,
        count: usize,
    ) -> Result<Vec<redis::Value>> {
        let core = &self.shared.core;
        if let Connector::Cluster(cluster) = &core.connector {
            return Box::pin(cluster.send_pipeline(core, pipe, offset, count)).await;
        }
        core.check_available()?;
        let started = core.metrics.start();
        let mut picked = self.shared.shared.pick(core).await?;
        let picked_at = core.metrics.waited_if(started, picked.waited);
        let result = picked
            .request_pipeline(pipe, offset, count)
            .await
            .unwrap_or_else(shared::timed_out);
        core.metrics.used(picked_at);
        match result {
            Ok(values) => Ok(values),
            Err(e) => Err(self.failed(&picked, e)),
        }
    }

    async fn pipeline_exclusive(
        &self,
        pipe: &Pipeline,
        offset: usize,
        count: usize,
        wait: Option<Duration>,
    ) -> Result<Vec<redis::Value>> {
        let reply_timeout = blocking_reply_timeout(wait, self.shared.core.config.timeouts.command);
        let mut conn = self.get_for(pipe.cmd_iter().next()).await?;
        conn.set_command_timeout(reply_timeout);
        match conn.req_packed_commands(pipe, offset, count).await {
            Ok(values) => Ok(values),
            Err(e) if e.is_timeout() => Err(Error::timeout(Phase::Command, reply_timeout)),
            Err(e) => Err(Error::from_redis(e, Phase::Command)),
        }
    }

    async fn send(&self, cmd: &Cmd) -> Result<redis::Value> {
        let core = &self.shared.core;
        if let Connector::Cluster(cluster) = &core.connector {
            return Box::pin(core.until_closed(cluster.send(core, cmd))).await;
        }
        core.check_available()?;
        let started = core.metrics.start();
        let mut picked = self.shared.shared.pick(core).await?;
        let picked_at = core.metrics.waited_if(started, picked.waited);
        let result = if picked.ends_on_close {
            // Close shuts the connection down, and so ends this request.
            picked.request(cmd).await.unwrap_or_else(shared::timed_out)
        } else {
            let request = async { Ok(picked.request(cmd).await.unwrap_or_else(shared::timed_out)) };
            Box::pin(core.until_closed(request)).await?
        };
        core.metrics.used(picked_at);
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
        if core.calls_ended() {
            // The close ended the connection under the request.
            return Error::closed_during_call();
        }
        let err = if e.is_timeout() {
            Error::timeout(Phase::Command, core.config.timeouts.command)
        } else {
            Error::from_redis(e, Phase::Command)
        };
        let verdict = core.judge(&err, core::Stream::Multiplexed);
        if verdict == core::Verdict::Broken && self.shared.shared.evict(picked) {
            tracing::debug!(pool = %core.name(), error = %err, "evicting a broken shared connection");
            core.report_broken();
        }
        err
    }

    /// The pool as a redis-rs connection: every [`redis::AsyncCommands`]
    /// method works on it, without a checkout, through [`Pool::query`]'s
    /// rules (admission, timeouts, fail-fast, no re-sent writes). Cheap:
    /// call it per use or keep a clone. See [`Handle`] for how errors look.
    ///
    /// ```no_run
    /// # async fn demo(pool: redkeep::Pool) -> redkeep::redis::RedisResult<()> {
    /// use redkeep::redis::{self, AsyncCommands};
    /// let mut h = pool.handle();
    /// let _: () = h.set_ex("greeting", "hello", 60).await?;
    /// let v: String = h.get("greeting").await?;
    /// let n: i64 = h.incr("visits", 1).await?;
    /// let (a, b): (String, i64) = redis::pipe()
    ///     .get("greeting")
    ///     .get("visits")
    ///     .query_async(&mut h)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn handle(&self) -> Handle {
        Handle::new(self.clone(), self.shared.db)
    }

    /// Opens a dedicated pub/sub connection (not pooled: it is yours until
    /// dropped). Fails fast with `Unavailable` while the pool is `Down`, and
    /// with `Timeout(Connect)` after `timeouts.connect`.
    ///
    /// This one is not restored after a dropped connection: when its
    /// message stream ends, open a new one (and re-subscribe) once
    /// [`Pool::health`] is `Up` again — or use [`Pool::subscriber`], which
    /// does that itself.
    pub async fn pubsub(&self) -> Result<redis::aio::PubSub> {
        let core = &self.shared.core;
        core.check_available()?;
        core.open_pubsub().await
    }

    /// A subscriber on a dedicated pub/sub connection that re-subscribes by
    /// itself when the pool is `Up` again after an outage, and says so
    /// ([`SubscriberEvent::Resubscribed`]). Fails fast with `Unavailable`
    /// while the pool is `Down`, and with `Timeout(Connect)` after
    /// `timeouts.connect`. See [`Subscriber`].
    pub async fn subscriber(&self) -> Result<Subscriber> {
        Subscriber::open(self.shared.core.clone()).await
    }

    /// The server's `MONITOR` feed on a dedicated connection (not pooled,
    /// never reconnected: a lost connection is an error of
    /// [`Monitor::next_line`]). Fails fast with `Unavailable` while the pool
    /// is `Down`, with `Closed` after [`Pool::close`], and with
    /// `Timeout(Connect)` after `timeouts.connect`. See [`Monitor`].
    pub async fn monitor(&self) -> Result<Monitor> {
        Monitor::open(self.shared.core.clone()).await
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
        if let Connector::Cluster(cluster) = &self.shared.core.connector {
            stats.shared_open = cluster.shared_open();
            let nodes = self.shared.nodes.size();
            stats.size += nodes.open;
            stats.idle += nodes.idle;
        }
        let thread = self.shared.blocking.size();
        stats.thread_open = thread.open;
        stats.thread_idle = thread.idle;
        stats
    }

    /// Every metric of the pool now, read without I/O: connection counts
    /// by state, pending requests, timeouts, create/wait/use time and
    /// probe round-trip histograms, health, counters. See
    /// [`metrics`](crate::metrics) for the names.
    pub fn metrics(&self) -> crate::Metrics {
        let restarts = self.server().and_then(|s| match s.origin() {
            crate::Origin::Spawned { .. } => Some(u64::from(s.restarts())),
            crate::Origin::Attached => None,
        });
        crate::Metrics::collect(
            &self.shared.core.metrics,
            self.health(),
            self.stats(),
            &self.shared.core.config,
            restarts,
        )
    }

    /// [`Pool::metrics`] as Prometheus text (format 0.0.4), every series
    /// labelled `pool="<redacted address>"`; serve it on `/metrics`.
    ///
    /// ```no_run
    /// # async fn demo(pool: redkeep::Pool) {
    /// let text = pool.metrics_text();
    /// assert!(text.contains("# TYPE db_client_connection_count gauge"));
    /// # }
    /// ```
    pub fn metrics_text(&self) -> String {
        self.metrics().to_prometheus()
    }

    /// The `/health` answer: `200` while `Up`, `503` otherwise, with a JSON
    /// body (state, since, last error, rtt, restarts); see
    /// [`metrics::health_json`](crate::metrics::health_json).
    pub fn health_json(&self) -> (u16, String) {
        self.metrics().health_json()
    }

    /// The pool's name: its address with the password redacted. It is the
    /// `pool` field of every event the pool logs and the `pool` label of
    /// its metrics.
    pub fn name(&self) -> &str {
        self.shared.core.name()
    }

    /// The pool's metrics recorder (for the OpenTelemetry registration).
    #[cfg(feature = "otel")]
    pub(crate) fn recorder(&self) -> &crate::metrics::Recorder {
        &self.shared.core.metrics
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
        self.shared.nodes.close();
        if let Connector::Cluster(cluster) = &core.connector {
            cluster.clear();
        }
        self.shared.shared.clear();
        self.shared.blocking.shut_down_all();
        self.shared.stop_followers();
        let task = self.shared.watcher.lock().expect("not poisoned").take();
        if let Some(task) = task {
            // The watch may be mid-connect; it holds nothing worth finishing.
            task.abort();
            let _ = task.await;
        }
        if let Some(server) = &self.shared.server {
            if let Err(e) = server.stop().await {
                tracing::warn!(pool = %core.name(), error = %e, "stopping the local redis-server failed");
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
    CommandClass::Blocking { wait }.reply_timeout(command)
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
