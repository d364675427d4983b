//! `redkeep.start_cluster(...)`, `redkeep.start_sentinel(...)` and the
//! `Deployment` they return: local test deployments made by the core.

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use redkeep::testing::{TestCluster, TestClusterConfig, TestSentinel, TestSentinelConfig};

use crate::config::seconds;
use crate::errors::to_pyerr;
use crate::runtime::{block_on, foreign};

/// Held until `close()` or drop: dropping it stops every process.
#[allow(dead_code)]
enum Inner {
    Cluster(TestCluster),
    Sentinel(TestSentinel),
}

/// A throwaway local Redis Cluster or Sentinel group; its processes die
/// with this process (even on `kill -9`, Linux).
#[pyclass(module = "redkeep", name = "Deployment", frozen)]
pub(crate) struct PyDeployment {
    inner: Mutex<Option<Inner>>,
    url: String,
    urls: Vec<String>,
    master_name: Option<String>,
    owner: u32,
}

/// Runs a blocking start on the runtime's blocking pool, GIL released.
fn start<T: Send + 'static>(
    py: Python<'_>,
    f: impl FnOnce() -> redkeep::Result<T> + Send + 'static,
) -> PyResult<T> {
    let joined = block_on(py, async move { tokio::task::spawn_blocking(f).await })?;
    let started = joined.map_err(|e| {
        to_pyerr(
            py,
            &redkeep::Error::new(redkeep::ErrorKind::Spawn, e.to_string()),
        )
    })?;
    started.map_err(|e| to_pyerr(py, &e))
}

/// Starts a Redis Cluster and returns once it is ready.
#[pyfunction]
#[pyo3(signature = (masters = 3, replicas_per_master = 1, *, binary = None, args = Vec::new(), ready_timeout = 30.0))]
pub(crate) fn start_cluster(
    py: Python<'_>,
    masters: usize,
    replicas_per_master: usize,
    binary: Option<PathBuf>,
    args: Vec<String>,
    ready_timeout: f64,
) -> PyResult<PyDeployment> {
    let cfg = TestClusterConfig {
        masters,
        replicas_per_master,
        binary,
        args,
        ready_timeout: seconds(py, "ready_timeout", ready_timeout)?,
        ..TestClusterConfig::default()
    };
    let cluster = start(py, move || TestCluster::try_start(cfg))?;
    Ok(PyDeployment {
        url: cluster.urls()[0].clone(),
        urls: cluster.urls(),
        master_name: None,
        inner: Mutex::new(Some(Inner::Cluster(cluster))),
        owner: std::process::id(),
    })
}

/// Starts a Sentinel group and returns once it is ready.
#[pyfunction]
#[pyo3(signature = (replicas = 2, sentinels = 3, *, binary = None, args = Vec::new(), ready_timeout = 30.0))]
pub(crate) fn start_sentinel(
    py: Python<'_>,
    replicas: usize,
    sentinels: usize,
    binary: Option<PathBuf>,
    args: Vec<String>,
    ready_timeout: f64,
) -> PyResult<PyDeployment> {
    let cfg = TestSentinelConfig {
        replicas,
        sentinels,
        binary,
        args,
        ready_timeout: seconds(py, "ready_timeout", ready_timeout)?,
        ..TestSentinelConfig::default()
    };
    let group = start(py, move || TestSentinel::try_start(cfg))?;
    Ok(PyDeployment {
        url: group.url(),
        urls: group.urls(),
        master_name: Some(group.master_name().to_owned()),
        inner: Mutex::new(Some(Inner::Sentinel(group))),
        owner: std::process::id(),
    })
}

#[pymethods]
impl PyDeployment {
    /// A cluster's first node URL, or a group's `redis+sentinel://` URL.
    #[getter]
    fn url(&self) -> String {
        self.url.clone()
    }

    /// Every cluster node's URL, or every sentinel's.
    #[getter]
    fn urls(&self) -> Vec<String> {
        self.urls.clone()
    }

    /// `urls` as `(host, port)` pairs (redis-py's `startup_nodes` /
    /// `Sentinel(sentinels)`).
    #[getter]
    fn addrs(&self) -> Vec<(String, u16)> {
        self.urls
            .iter()
            .filter_map(|u| {
                let (host, port) = u.strip_prefix("redis://")?.rsplit_once(':')?;
                Some((host.to_owned(), port.parse().ok()?))
            })
            .collect()
    }

    /// A Sentinel group's master name; `None` for a cluster.
    #[getter]
    fn master_name(&self) -> Option<String> {
        self.master_name.clone()
    }

    /// Stops every process and waits until they are gone. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if foreign(self.owner) {
            return Ok(());
        }
        let taken = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        py.detach(move || drop(taken));
        Ok(())
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        match &self.master_name {
            None => format!("<redkeep.Deployment cluster {}>", self.urls.join(",")),
            Some(_) => format!("<redkeep.Deployment sentinel {}>", self.url),
        }
    }
}

impl Drop for PyDeployment {
    fn drop(&mut self) {
        if foreign(self.owner) {
            // A forked child must not stop its parent's processes.
            let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
            std::mem::forget(inner.take());
        }
    }
}
