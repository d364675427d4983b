//! `redkeep run --cluster N` and `redkeep run --sentinel`: a local test
//! deployment around the command, and the environment it is given.

use std::path::PathBuf;
use std::time::Duration;

use redkeep::testing::{TestCluster, TestClusterConfig, TestSentinel, TestSentinelConfig};
use redkeep::LocalServer;

/// Which deployment `run` starts instead of one server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// `--cluster N [--replicas R]`.
    Cluster { masters: usize, replicas: usize },
    /// `--sentinel [--replicas R] [--sentinels S]`.
    Sentinel { replicas: usize, sentinels: usize },
}

/// The variables a deployment sets; each is removed from CMD's
/// environment when the deployment does not set it.
pub(crate) const VARS: [&str; 4] = [
    "REDIS_URL",
    "REDIS_CLUSTER_URLS",
    "REDIS_SENTINEL_URLS",
    "REDIS_MASTER_NAME",
];

/// What `run` started.
pub(crate) enum Deployment {
    Server(LocalServer),
    Cluster(TestCluster),
    Sentinel(TestSentinel),
}

impl Deployment {
    /// Starts a cluster or a sentinel group (blocking work on tokio's
    /// blocking pool).
    pub(crate) async fn start(
        kind: Kind,
        binary: Option<PathBuf>,
        args: Vec<String>,
        ready_timeout: Option<Duration>,
    ) -> redkeep::Result<Deployment> {
        let started = tokio::task::spawn_blocking(move || match kind {
            Kind::Cluster { masters, replicas } => {
                let defaults = TestClusterConfig::default();
                TestCluster::try_start(TestClusterConfig {
                    masters,
                    replicas_per_master: replicas,
                    binary,
                    args,
                    ready_timeout: ready_timeout.unwrap_or(defaults.ready_timeout),
                    ..defaults
                })
                .map(Deployment::Cluster)
            }
            Kind::Sentinel {
                replicas,
                sentinels,
            } => {
                let defaults = TestSentinelConfig::default();
                TestSentinel::try_start(TestSentinelConfig {
                    replicas,
                    sentinels,
                    binary,
                    args,
                    ready_timeout: ready_timeout.unwrap_or(defaults.ready_timeout),
                    ..defaults
                })
                .map(Deployment::Sentinel)
            }
        })
        .await;
        started.map_err(|e| redkeep::Error::new(redkeep::ErrorKind::Spawn, e.to_string()))?
    }

    /// `REDIS_URL`, which `{url}` in CMD's arguments is replaced by: the
    /// server's URL, a cluster's first node, a group's `redis+sentinel://`.
    pub(crate) fn url(&self) -> String {
        match self {
            Deployment::Server(s) => s.url(),
            Deployment::Cluster(c) => c.urls()[0].clone(),
            Deployment::Sentinel(s) => s.url(),
        }
    }

    /// The variables for CMD (see [`VARS`]).
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("REDIS_URL", self.url())];
        match self {
            Deployment::Server(_) => {}
            Deployment::Cluster(c) => env.push(("REDIS_CLUSTER_URLS", c.urls().join(","))),
            Deployment::Sentinel(s) => {
                env.push(("REDIS_SENTINEL_URLS", s.urls().join(",")));
                env.push(("REDIS_MASTER_NAME", s.master_name().to_owned()));
            }
        }
        env
    }

    /// One line for stderr: what runs where.
    pub(crate) fn describe(&self) -> Option<String> {
        match self {
            Deployment::Server(_) => None,
            Deployment::Cluster(c) => Some(format!(
                "redkeep: cluster of {} nodes ready: {}",
                c.urls().len(),
                c.urls().join(",")
            )),
            Deployment::Sentinel(s) => Some(format!(
                "redkeep: sentinel group ready: {} (master {})",
                s.url(),
                s.master_url().unwrap_or_default()
            )),
        }
    }

    /// Stops every process and waits until they are gone.
    pub(crate) async fn shutdown(self) {
        match self {
            Deployment::Server(s) => {
                let _ = s.shutdown().await;
            }
            // Dropping stops every node (in parallel).
            Deployment::Cluster(c) => {
                let _ = tokio::task::spawn_blocking(move || drop(c)).await;
            }
            Deployment::Sentinel(s) => {
                let _ = tokio::task::spawn_blocking(move || drop(s)).await;
            }
        }
    }
}
