//! The exclusive path: deadpool-managed connections checked out one caller at a time.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{Cmd, FromRedisValue, Pipeline, RedisFuture, Value};

use super::command::{self, CommandClass, Step};
use super::core::{Core, Purpose, Stream, Verdict};
use crate::error::{Error, Phase};
use crate::stats::Counters;

/// The exclusive set: deadpool's pool of [`ExclusiveConnection`]s.
pub(crate) struct ExclusiveConnections {
    pub(crate) pool: managed::Pool<Manager>,
}

impl super::set::ConnectionSet for ExclusiveConnections {
    fn evict_idle(&self) -> usize {
        self.pool.retain(|_, _| false).removed.len()
    }

    fn size(&self) -> super::set::SetSize {
        let status = self.pool.status();
        super::set::SetSize {
            open: status.size,
            idle: status.available,
        }
    }
}

/// Creates connections and decides, without I/O, whether an idle one is fresh.
pub(crate) struct Manager {
    pub(crate) core: Arc<Core>,
    /// For a Cluster, the node this set's connections go to.
    pub(crate) node: Option<Arc<super::cluster::Node>>,
}

impl managed::Manager for Manager {
    type Type = ExclusiveConnection;
    type Error = Error;

    async fn create(&self) -> Result<ExclusiveConnection, Error> {
        self.core.check_available()?;
        let generation = self.core.generation();
        let target = self.node.as_ref().map(|n| &n.server);
        // A close ends the connect too (a checkout waits for it).
        let connect = self.core.connect_to(Purpose::Request, target);
        let conn = self.core.until_closed(connect).await?;
        Ok(ExclusiveConnection {
            conn,
            generation,
            broken: false,
            in_flight: false,
            timeout_overridden: false,
            state: TxState::default(),
            core: self.core.clone(),
        })
    }

    /// No network round trip: freshness comes from the health watch's
    /// generation and from marking a connection broken on its first I/O error.
    async fn recycle(&self, obj: &mut ExclusiveConnection, _: &Metrics) -> RecycleResult<Error> {
        if !obj.reusable() || !self.core.is_fresh(obj.generation) || self.core.is_down() {
            self.core.count_dropped();
            return Err(RecycleError::message("stale connection"));
        }
        if obj.timeout_overridden {
            obj.conn
                .set_response_timeout(self.core.config.timeouts.command);
            obj.timeout_overridden = false;
        }
        Ok(())
    }
}

/// A connection owned by one caller at a time.
///
/// It runs commands with `timeouts.command` as the reply timeout and marks
/// itself broken on its first connection error or reply timeout, so it is
/// dropped instead of going back to the pool. So is a connection whose
/// command was cancelled before its reply came (the caller's own timeout, an
/// aborted task): the server may still be busy with it.
pub struct ExclusiveConnection {
    conn: MultiplexedConnection,
    generation: u64,
    broken: bool,
    /// A command was sent and its reply not yet received (the future was
    /// dropped half way if this is still set when the checkout ends).
    in_flight: bool,
    timeout_overridden: bool,
    /// What `WATCH`/`MULTI` and other connection-state commands left on it.
    state: TxState,
    core: Arc<Core>,
}

/// The connection state an exclusive connection's commands left behind: a
/// connection with any of it set is not handed to the next caller as is
/// ([`Connection::reset`] undoes `WATCH` and `MULTI`; anything else drops it).
#[derive(Debug, Default, Clone, Copy)]
struct TxState {
    watching: bool,
    in_multi: bool,
    /// `SELECT`, `CLIENT SETNAME`, `SUBSCRIBE`, ...: cannot be undone cheaply.
    other: bool,
}

impl TxState {
    fn apply(&mut self, step: Step) {
        match step {
            Step::Watch => self.watching = true,
            Step::Multi => self.in_multi = true,
            Step::End => {
                *self = TxState {
                    other: self.other,
                    ..TxState::default()
                }
            }
            Step::Unwatch => self.watching = false,
            Step::Other => self.other = true,
            Step::None => {}
        }
    }

    fn clean(self) -> bool {
        !self.watching && !self.in_multi && !self.other
    }
}

impl ExclusiveConnection {
    /// Sets the reply timeout for the commands sent through this checkout,
    /// e.g. longer than a `BLPOP` timeout. It reverts to `timeouts.command`
    /// when the connection goes back to the pool.
    pub fn set_command_timeout(&mut self, timeout: Duration) {
        self.conn.set_response_timeout(timeout);
        self.timeout_overridden = true;
    }

    /// Whether it may go back to the pool: not broken, no reply pending, no
    /// watch, transaction or other connection state left on it.
    fn reusable(&self) -> bool {
        !self.broken && !self.in_flight && self.state.clean()
    }

    /// After an error, the core's one rule: a timeout leaves this stream
    /// out of step (the reply may still come, or the server may still be
    /// blocked on a `BLPOP` for it), a broken link also wakes the watch.
    /// The drop itself (and its count) happens when the checkout ends.
    fn observe<T>(&mut self, result: &redis::RedisResult<T>) {
        if let Err(e) = result {
            let err = Error::from_redis(e.clone(), crate::error::Phase::Command);
            match self.core.judge(&err, Stream::Ordered) {
                Verdict::Keep => {}
                Verdict::Drop => self.broken = true,
                Verdict::Broken => {
                    self.broken = true;
                    self.core.wake.notify_one();
                }
            }
        }
    }
}

impl ConnectionLike for ExclusiveConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            self.in_flight = true;
            // Counted as sent even if it fails: an UNWATCH too many is harmless.
            self.state.apply(command::step(cmd));
            let core = self.core.clone();
            let result = until_closed(&core, self.conn.send_packed_command(cmd)).await?;
            self.in_flight = false;
            self.observe(&result);
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            self.in_flight = true;
            for cmd in pipeline.cmd_iter() {
                self.state.apply(command::step(cmd));
            }
            let core = self.core.clone();
            let send = self.conn.send_packed_commands(pipeline, offset, count);
            let result = until_closed(&core, send).await?;
            self.in_flight = false;
            if pipeline.is_transaction() && result.is_ok() {
                // Its own EXEC ran: the transaction and any watches are over.
                self.state.apply(Step::End);
            }
            self.observe(&result);
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }
}

/// Runs `send`, or ends it when the pool closes: the connection then stays
/// marked in flight, so it is dropped, not returned.
async fn until_closed<T>(
    core: &Core,
    send: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> redis::RedisResult<redis::RedisResult<T>> {
    core.until_closed(async { Ok(send.await) })
        .await
        .map_err(|_| crate::error::PoolClosed.into_redis())
}

/// An exclusive connection checked out of a [`Pool`](crate::Pool); it goes
/// back on drop (or is discarded if it broke).
///
/// Use it as a redis-rs connection: `cmd.query_async(&mut *conn)` or
/// `cmd.query_async(&mut conn)`.
pub struct Connection {
    object: Option<managed::Object<Manager>>,
    /// When it was checked out, if calls are timed (`use_time`).
    checked_out: Option<std::time::Instant>,
}

impl Connection {
    pub(crate) fn new(
        object: managed::Object<Manager>,
        checked_out: Option<std::time::Instant>,
    ) -> Self {
        Self {
            object: Some(object),
            checked_out,
        }
    }

    fn inner(&self) -> &ExclusiveConnection {
        self.object.as_ref().expect("present until drop")
    }

    fn inner_mut(&mut self) -> &mut ExclusiveConnection {
        self.object.as_mut().expect("present until drop")
    }
}

impl Connection {
    /// Runs one command on this connection and converts its reply: any
    /// command, `WATCH`, `MULTI` and `EXEC` included (this connection is
    /// yours). The core's table still sets the reply timeout: a blocking
    /// command (`BLPOP`, ...) gets its own wait plus `timeouts.command`,
    /// anything else `timeouts.command`. `timeout` bounds the whole call;
    /// past it the call fails with `Timeout(Command)` and the connection is
    /// dropped when the checkout ends (its reply may still come). Never
    /// re-sent.
    pub async fn query_with<T: FromRedisValue>(
        &mut self,
        cmd: &Cmd,
        timeout: Option<Duration>,
    ) -> crate::Result<T> {
        let command_timeout = self.inner().core.config.timeouts.command;
        let reply_timeout = match command::command_class(cmd) {
            CommandClass::Blocking { wait } => super::blocking_reply_timeout(wait, command_timeout),
            _ => command_timeout,
        };
        let conn = self.inner_mut();
        conn.conn.set_response_timeout(reply_timeout);
        conn.timeout_overridden = reply_timeout != command_timeout;
        let run = async {
            match conn.req_packed_command(cmd).await {
                Ok(value) => value
                    .extract_error()
                    .map_err(|e| Error::from_redis(e, Phase::Command)),
                Err(e) if e.is_timeout() => Err(Error::timeout(Phase::Command, reply_timeout)),
                Err(e) => Err(Error::from_redis(e, Phase::Command)),
            }
        };
        super::convert(bounded(timeout, run).await?)
    }

    /// Runs a pipeline (or a `MULTI`/`EXEC` block built with
    /// `Pipeline::atomic`) on this connection in one round trip, bounded by
    /// `timeout` as [`Connection::query_with`]. Never sent twice.
    pub async fn query_pipeline_with<T: FromRedisValue>(
        &mut self,
        pipe: &Pipeline,
        timeout: Option<Duration>,
    ) -> crate::Result<T> {
        let command_timeout = self.inner().core.config.timeouts.command;
        let conn = self.inner_mut();
        conn.conn.set_response_timeout(command_timeout);
        conn.timeout_overridden = false;
        let run = async {
            match pipe.query_async::<T>(conn).await {
                Ok(value) => Ok(value),
                Err(e) if e.kind() == redis::ErrorKind::Parse => Err(Error::new(
                    crate::ErrorKind::Response,
                    format!("unexpected reply type: {e}"),
                )),
                Err(e) if e.is_timeout() => Err(Error::timeout(Phase::Command, command_timeout)),
                Err(e) => Err(Error::from_redis(e, Phase::Command)),
            }
        };
        bounded(timeout, run).await
    }

    /// Undoes what a transaction left on this connection, so that it can go
    /// back to the pool when dropped: `DISCARD` inside `MULTI`, `UNWATCH`
    /// while keys are watched, nothing otherwise (one round trip at most).
    ///
    /// A connection dropped without it while watching or inside `MULTI`, or
    /// after another connection-state command (`SELECT`, `CLIENT SETNAME`,
    /// ...), is closed instead of reused, so no caller ever inherits
    /// another's watches or transaction.
    pub async fn reset(&mut self) -> crate::Result<()> {
        let state = self.inner().state;
        let name = if state.other {
            return Ok(());
        } else if state.in_multi {
            "DISCARD"
        } else if state.watching {
            "UNWATCH"
        } else {
            return Ok(());
        };
        self.query_with::<()>(&redis::cmd(name), None).await
    }
}

/// `run`, failing with `Timeout(Command)` past `timeout` (if any).
async fn bounded<T>(
    timeout: Option<Duration>,
    run: impl std::future::Future<Output = crate::Result<T>>,
) -> crate::Result<T> {
    match timeout {
        None => run.await,
        Some(limit) => match tokio::time::timeout(limit, run).await {
            Ok(result) => result,
            Err(_) => Err(Error::call_timeout(limit)),
        },
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(object) = self.object.take() {
            object.core.metrics.used(self.checked_out);
            if !object.reusable() {
                Counters::bump(&object.core.counters.evicted);
                tracing::debug!(
                    pool = %object.core.name(),
                    broken = object.broken,
                    reply_pending = object.in_flight,
                    state = ?object.state,
                    "evicting an exclusive connection"
                );
                drop(managed::Object::take(object));
            }
        }
    }
}

impl Connection {
    /// Sends every command of `pipe` in one round trip and returns every
    /// reply as the server sent it: error replies in place, and for a
    /// `MULTI` ... `EXEC` block its `OK`, each `QUEUED` and the `EXEC`
    /// array. For adapters that parse replies themselves (the redis-py
    /// client of the Python binding); nothing is refused, the connection is
    /// the caller's.
    ///
    /// The reply timeout is the longest the commands allow
    /// ([`CommandClass::reply_timeout`](crate::CommandClass::reply_timeout)
    /// on `timeouts.command`): a `BLPOP q 5` may take 5 s plus
    /// `timeouts.command`. Never re-sent; a connection error or timeout
    /// marks the connection broken, so it is dropped when the checkout ends.
    pub async fn send_all(&mut self, pipe: &Pipeline) -> crate::Result<Vec<Value>> {
        let command = self.inner().core.config.timeouts.command;
        let timeout = pipe
            .cmd_iter()
            .map(|cmd| crate::command_class(cmd).reply_timeout(command))
            .max()
            .unwrap_or(command);
        let count = pipe.cmd_iter().count();
        self.set_command_timeout(timeout);
        match self.req_packed_commands(pipe, 0, count).await {
            Ok(values) => Ok(values),
            Err(e) if e.is_timeout() => Err(Error::timeout(crate::error::Phase::Command, timeout)),
            Err(e) => Err(Error::from_redis(e, crate::error::Phase::Command)),
        }
    }
}

impl Deref for Connection {
    type Target = ExclusiveConnection;
    fn deref(&self) -> &ExclusiveConnection {
        self.inner()
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut ExclusiveConnection {
        self.inner_mut()
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.inner_mut().req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.inner_mut()
            .req_packed_commands(pipeline, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.inner().get_db()
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("generation", &self.inner().generation)
            .field("broken", &self.inner().broken)
            .finish()
    }
}
