#![doc = include_str!("../README.md")]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]
#![deny(unsafe_op_in_unsafe_fn)]

mod backoff;
mod config;
mod deployment;
mod error;
mod health;
#[cfg(feature = "log-forward")]
pub mod log_forward;
pub mod metrics;
mod pool;
pub mod runtime;
pub mod server;
mod stats;
mod stripe;
mod tls;
mod util;

pub use backoff::Backoff;
pub use config::{Config, HealthConfig, PoolConfig, Timeouts};
pub use error::{Error, ErrorKind, Language, Param, Phase, Result};
pub use health::{Health, NodeHealth, State};
pub use metrics::Metrics;
pub use pool::{
    command_class, Begun, CommandClass, Connection, ExclusiveConnection, Finished, Handle, Message,
    Monitor, PendingReply, Pool, Resend, Subscriber, SubscriberEvent,
};
pub use server::testing;
pub use server::{
    ensure_server, ensure_server_blocking, Guard, LocalServer, Origin, RestartPolicy, ServerAddr,
    ServerConfig, ServerStatus,
};
pub use stats::Stats;
pub use tls::{Pem, TlsConfig};

/// The redis-rs version redkeep is built on, so callers build commands with it.
pub use redis;
