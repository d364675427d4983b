//! The caller-thread path: plain blocking connections for callers that
//! already block a thread (the C ABI, Python), so a command costs one
//! round trip and no hop to a runtime thread.

use std::sync::Mutex;
use std::time::Duration;

use redis::ConnectionLike;

use super::core::{Core, Purpose};
use crate::error::{Error, Phase, Result};
use crate::stats::Counters;

/// An idle blocking connection, the generation it was opened in, and the
/// socket timeout it has (set only when a call needs another one).
struct Idle {
    conn: redis::Connection,
    generation: u64,
    timeout: Option<Duration>,
}

/// Idle blocking connections, most recently used last (LIFO).
pub(crate) struct BlockingConnections {
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
}

impl BlockingConnections {
    pub(crate) fn new(max_idle: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    /// Runs `cmd` on the calling thread. `timeout` bounds the reply
    /// (default `timeouts.command`). A connection that failed or timed out
    /// is dropped, never reused: its reply stream is out of step.
    pub(crate) fn send(
        &self,
        core: &Core,
        _runtime: &tokio::runtime::Handle,
        cmd: &redis::Cmd,
        deadline: Option<std::time::Instant>,
    ) -> Result<redis::Value> {
        core.check_available()?;
        let command = core.config.timeouts.command;
        let timeout = deadline.map_or(command, |d| {
            command.min(d.saturating_duration_since(std::time::Instant::now()))
        });
        let mut idle = match self.take(core) {
            Some(idle) => idle,
            None => Idle {
                generation: core.generation(),
                conn: self.connect(core)?,
                timeout: None,
            },
        };
        if idle.timeout != Some(timeout) {
            set_timeouts(&idle.conn, timeout).map_err(|e| Error::from_redis(e, Phase::Command))?;
            idle.timeout = Some(timeout);
        }
        match idle.conn.req_command(cmd) {
            Ok(value) => {
                self.put(core, idle);
                value
                    .extract_error()
                    .map_err(|e| Error::from_redis(e, Phase::Command))
            }
            Err(e) if e.is_timeout() => {
                Counters::bump(&core.counters.evicted);
                Err(Error::timeout(Phase::Command, timeout))
            }
            Err(e) => {
                let err = Error::from_redis(e, Phase::Command);
                if err.breaks_connection() {
                    core.report_broken();
                } else {
                    self.put(core, idle);
                }
                Err(err)
            }
        }
    }

    /// Drops every idle connection; returns how many there were.
    pub(crate) fn clear(&self) -> usize {
        std::mem::take(&mut *self.lock()).len()
    }

    fn take(&self, core: &Core) -> Option<Idle> {
        let mut idle = self.lock();
        while let Some(candidate) = idle.pop() {
            if candidate.generation == core.generation() {
                return Some(candidate);
            }
            Counters::bump(&core.counters.evicted);
        }
        None
    }

    fn put(&self, core: &Core, conn: Idle) {
        if conn.generation != core.generation() || core.is_closed() {
            Counters::bump(&core.counters.evicted);
            return;
        }
        let mut idle = self.lock();
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }

    fn connect(&self, core: &Core) -> Result<redis::Connection> {
        let result = core
            .client()
            .get_connection_with_timeout(core.config.timeouts.connect)
            .map_err(|e| {
                if e.is_timeout() {
                    core.connect_timed_out()
                } else {
                    core.connect_error(e)
                }
            });
        core.record_connect(&result, Purpose::Request);
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn set_timeouts(conn: &redis::Connection, timeout: Duration) -> redis::RedisResult<()> {
    conn.set_read_timeout(Some(timeout))?;
    conn.set_write_timeout(Some(timeout))
}
