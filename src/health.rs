//! What the health watch publishes.

use std::fmt;
use std::time::{Duration, Instant};

/// The pool's view of Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// The last probe got its `PONG`.
    Up,
    /// Some probes failed, fewer than `health.failures_before_down`; or the
    /// pool has just been built lazily and not probed yet; or, for a
    /// Cluster, some slots have no primary up or a replica is missing
    /// (calls for the other slots go on). Requests still go to Redis.
    Degraded,
    /// Redis is considered gone: idle connections were dropped, requests fail
    /// fast with [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable),
    /// and the watch reconnects on the backoff schedule.
    Down,
    /// [`Pool::close`](crate::Pool::close) was called: calls fail with
    /// [`ErrorKind::Closed`](crate::ErrorKind::Closed) and nothing is probed.
    Closed,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Up => "up",
            State::Degraded => "degraded",
            State::Down => "down",
            State::Closed => "closed",
        })
    }
}

/// A snapshot of the pool's health, read without sending a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The current state.
    pub state: State,
    /// When the pool entered this state.
    pub since: Instant,
    /// Why the last probe or connect failed, if one has failed since the
    /// pool was last `Up` (never contains a password).
    pub last_error: Option<String>,
    /// Round-trip time of the last successful probe.
    pub rtt: Option<Duration>,
    /// Failed probes or connects in a row.
    pub consecutive_failures: u32,
    /// Increments each time the pool goes `Down`; a connection made in an
    /// older generation is never handed out again.
    pub generation: u64,
    /// For a Cluster pool, every node the watch probes (primaries and
    /// replicas, from the last slot map); empty for one server or Sentinel.
    pub nodes: Vec<NodeHealth>,
}

/// One node of a Cluster, as the health watch last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHealth {
    /// `host:port`, as the cluster names it.
    pub addr: String,
    /// A primary (it serves slots) or a replica.
    pub primary: bool,
    /// [`State::Up`] or [`State::Down`] (after `health.failures_before_down`
    /// failed probes, or at once when its connect is refused).
    pub state: State,
    /// Why its last probe failed, if it did.
    pub last_error: Option<String>,
}

impl Health {
    pub(crate) fn starting() -> Self {
        Self {
            state: State::Degraded,
            since: Instant::now(),
            last_error: None,
            rtt: None,
            consecutive_failures: 0,
            generation: 0,
            nodes: Vec::new(),
        }
    }

    /// Whether the state is [`State::Up`].
    pub fn is_up(&self) -> bool {
        self.state == State::Up
    }
}
