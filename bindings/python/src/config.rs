//! `Pool(...)` keyword arguments to a [`redkeep::Config`].

use std::time::Duration;

use pyo3::prelude::*;

use redkeep::Config;

use crate::errors::config_error;

/// The keyword arguments shared by `redkeep.Pool` and `redkeep.asyncio.Pool`.
/// Durations are in seconds; `None` keeps the core's default.
pub(crate) struct Options {
    pub(crate) url: String,
    pub(crate) max_connections: Option<i64>,
    pub(crate) socket_timeout: Option<f64>,
    pub(crate) socket_connect_timeout: Option<f64>,
    pub(crate) pool_timeout: Option<f64>,
    pub(crate) health_check_interval: Option<f64>,
    pub(crate) retry_backoff_min: Option<f64>,
    pub(crate) retry_backoff_max: Option<f64>,
    pub(crate) spawn_if_absent: bool,
}

/// Seconds (int or float) to a `Duration`; negative, NaN or infinite → `ConfigError`.
pub(crate) fn seconds(py: Python<'_>, name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        config_error(
            py,
            format!("{name} must be a finite number of seconds >= 0, not {value}"),
        )
    })
}

impl Options {
    /// The core configuration, validated (so a bad URL fails here, as a `ConfigError`).
    pub(crate) fn into_config(self, py: Python<'_>) -> PyResult<Config> {
        let mut cfg = Config::from_url(self.url);
        if let Some(n) = self.max_connections {
            cfg.pool.max_size = usize::try_from(n).map_err(|_| {
                config_error(py, format!("max_connections must be at least 1, not {n}"))
            })?;
        }
        if let Some(s) = self.socket_timeout {
            cfg.timeouts.command = seconds(py, "socket_timeout", s)?;
        }
        if let Some(s) = self.socket_connect_timeout {
            cfg.timeouts.connect = seconds(py, "socket_connect_timeout", s)?;
        }
        if let Some(s) = self.pool_timeout {
            cfg.timeouts.wait = seconds(py, "pool_timeout", s)?;
        }
        if let Some(s) = self.health_check_interval {
            cfg.set_health_interval(seconds(py, "health_check_interval", s)?);
        }
        if let Some(s) = self.retry_backoff_min {
            cfg.set_backoff_initial(seconds(py, "retry_backoff_min", s)?);
        }
        if let Some(s) = self.retry_backoff_max {
            cfg.backoff.max = seconds(py, "retry_backoff_max", s)?;
        }
        cfg.validate()
            .map_err(|e| crate::errors::to_pyerr(py, &e))?;
        if self.spawn_if_absent {
            cfg = cfg
                .spawn_if_absent()
                .map_err(|e| crate::errors::to_pyerr(py, &e))?;
        }
        Ok(cfg)
    }
}
