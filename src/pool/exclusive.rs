//! The exclusive path: deadpool-managed connections checked out one caller at a time.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{Cmd, Pipeline, RedisFuture, Value};

use super::core::{Core, Purpose, Stream, Verdict};
use crate::error::Error;
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
}

impl managed::Manager for Manager {
    type Type = ExclusiveConnection;
    type Error = Error;

    async fn create(&self) -> Result<ExclusiveConnection, Error> {
        self.core.check_available()?;
        let generation = self.core.generation();
        let conn = self.core.connect(Purpose::Request).await?;
        Ok(ExclusiveConnection {
            conn,
            generation,
            broken: false,
            in_flight: false,
            timeout_overridden: false,
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
    core: Arc<Core>,
}

impl ExclusiveConnection {
    /// Sets the reply timeout for the commands sent through this checkout,
    /// e.g. longer than a `BLPOP` timeout. It reverts to `timeouts.command`
    /// when the connection goes back to the pool.
    pub fn set_command_timeout(&mut self, timeout: Duration) {
        self.conn.set_response_timeout(timeout);
        self.timeout_overridden = true;
    }

    /// Whether it may go back to the pool: not broken, no reply pending.
    fn reusable(&self) -> bool {
        !self.broken && !self.in_flight
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
            let core = self.core.clone();
            let send = self.conn.send_packed_commands(pipeline, offset, count);
            let result = until_closed(&core, send).await?;
            self.in_flight = false;
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
                    "evicting an exclusive connection"
                );
                drop(managed::Object::take(object));
            }
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
