//! The exception tree, built once at import, and the mapping from
//! [`redkeep::Error`] to it.
//!
//! ```text
//! RedisError(Exception)
//! ├── ConnectionError(RedisError, builtins.ConnectionError)
//! │   └── UnavailableError          the pool is down: failed fast
//! ├── TimeoutError(RedisError, builtins.TimeoutError)   .phase: connect | wait | command
//! ├── ResponseError                 an error reply from the server
//! ├── SpawnError                    a local redis-server could not be started
//! ├── ClosedError                   the pool or server was closed (or made before fork)
//! ├── RefusedError(RedisError, builtins.ValueError)   a command the pool will not send
//! └── ConfigError(RedisError, builtins.ValueError)
//! ```
//!
//! The classes are real Python classes (some need two bases, which
//! `create_exception!` cannot express), created with `type()` and stored for
//! the life of the interpreter.

use pyo3::exceptions::{PyConnectionError, PyException, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use redkeep::{ErrorKind, Language, Phase};

/// The classes, in the order they are created.
pub(crate) struct Classes {
    pub(crate) redis: Py<PyType>,
    pub(crate) connection: Py<PyType>,
    pub(crate) unavailable: Py<PyType>,
    pub(crate) timeout: Py<PyType>,
    pub(crate) response: Py<PyType>,
    pub(crate) spawn: Py<PyType>,
    pub(crate) closed: Py<PyType>,
    pub(crate) refused: Py<PyType>,
    pub(crate) config: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn make(
    py: Python<'_>,
    name: &str,
    bases: &[Bound<'_, PyType>],
    doc: &str,
) -> PyResult<Py<PyType>> {
    let ns = PyDict::new(py);
    ns.set_item("__module__", "redkeep")?;
    ns.set_item("__doc__", doc)?;
    let bases = PyTuple::new(py, bases)?;
    let class = py
        .get_type::<PyType>()
        .call1((name, bases, ns))?
        .cast_into::<PyType>()?;
    Ok(class.unbind())
}

fn build(py: Python<'_>) -> PyResult<Classes> {
    let redis = make(
        py,
        "RedisError",
        &[py.get_type::<PyException>()],
        "Base class of every redkeep error.",
    )?;
    let r = redis.bind(py).clone();
    let connection = make(
        py,
        "ConnectionError",
        &[r.clone(), py.get_type::<PyConnectionError>()],
        "A connection failed: refused, reset, closed, authentication refused, or the \
         peer does not speak the Redis protocol. Also a builtin ConnectionError.",
    )?;
    let unavailable = make(
        py,
        "UnavailableError",
        &[connection.bind(py).clone()],
        "The pool is down: the call failed at once without touching the network. \
         The health watch reconnects in the background on the backoff schedule.",
    )?;
    let timeout = make(
        py,
        "TimeoutError",
        &[r.clone(), py.get_type::<PyTimeoutError>()],
        "A phase ran past its timeout; `phase` says which: \"connect\", \"wait\" (for a \
         free connection) or \"command\" (for the reply). Also a builtin TimeoutError.",
    )?;
    let response = make(
        py,
        "ResponseError",
        std::slice::from_ref(&r),
        "The server answered with an error reply (ERR, WRONGTYPE, NOAUTH, ...).",
    )?;
    let spawn = make(
        py,
        "SpawnError",
        std::slice::from_ref(&r),
        "A local redis-server could not be started or supervised; the message says why \
         (missing binary, port in use, the tail of its log).",
    )?;
    let closed = make(
        py,
        "ClosedError",
        std::slice::from_ref(&r),
        "The pool or server was closed, or was created in another process (before fork).",
    )?;
    let refused = make(
        py,
        "RefusedError",
        &[r.clone(), py.get_type::<PyValueError>()],
        "The pool refused the command without sending it: it changes the state of the \
         connection it runs on (SELECT, MULTI, WATCH, SUBSCRIBE, CLIENT SETNAME, AUTH, ...), \
         which other calls share. The message says what to use instead. Also a ValueError.",
    )?;
    let config = make(
        py,
        "ConfigError",
        &[r, py.get_type::<PyValueError>()],
        "Invalid configuration: a bad URL, an unknown scheme, a negative timeout. \
         Also a ValueError.",
    )?;
    Ok(Classes {
        redis,
        connection,
        unavailable,
        timeout,
        response,
        spawn,
        closed,
        refused,
        config,
    })
}

/// The classes, created on first use.
pub(crate) fn classes(py: Python<'_>) -> PyResult<&'static Classes> {
    CLASSES.get_or_try_init(py, || build(py))
}

/// Adds the classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let c = classes(py)?;
    for (name, class) in [
        ("RedisError", &c.redis),
        ("ConnectionError", &c.connection),
        ("UnavailableError", &c.unavailable),
        ("TimeoutError", &c.timeout),
        ("ResponseError", &c.response),
        ("SpawnError", &c.spawn),
        ("ClosedError", &c.closed),
        ("RefusedError", &c.refused),
        ("ConfigError", &c.config),
    ] {
        m.add(name, class.clone_ref(py))?;
    }
    Ok(())
}

fn instantiate(py: Python<'_>, class: &Py<PyType>, message: String) -> PyErr {
    match class.bind(py).call1((message,)) {
        Ok(value) => PyErr::from_value(value),
        Err(e) => e,
    }
}

/// An error of the class that matches `err.kind()`, with the core's message
/// in Python's words ([`Language::Python`]; it never contains a password). A
/// `TimeoutError` carries `phase`.
pub(crate) fn to_pyerr(py: Python<'_>, err: &redkeep::Error) -> PyErr {
    let c = match classes(py) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let message = err.message_in(Language::Python);
    let class = match err.kind() {
        ErrorKind::Timeout(_) => &c.timeout,
        ErrorKind::Unavailable => &c.unavailable,
        ErrorKind::Connection => &c.connection,
        ErrorKind::Response => &c.response,
        ErrorKind::Closed => &c.closed,
        ErrorKind::Config => &c.config,
        ErrorKind::Spawn => &c.spawn,
        ErrorKind::Refused => &c.refused,
        // Io and kinds added later: the base class, with the message.
        _ => &c.redis,
    };
    let e = instantiate(py, class, message);
    if let ErrorKind::Timeout(phase) = err.kind() {
        let phase = match phase {
            Phase::Connect => "connect",
            Phase::Wait => "wait",
            Phase::Command => "command",
        };
        let _ = e.value(py).setattr("phase", phase);
    }
    e
}

/// A `ClosedError` with `message`.
pub(crate) fn closed_error(py: Python<'_>, message: String) -> PyErr {
    match classes(py) {
        Ok(c) => instantiate(py, &c.closed, message),
        Err(e) => e,
    }
}

/// A `ConfigError` (also a `ValueError`) with `message`.
pub(crate) fn config_error(py: Python<'_>, message: String) -> PyErr {
    match classes(py) {
        Ok(c) => instantiate(py, &c.config, message),
        Err(e) => e,
    }
}

/// A `ResponseError` instance (not raised) for an error nested in a reply.
pub(crate) fn response_error_value(py: Python<'_>, message: String) -> PyResult<Bound<'_, PyAny>> {
    classes(py)?.response.bind(py).call1((message,))
}
