//! Observability for Python: the core's Prometheus text and `/health`
//! answer for a pool, and the library's log events forwarded to a Python
//! callable (the `redkeep` package hands them to `logging`).

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Sends the library's log events at `min_level` and above (1 error … 5
/// trace; 0 stops) to `callback(level, target, message, pool, span,
/// fields)`, called on the library's own `redkeep-log` thread with the GIL
/// held, never inside a pool's lock. `level` is a `logging` level number.
#[pyfunction]
#[pyo3(signature = (callback, min_level))]
pub(crate) fn _set_log_callback(callback: Option<Py<PyAny>>, min_level: u8) -> PyResult<()> {
    let level = match min_level {
        1 => tracing::Level::ERROR,
        2 => tracing::Level::WARN,
        3 => tracing::Level::INFO,
        4 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    let sink: Option<redkeep::log_forward::Sink> = match callback {
        Some(callback) if min_level > 0 => {
            Some(Box::new(move |r: &redkeep::log_forward::Record| {
                let number = match r.level {
                    tracing::Level::ERROR => 40,
                    tracing::Level::WARN => 30,
                    tracing::Level::INFO => 20,
                    tracing::Level::DEBUG => 10,
                    tracing::Level::TRACE => 5,
                };
                Python::attach(|py| {
                    let fields = PyDict::new(py);
                    for (k, v) in &r.fields {
                        let _ = fields.set_item(k, v);
                    }
                    let args = (
                        number,
                        &r.target,
                        &r.message,
                        r.pool.as_deref(),
                        r.span.as_deref(),
                        fields,
                    );
                    if let Err(e) = callback.call1(py, args) {
                        // A failing handler must not kill the log thread.
                        e.print(py);
                    }
                });
            }))
        }
        _ => None,
    };
    redkeep::log_forward::set_sink(sink, level)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
}

/// The core's Prometheus text for `pool` ("" before it connects).
pub(crate) fn metrics_text(pool: Option<&redkeep::Pool>) -> String {
    pool.map(redkeep::Pool::metrics_text).unwrap_or_default()
}

/// The core's `/health` answer for `pool`: before it connects, 503 and the
/// state `closed` or `degraded`.
pub(crate) fn health_json(pool: Option<&redkeep::Pool>, closed: bool) -> (u16, String) {
    match pool {
        Some(pool) => pool.health_json(),
        None if closed => (503, "{\"state\":\"closed\"}".to_owned()),
        None => (
            503,
            "{\"state\":\"degraded\",\"last_error\":\"not connected yet\"}".to_owned(),
        ),
    }
}
