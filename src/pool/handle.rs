//! `Pool::handle`: the pool as a redis-rs connection, so that every
//! `AsyncCommands` method runs through the pool's one call path.

use redis::aio::ConnectionLike;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use super::Pool;
use crate::error::{Error, ErrorKind, PoolClosed};

/// The pool as a redis-rs async connection: every
/// [`redis::AsyncCommands`] method works on it without a checkout.
///
/// Made by [`Pool::handle`]. Cloning is cheap (a reference count); a clone
/// is one more handle on the same pool, and dropping handles never closes
/// the pool.
///
/// # Behavior
///
/// - **The pool's rules.** A command goes through [`Pool::query`]: the same
///   admission by [`CommandClass`](crate::CommandClass) (a blocking command
///   runs on an exclusive connection, a connection-state command such as
///   `SELECT`, `MULTI` or `SUBSCRIBE` is refused unsent), the same
///   timeouts, the same fail-fast while `Down`, and the same re-send rule:
///   a read-only command is sent again once after a dropped connection, a
///   write never. A pipeline (`redis::pipe().query_async(&mut handle)`)
///   goes through [`Pool::query_pipeline`] and is never sent twice.
/// - **Errors.** redis-rs wants a [`redis::RedisError`], so the pool's
///   [`Error`] is converted (see `From<Error> for RedisError`): a server's
///   error reply or a dropped connection is the redis-rs error the pool
///   met, unchanged; a timeout is an I/O error for which
///   [`RedisError::is_timeout`](redis::RedisError::is_timeout) is true; a
///   fail-fast `Unavailable` an I/O error of kind `NotConnected`
///   ([`is_connection_dropped`](redis::RedisError::is_connection_dropped));
///   a refused command a [`redis::ErrorKind::Client`] error; every message
///   is the pool's own. Converting back with `redkeep::Error::from` gives
///   `Closed` again for a closed pool.
/// - **State.** A handle holds no connection: per-connection state cannot
///   be set on it. For `WATCH`/`MULTI` or `SELECT` use [`Pool::get`]; for
///   pub/sub, [`Pool::subscriber`].
#[derive(Clone)]
pub struct Handle {
    pool: Pool,
    db: i64,
}

impl Handle {
    pub(crate) fn new(pool: Pool, db: i64) -> Self {
        Self { pool, db }
    }

    /// The pool this handle runs on.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

impl ConnectionLike for Handle {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            self.pool
                .query_with::<Value>(cmd, None)
                .await
                .map_err(redis::RedisError::from)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            self.pool
                .pipeline_values(pipeline, offset, count)
                .await
                .map_err(redis::RedisError::from)
        })
    }

    /// The database number of the pool's URL (`redis://host/3` is 3).
    fn get_db(&self) -> i64 {
        self.db
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("pool", &self.pool)
            .field("db", &self.db)
            .finish()
    }
}

/// Hands redis-rs the replies of a pipeline the pool already ran, so that
/// redis-rs turns them into the caller's type its own way (a transaction's
/// `EXEC` array, `ignore()`d commands, error replies).
pub(crate) struct Replay(pub(crate) Option<Vec<Value>>);

impl ConnectionLike for Replay {
    fn req_packed_command<'a>(&'a mut self, _: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async { Err(replayed_twice()) })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        _: &'a Pipeline,
        _: usize,
        _: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let values = self.0.take().ok_or_else(replayed_twice);
        Box::pin(async move { values })
    }

    fn get_db(&self) -> i64 {
        0
    }
}

fn replayed_twice() -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::Client,
        "redkeep: pipeline replies replayed twice (a bug)",
    ))
}

/// How a pool error looks to redis-rs code (a [`Handle`]'s callers).
///
/// | `redkeep::ErrorKind` | `redis::RedisError` |
/// |---|---|
/// | `Response` (an error reply), `Connection` met on the wire | the redis-rs error itself, unchanged |
/// | `Timeout(_)` | I/O, `std::io::ErrorKind::TimedOut`: `is_timeout()` |
/// | `Unavailable` | I/O, `NotConnected`: `is_connection_dropped()` |
/// | `Closed` | I/O, `ConnectionAborted` (`redkeep::Error::from` gives `Closed` back) |
/// | `Connection` (other) | I/O, `ConnectionReset`: `is_connection_dropped()` |
/// | `Refused` | `redis::ErrorKind::Client` |
/// | `Config` | `redis::ErrorKind::InvalidClientConfig` |
/// | `Spawn`, `Io` | I/O, `Other` |
///
/// The message is the pool's own, and never contains a password.
impl From<Error> for redis::RedisError {
    fn from(err: Error) -> Self {
        use std::io::ErrorKind as Io;
        if matches!(err.kind(), ErrorKind::Response | ErrorKind::Connection) {
            let met = std::error::Error::source(&err)
                .and_then(|source| source.downcast_ref::<redis::RedisError>());
            if let Some(met) = met {
                return met.clone();
            }
        }
        let io = |kind: Io, err: Error| redis::RedisError::from(std::io::Error::new(kind, err));
        match err.kind() {
            ErrorKind::Closed => PoolClosed.into_redis(),
            ErrorKind::Timeout(_) => io(Io::TimedOut, err),
            ErrorKind::Unavailable => io(Io::NotConnected, err),
            ErrorKind::Connection => io(Io::ConnectionReset, err),
            ErrorKind::Refused => redis::RedisError::from((
                redis::ErrorKind::Client,
                "refused by redkeep",
                err.to_string(),
            )),
            ErrorKind::Response => redis::RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "unexpected reply",
                err.to_string(),
            )),
            ErrorKind::Config => redis::RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "invalid redkeep configuration",
                err.to_string(),
            )),
            _ => io(Io::Other, err),
        }
    }
}
