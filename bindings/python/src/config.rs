//! `Pool(...)` keyword arguments to a [`redkeep::Config`].

use std::path::PathBuf;
use std::time::Duration;

use pyo3::prelude::*;

use redkeep::{Config, Pem, TlsConfig};

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
    /// redis-py's `ssl=True`: TLS even for a `redis://` URL.
    pub(crate) ssl: bool,
    pub(crate) ssl_ca_certs: Option<PathBuf>,
    pub(crate) ssl_certfile: Option<PathBuf>,
    pub(crate) ssl_keyfile: Option<PathBuf>,
    /// `"required"` / `"none"`, or `ssl.CERT_REQUIRED` / `ssl.CERT_NONE`.
    pub(crate) ssl_cert_reqs: Option<Py<PyAny>>,
}

/// `ssl_cert_reqs` to "verify the server's certificate?". `"optional"`
/// (`ssl.CERT_OPTIONAL`) has no meaning for a client's check of a server,
/// so it is refused rather than guessed.
fn verify(py: Python<'_>, reqs: Option<&Py<PyAny>>) -> PyResult<bool> {
    let Some(reqs) = reqs else { return Ok(true) };
    let reqs = reqs.bind(py);
    if reqs.is_none() {
        return Ok(true);
    }
    // `ssl.VerifyMode` is an int enum: CERT_NONE = 0, CERT_REQUIRED = 2.
    let verify = if let Ok(text) = reqs.extract::<String>() {
        match text.as_str() {
            "required" => Some(true),
            "none" => Some(false),
            _ => None,
        }
    } else if let Ok(mode) = reqs.extract::<i64>() {
        match mode {
            2 => Some(true),
            0 => Some(false),
            _ => None,
        }
    } else {
        None
    };
    verify.ok_or_else(|| {
        config_error(
            py,
            format!(
                "ssl_cert_reqs must be \"required\" or \"none\" (or ssl.CERT_REQUIRED / ssl.CERT_NONE), not {}",
                reqs.repr().map_or_else(|_| "?".to_owned(), |r| r.to_string())
            ),
        )
    })
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
        let tls = self.tls_config(py)?;
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
        cfg.tls = tls;
        cfg.validate()
            .map_err(|e| crate::errors::to_pyerr(py, &e))?;
        if self.spawn_if_absent {
            cfg = cfg
                .spawn_if_absent()
                .map_err(|e| crate::errors::to_pyerr(py, &e))?;
        }
        Ok(cfg)
    }

    /// `Config::tls`: set by `ssl=True`, any `ssl_*` file or
    /// `ssl_cert_reqs="none"`; otherwise `None` (a `rediss://` URL is still
    /// TLS, verified against the built-in web roots).
    fn tls_config(&self, py: Python<'_>) -> PyResult<Option<TlsConfig>> {
        // ssl_certfile without ssl_keyfile is the core's check
        // (`TlsConfig::validate`), named the Python way.
        let tls = TlsConfig {
            ca_cert: self.ssl_ca_certs.clone().map(Pem::File),
            client_cert: self.ssl_certfile.clone().map(Pem::File),
            client_key: self.ssl_keyfile.clone().map(Pem::File),
            insecure: !verify(py, self.ssl_cert_reqs.as_ref())?,
        };
        Ok((self.ssl || tls != TlsConfig::default()).then_some(tls))
    }
}
