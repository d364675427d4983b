//! Connect-or-spawn: a local `redis-server` that never outlives its owner.

mod config;

pub use config::{RestartPolicy, ServerAddr, ServerConfig};
