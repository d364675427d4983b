//! `redkeep.ensure_server(...)` and the `Server` it returns.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use redkeep::{LocalServer, Origin, RestartPolicy, ServerAddr, ServerConfig, ServerStatus};

use crate::config::seconds;
use crate::errors::{config_error, to_pyerr};
use crate::runtime::{block_on, check_pid, foreign};

/// Where `unix_socket=` puts the server.
#[derive(FromPyObject)]
pub(crate) enum UnixSocket {
    /// `True`: `redis.sock` in a private temporary directory.
    Flag(bool),
    /// A path.
    Path(PathBuf),
}

/// A Redis at a local address: attached to, or spawned by this process
/// (and then killed with it, even on `kill -9`).
#[pyclass(module = "redkeep", name = "Server", frozen)]
pub(crate) struct PyServer {
    server: Option<LocalServer>,
    owner: u32,
}

impl PyServer {
    fn inner(&self) -> &LocalServer {
        self.server.as_ref().expect("present until drop")
    }
}

/// Starts (or attaches to) a local redis-server.
#[pyfunction]
#[pyo3(signature = (
    port = None, binary = None, password = None, *, host = "127.0.0.1".to_owned(),
    unix_socket = None, args = Vec::new(), dir = None, persistence = false,
    ready_timeout = 10.0, max_restarts = 5, tls = false, guard = None
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ensure_server(
    py: Python<'_>,
    port: Option<i64>,
    binary: Option<PathBuf>,
    password: Option<String>,
    host: String,
    unix_socket: Option<UnixSocket>,
    args: Vec<String>,
    dir: Option<PathBuf>,
    persistence: bool,
    ready_timeout: f64,
    max_restarts: i64,
    tls: bool,
    guard: Option<String>,
) -> PyResult<PyServer> {
    let guard = match guard.as_deref() {
        None => redkeep::Guard::Auto,
        Some(name) => redkeep::Guard::parse(name).map_err(|e| to_pyerr(py, &e))?,
    };
    let port = port
        .map(|p| {
            u16::try_from(p)
                .map_err(|_| config_error(py, format!("port must be within 0..=65535, not {p}")))
        })
        .transpose()?;
    let max_restarts = u32::try_from(max_restarts).map_err(|_| {
        config_error(
            py,
            format!("max_restarts must be 0 or more, not {max_restarts}"),
        )
    })?;
    let addr = match unix_socket {
        None | Some(UnixSocket::Flag(false)) => ServerAddr::Tcp {
            host,
            port: port.unwrap_or(6379),
        },
        Some(_) if port.is_some() => {
            return Err(config_error(
                py,
                "give either port or unix_socket, not both".to_owned(),
            ))
        }
        Some(UnixSocket::Flag(true)) => ServerAddr::Unix(None),
        Some(UnixSocket::Path(path)) => ServerAddr::Unix(Some(path)),
    };
    // Fields the core adds later keep their defaults.
    #[allow(clippy::needless_update)]
    let cfg = ServerConfig {
        addr,
        binary,
        args,
        dir,
        persistence,
        password,
        ready_timeout: seconds(py, "ready_timeout", ready_timeout)?,
        restart: RestartPolicy {
            max_restarts,
            ..RestartPolicy::default()
        },
        tls,
        guard,
        ..ServerConfig::default()
    };
    let server = block_on(py, redkeep::ensure_server(cfg))?.map_err(|e| to_pyerr(py, &e))?;
    Ok(PyServer {
        server: Some(server),
        owner: std::process::id(),
    })
}

#[pymethods]
impl PyServer {
    /// The URL to connect with, password included: do not log it (see `redacted_url`).
    #[getter]
    fn url(&self) -> String {
        self.inner().url()
    }

    /// `url` with the password replaced by `***`.
    #[getter]
    fn redacted_url(&self) -> String {
        self.inner().redacted_url()
    }

    /// The TCP host, or `None` for a unix socket.
    #[getter]
    fn host(&self) -> Option<String> {
        match self.inner().addr() {
            ServerAddr::Tcp { host, .. } => Some(host.clone()),
            ServerAddr::Unix(_) => None,
        }
    }

    /// The TCP port (never 0: a picked free port is resolved), or `None` for a unix socket.
    #[getter]
    fn port(&self) -> Option<u16> {
        self.inner().port()
    }

    /// The unix socket path, or `None` for TCP.
    #[getter]
    fn unix_socket(&self) -> Option<PathBuf> {
        match self.inner().addr() {
            ServerAddr::Unix(path) => path.clone(),
            ServerAddr::Tcp { .. } => None,
        }
    }

    /// Whether this process started the server (`False`: it attached to a running Redis).
    #[getter]
    fn spawned(&self) -> bool {
        matches!(self.inner().origin(), Origin::Spawned { .. })
    }

    /// The spawned server's pid while it runs; `None` for an attached server,
    /// while restarting and after `close()`.
    #[getter]
    fn pid(&self) -> Option<u32> {
        self.inner().pid()
    }

    /// "attached", "running", "restarting", "failed" or "stopped".
    #[getter]
    fn status(&self) -> &'static str {
        match self.inner().status() {
            ServerStatus::Attached => "attached",
            ServerStatus::Running { .. } => "running",
            ServerStatus::Restarting { .. } => "restarting",
            ServerStatus::Failed { .. } => "failed",
            ServerStatus::Stopped => "stopped",
            _ => "unknown",
        }
    }

    /// How many times the supervisor restarted a crashed server.
    #[getter]
    fn restarts(&self) -> u32 {
        self.inner().restarts()
    }

    /// The PEM file of the throwaway CA that signed a TLS server's
    /// certificate (`tls=True`), for `ssl_ca_certs=`; `None` without TLS.
    #[getter]
    fn ca_cert_path(&self) -> Option<PathBuf> {
        self.inner().ca_cert_path().map(PathBuf::from)
    }

    /// The spawned server's log file (removed with its directory on close).
    #[getter]
    fn log_path(&self) -> Option<PathBuf> {
        self.inner().log_path().map(PathBuf::from)
    }

    /// Stops a spawned server and waits until it is gone (SIGTERM, SIGKILL
    /// after 3 s); an attached one is left alone. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        check_pid(py, self.owner, "Server")?;
        let server = self.inner();
        block_on(py, server.stop())?.map_err(|e| to_pyerr(py, &e))
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        if !foreign(self.owner) {
            self.close(py)?;
        }
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let s = self.inner();
        let origin = match s.origin() {
            Origin::Attached => "attached".to_owned(),
            Origin::Spawned { pid } => format!("spawned pid={pid}"),
        };
        format!(
            "<redkeep.Server {} {origin} status={}>",
            s.redacted_url(),
            self.status()
        )
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        if foreign(self.owner) {
            // A forked child must not stop its parent's server.
            std::mem::forget(self.server.take());
        }
        // Otherwise LocalServer's own drop stops a spawned server.
    }
}
