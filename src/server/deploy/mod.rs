//! Local multi-process deployments for tests: a Redis Cluster
//! ([`TestCluster`]) and a Sentinel group ([`TestSentinel`]).
//!
//! Every process is a [`LocalServer`] spawned by
//! [`ensure_server_blocking`](crate::ensure_server_blocking), so each one has the guarantee of
//! [`TestServer`](super::testing::TestServer): it dies with its owner
//! (parent-death signal on Linux, a job object on Windows), lives in a
//! private directory swept when its owner died without cleaning up, and is
//! stopped when the deployment is dropped.

mod cluster;
mod node;
mod sentinel;
mod wait;

pub use cluster::{ClusterNode, ClusterRole, TestCluster, TestClusterConfig};
pub use sentinel::{TestSentinel, TestSentinelConfig};

/// What [`TestCluster::failover`] and [`TestSentinel::failover`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    /// The master before: `redis://127.0.0.1:PORT`.
    pub old_master: String,
    /// The master after (a former replica).
    pub new_master: String,
}

use super::local::LocalServer;
use crate::error::{Error, ErrorKind};

/// A deployment error (`ErrorKind::Spawn`) with `what` in the message.
fn error(what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Spawn, format!("redkeep::testing: {what}"))
}

/// `redis://127.0.0.1:PORT`.
fn node_url(port: u16) -> String {
    format!("redis://127.0.0.1:{port}")
}

/// Stops every server at once (each stop waits for its process).
fn stop_all<'a>(servers: impl Iterator<Item = &'a LocalServer>) {
    std::thread::scope(|s| {
        for server in servers {
            s.spawn(move || server.stop_blocking());
        }
    });
}
