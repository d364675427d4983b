//! `redkeep._redkeep.BridgeMonitor`: the core's monitor
//! ([`redkeep::Monitor`], opened by [`redkeep::Pool::monitor`]) for
//! `redkeep.Redis.monitor()` and its asyncio twin, which hand its lines to
//! redis-py's own `Monitor.next_command` parsing.
//!
//! Only conversions: when the connection is opened, how long that may take
//! and what a lost connection means is the core's.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::errors::to_pyerr;
use crate::redeliver::{seconds, Redelivery};
use crate::runtime::{block_on, check_pid, future_into_py};

/// What the sync and asyncio sides share.
struct MonCore {
    monitor: redkeep::Monitor,
    pid: u32,
    /// Lines taken for a wait that was cancelled before it handed them over.
    returned: Redelivery<String>,
}

/// The next line within `timeout`; `Ok(None)` when none came in time.
async fn next(core: &Arc<MonCore>, timeout: Option<Duration>) -> redkeep::Result<Option<Line>> {
    let next_line = || core.monitor.next_line();
    let Some(line) = core.returned.next(timeout, next_line, Ok).await else {
        return Ok(None);
    };
    Ok(Some(Line {
        text: Some(line?),
        home: core.clone(),
    }))
}

/// A line that becomes a `str` once the GIL is held; dropped unconverted
/// (its wait was cancelled), it goes back to the monitor for the next wait.
struct Line {
    text: Option<String>,
    home: Arc<MonCore>,
}

impl Drop for Line {
    fn drop(&mut self) {
        if let Some(text) = self.text.take() {
            self.home.returned.give_back(text);
        }
    }
}

impl<'py> IntoPyObject<'py> for Line {
    type Target = PyString;
    type Output = Bound<'py, PyString>;
    type Error = PyErr;

    fn into_pyobject(mut self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        let text = self.text.take().unwrap_or_default();
        Ok(PyString::new(py, &text))
    }
}

/// The server's `MONITOR` feed on a connection of its own (private: use
/// `redkeep.Redis.monitor()`). `next` / `anext` give one line as the server
/// sent it, `None` after `timeout` seconds; a lost connection raises
/// `ConnectionError` (never reconnected), a closed monitor `ClosedError`.
#[pyclass(module = "redkeep._redkeep", name = "BridgeMonitor", frozen)]
pub(crate) struct BridgeMonitor {
    core: Arc<MonCore>,
}

impl BridgeMonitor {
    pub(crate) fn new(monitor: redkeep::Monitor) -> Self {
        Self {
            core: Arc::new(MonCore {
                monitor,
                pid: std::process::id(),
                returned: Redelivery::new(),
            }),
        }
    }
}

#[pymethods]
impl BridgeMonitor {
    /// The next line within `timeout` seconds (`None`: no limit), or `None`.
    #[pyo3(signature = (timeout = None))]
    fn next<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyString>>> {
        check_pid(py, self.core.pid, "monitor")?;
        let timeout = seconds(timeout)?;
        match block_on(py, next(&self.core, timeout))? {
            Ok(Some(line)) => Ok(Some(line.into_pyobject(py)?)),
            Ok(None) => Ok(None),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// [`BridgeMonitor::next`] as an awaitable; cancelling it loses no line.
    #[pyo3(signature = (timeout = None))]
    fn anext<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "monitor")?;
        let timeout = seconds(timeout)?;
        let core = self.core.clone();
        future_into_py(py, async move {
            next(&core, timeout)
                .await
                .map_err(|e| Python::attach(|py| to_pyerr(py, &e)))
        })
    }

    /// Ends the monitor and drops its connection (a wait in another thread
    /// or task ends with `ClosedError`). Idempotent.
    fn close(&self) {
        self.core.monitor.close();
    }

    /// Whether it has ended (`close()`, or its pool was closed).
    #[getter]
    fn closed(&self) -> bool {
        self.core.monitor.is_closed()
    }

    fn __repr__(&self) -> String {
        format!("<redkeep._redkeep.BridgeMonitor closed={}>", self.closed())
    }
}
