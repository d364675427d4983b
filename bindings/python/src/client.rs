//! The native half of `redkeep.Redis` / `redkeep.asyncio.Redis`, redis-py's
//! clients whose connections are redkeep's (python/redkeep/client.py):
//! replies in the shape redis-py's own parsers produce, pipelines in one
//! round trip, exclusive connections for `WATCH`/`MULTI` and per-connection
//! state, pub/sub and monitor connections.
//!
//! Only conversions: which connection a command may use, how long it may
//! wait and whether it is refused or re-sent is decided by the core
//! ([`redkeep::Pool::query_with`], [`redkeep::Pool::query_pipeline`],
//! [`redkeep::Connection::send_all`]).

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use redkeep::redis::{self, Value};
use redkeep::{ErrorKind, SubscriberEvent};

use crate::aio::AsyncPool;
use crate::convert::{bulk, command, list, reply, Shape};
use crate::errors::to_pyerr;
use crate::monitor::BridgeMonitor;
use crate::pool::{run_blocking, PoolCore, SyncPool};
use crate::runtime::{block_on, check_pid, future_into_py};

/// A list of argument tuples to a pipeline (nothing refused here: the core
/// judges each command).
fn pipeline(cmds: &Bound<'_, PyList>) -> PyResult<redis::Pipeline> {
    let mut pipe = redis::Pipeline::with_capacity(cmds.len());
    for item in cmds.iter() {
        let args = item
            .cast::<PyTuple>()
            .map_err(|_| PyTypeError::new_err("a pipeline is a list of argument tuples"))?;
        pipe.add_command(command(args)?);
    }
    Ok(pipe)
}

/// What an awaitable of this module resolves to.
enum Outcome {
    One(Value, bool),
    Many(Vec<Value>, bool),
    Message(Option<SubscriberEvent>, bool),
    Nothing,
    Error(redkeep::Error),
}

impl<'py> IntoPyObject<'py> for Outcome {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Outcome::One(value, decode) => reply(py, value, Shape::redis_py(decode)),
            Outcome::Many(values, decode) => list(py, values, Shape::redis_py(decode)),
            Outcome::Message(msg, decode) => message(py, msg, decode),
            Outcome::Nothing => Ok(py.None().into_bound(py)),
            Outcome::Error(e) => Err(to_pyerr(py, &e)),
        }
    }
}

fn core_of(pool: &Bound<'_, PyAny>) -> PyResult<Arc<PoolCore>> {
    if let Ok(p) = pool.cast::<SyncPool>() {
        return Ok(p.get().core().clone());
    }
    if let Ok(p) = pool.cast::<AsyncPool>() {
        return Ok(p.get().core().clone());
    }
    Err(PyTypeError::new_err(
        "expected a redkeep.Pool or redkeep.asyncio.Pool",
    ))
}

/// A pool as redis-py's client uses it: commands and pipelines on the
/// shared path, and the exclusive and pub/sub connections it hands out.
/// Methods starting with `a` return awaitables.
#[pyclass(module = "redkeep._redkeep", name = "Bridge", frozen)]
pub(crate) struct Bridge {
    core: Arc<PoolCore>,
}

#[pymethods]
impl Bridge {
    #[new]
    fn new(pool: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self {
            core: core_of(pool)?,
        })
    }

    /// One command, replies decoded as UTF-8 (`decode_responses`).
    #[pyo3(signature = (*args))]
    fn call_decoded<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.call_with(py, args, true)
    }

    /// One command, replies as bytes.
    #[pyo3(signature = (*args))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.call_with(py, args, false)
    }

    /// One command (awaitable).
    fn acall<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        decode: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "Pool")?;
        let cmd = command(args)?;
        let core = self.core.clone();
        future_into_py(py, async move {
            Ok(match core.run(&cmd).await {
                Ok(value) => Outcome::One(value, decode),
                Err(e) => Outcome::Error(e),
            })
        })
    }

    /// A pipeline (a list of argument tuples) in one round trip on the
    /// core's pipeline path; every reply in order, error replies in place.
    fn pipeline<'py>(
        &self,
        py: Python<'py>,
        cmds: &Bound<'py, PyList>,
        decode: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "Pool")?;
        let mut pipe = pipeline(cmds)?;
        pipe.ignore_errors();
        let core = self.core.clone();
        let result = block_on(py, async move { run_pipeline(&core, &pipe).await })?;
        match result {
            Ok(values) => list(py, values, Shape::redis_py(decode)),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// [`Bridge::pipeline`] as an awaitable.
    fn apipeline<'py>(
        &self,
        py: Python<'py>,
        cmds: &Bound<'py, PyList>,
        decode: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "Pool")?;
        let mut pipe = pipeline(cmds)?;
        pipe.ignore_errors();
        let core = self.core.clone();
        future_into_py(py, async move {
            Ok(match run_pipeline(&core, &pipe).await {
                Ok(values) => Outcome::Many(values, decode),
                Err(e) => Outcome::Error(e),
            })
        })
    }

    /// Checks out an exclusive connection (blocking).
    fn exclusive(&self, py: Python<'_>) -> PyResult<Exclusive> {
        check_pid(py, self.core.pid, "Pool")?;
        let core = self.core.clone();
        let conn = block_on(py, async move {
            let pool = core.pool().await?;
            pool.get().await
        })?
        .map_err(|e| to_pyerr(py, &e))?;
        Ok(Exclusive::new(self.core.clone(), conn))
    }

    /// Checks out an exclusive connection (awaitable).
    fn aexclusive<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "Pool")?;
        let core = self.core.clone();
        let fut = async move {
            let pool = core.pool().await?;
            pool.get().await
        };
        let core = self.core.clone();
        future_into_py(py, async move {
            match fut.await {
                Ok(conn) => Ok(Exclusive::new(core, conn)),
                Err(e) => Err(Python::attach(|py| to_pyerr(py, &e))),
            }
        })
    }

    /// Opens a pub/sub connection (blocking).
    fn subscriber(&self, py: Python<'_>) -> PyResult<Subscriber> {
        check_pid(py, self.core.pid, "Pool")?;
        let core = self.core.clone();
        let sub = block_on(py, async move {
            let pool = core.pool().await?;
            pool.subscriber().await
        })?
        .map_err(|e| to_pyerr(py, &e))?;
        Ok(Subscriber::new(&self.core, sub))
    }

    /// Opens a pub/sub connection (awaitable).
    fn asubscriber<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "Pool")?;
        let core = self.core.clone();
        future_into_py(py, async move {
            let opened = async {
                let pool = core.pool().await?;
                pool.subscriber().await
            };
            match opened.await {
                Ok(sub) => Ok(Subscriber::new(&core, sub)),
                Err(e) => Err(Python::attach(|py| to_pyerr(py, &e))),
            }
        })
    }

    /// Opens the server's `MONITOR` feed on a connection of its own
    /// ([`redkeep::Pool::monitor`]; blocking).
    fn monitor(&self, py: Python<'_>) -> PyResult<BridgeMonitor> {
        check_pid(py, self.core.pid, "Pool")?;
        let core = self.core.clone();
        let monitor = block_on(py, async move { core.pool().await?.monitor().await })?
            .map_err(|e| to_pyerr(py, &e))?;
        Ok(BridgeMonitor::new(monitor))
    }

    /// [`Bridge::monitor`] as an awaitable.
    fn amonitor<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "Pool")?;
        let core = self.core.clone();
        future_into_py(py, async move {
            match async { core.pool().await?.monitor().await }.await {
                Ok(monitor) => Ok(BridgeMonitor::new(monitor)),
                Err(e) => Err(Python::attach(|py| to_pyerr(py, &e))),
            }
        })
    }
}

impl Bridge {
    fn call_with<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        decode: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "Pool")?;
        let cmd = command(args)?;
        match run_blocking(py, &self.core, &cmd)? {
            Ok(value) => reply(py, value, Shape::redis_py(decode)),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }
}

async fn run_pipeline(
    core: &PoolCore,
    pipe: &redis::Pipeline,
) -> Result<Vec<Value>, redkeep::Error> {
    let pool = core.pool().await?;
    match pool.query_pipeline::<Value>(pipe).await? {
        Value::Array(values) => Ok(values),
        Value::Nil => Ok(Vec::new()),
        other => Ok(vec![other]),
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<redkeep::Connection>>>;

/// An exclusive connection checked out of the pool for one redis-py
/// connection: `WATCH`/`MULTI`/`EXEC`, `single_connection_client`,
/// per-connection state. Back to the pool on `close()` (dropped instead if
/// it broke).
#[pyclass(module = "redkeep._redkeep", name = "Exclusive", frozen)]
pub(crate) struct Exclusive {
    core: Arc<PoolCore>,
    conn: Slot,
}

impl Exclusive {
    fn new(core: Arc<PoolCore>, conn: redkeep::Connection) -> Self {
        Self {
            core,
            conn: Arc::new(tokio::sync::Mutex::new(Some(conn))),
        }
    }
}

async fn send_all(conn: &Slot, pipe: &redis::Pipeline) -> Result<Vec<Value>, redkeep::Error> {
    let mut guard = conn.lock().await;
    let Some(conn) = guard.as_mut() else {
        return Err(redkeep::Error::new(
            ErrorKind::Closed,
            "this connection was released",
        ));
    };
    conn.send_all(pipe).await
}

#[pymethods]
impl Exclusive {
    /// Sends the commands (a list of argument tuples) in one round trip and
    /// returns every reply as the server sent it, error replies in place.
    fn run<'py>(
        &self,
        py: Python<'py>,
        cmds: &Bound<'py, PyList>,
        decode: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "connection")?;
        let pipe = pipeline(cmds)?;
        let conn = self.conn.clone();
        match block_on(py, async move { send_all(&conn, &pipe).await })? {
            Ok(values) => list(py, values, Shape::redis_py(decode)),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// [`Exclusive::run`] as an awaitable.
    fn arun<'py>(
        &self,
        py: Python<'py>,
        cmds: &Bound<'py, PyList>,
        decode: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "connection")?;
        let pipe = pipeline(cmds)?;
        let conn = self.conn.clone();
        future_into_py(py, async move {
            Ok(match send_all(&conn, &pipe).await {
                Ok(values) => Outcome::Many(values, decode),
                Err(e) => Outcome::Error(e),
            })
        })
    }

    /// Gives the connection back to the pool (or drops it if it broke or a
    /// reply is pending). Idempotent; never blocks on a call in flight.
    fn close(&self) {
        if let Ok(mut guard) = self.conn.try_lock() {
            guard.take();
        } else {
            // A call is in flight (another thread or task): it ends, then
            // the last reference drops the connection.
        }
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.conn.try_lock().map(|g| g.is_none()).unwrap_or(false)
    }
}

/// A pub/sub connection of its own: the core's subscriber
/// ([`redkeep::Pool::subscriber`]) used for one connection's life. The core
/// sends `SUBSCRIBE` and friends (shard channels too) and waits for their
/// confirmations; when the connection is lost this one ends (reads raise
/// `ConnectionError`) instead of re-subscribing by itself: redis-py's
/// `PubSub` opens a new one and re-subscribes, as it does with its own
/// connections. `close()` ends it even while another task or thread waits
/// for a message (that wait ends with `ConnectionError`).
#[pyclass(module = "redkeep._redkeep", name = "BridgeSubscriber", frozen)]
pub(crate) struct Subscriber {
    pid: u32,
    sub: Arc<redkeep::Subscriber>,
}

impl Subscriber {
    fn new(core: &PoolCore, sub: redkeep::Subscriber) -> Self {
        Self {
            pid: core.pid,
            sub: Arc::new(sub),
        }
    }
}

fn dropped() -> redkeep::Error {
    redkeep::Error::new(
        ErrorKind::Connection,
        "the pub/sub connection was closed or dropped",
    )
}

/// The next message within `timeout` (`None`: no limit); `Ok(None)` when
/// none came in time. A lost connection ends the subscriber.
async fn next_message(
    sub: &redkeep::Subscriber,
    timeout: Option<Duration>,
) -> Result<Option<SubscriberEvent>, redkeep::Error> {
    let read = async {
        loop {
            match sub.next_message().await {
                None => return Err(dropped()),
                Some(SubscriberEvent::Disconnected { reason }) => {
                    sub.close();
                    return Err(redkeep::Error::new(
                        ErrorKind::Connection,
                        format!("the pub/sub connection was lost: {reason}"),
                    ));
                }
                Some(m @ (SubscriberEvent::Message(_) | SubscriberEvent::ShardMessage(_))) => {
                    return Ok(Some(m))
                }
                // Nothing else comes before a `Disconnected`.
                Some(_) => {}
            }
        }
    };
    match timeout {
        None => read.await,
        Some(t) => tokio::time::timeout(t, read).await.unwrap_or(Ok(None)),
    }
}

/// A message as redis-py's parser returns it: `[b"message", channel,
/// data]`, `[b"pmessage", pattern, channel, data]` or `[b"smessage",
/// channel, data]`; `None` for none.
fn message<'py>(
    py: Python<'py>,
    event: Option<SubscriberEvent>,
    decode: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let (kind, m) = match event {
        Some(SubscriberEvent::Message(m)) if m.pattern.is_some() => ("pmessage", m),
        Some(SubscriberEvent::Message(m)) => ("message", m),
        Some(SubscriberEvent::ShardMessage(m)) => ("smessage", m),
        _ => return Ok(py.None().into_bound(py)),
    };
    let mut items = vec![bulk(py, kind.as_bytes(), decode)?];
    if let Some(p) = &m.pattern {
        items.push(bulk(py, p, decode)?);
    }
    items.push(bulk(py, &m.channel, decode)?);
    items.push(bulk(py, &m.payload, decode)?);
    Ok(PyList::new(py, items)?.into_any())
}

fn seconds(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    timeout
        .map(|t| {
            Duration::try_from_secs_f64(t.max(0.0))
                .map_err(|_| PyTypeError::new_err("timeout must be a finite number of seconds"))
        })
        .transpose()
}

#[pymethods]
impl Subscriber {
    /// `SUBSCRIBE` (`PSUBSCRIBE` with `pattern`, `SSUBSCRIBE` with `shard`;
    /// `UNSUBSCRIBE` and friends with `on=False`) the names, waiting for
    /// the server's confirmations (bounded by `socket_timeout`).
    #[pyo3(signature = (names, pattern, on, shard = false))]
    fn change(
        &self,
        py: Python<'_>,
        names: Vec<Vec<u8>>,
        pattern: bool,
        on: bool,
        shard: bool,
    ) -> PyResult<()> {
        check_pid(py, self.pid, "subscriber")?;
        let sub = self.sub.clone();
        block_on(
            py,
            async move { change(&sub, names, pattern, shard, on).await },
        )?
        .map_err(|e| to_pyerr(py, &e))
    }

    /// [`Subscriber::change`] as an awaitable.
    #[pyo3(signature = (names, pattern, on, shard = false))]
    fn achange<'py>(
        &self,
        py: Python<'py>,
        names: Vec<Vec<u8>>,
        pattern: bool,
        on: bool,
        shard: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.pid, "subscriber")?;
        let sub = self.sub.clone();
        future_into_py(py, async move {
            Ok(match change(&sub, names, pattern, shard, on).await {
                Ok(()) => Outcome::Nothing,
                Err(e) => Outcome::Error(e),
            })
        })
    }

    /// The next message as redis-py's parser returns it
    /// (`[b"message", channel, data]`, `[b"pmessage", pattern, channel,
    /// data]` or `[b"smessage", channel, data]`), or `None` after `timeout`
    /// seconds (`None`: wait for one). Raises `ConnectionError` once the
    /// connection has dropped.
    #[pyo3(signature = (timeout, decode))]
    fn next<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
        decode: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.pid, "subscriber")?;
        let timeout = seconds(timeout)?;
        let sub = self.sub.clone();
        match block_on(py, async move { next_message(&sub, timeout).await })? {
            Ok(msg) => message(py, msg, decode),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// [`Subscriber::next`] as an awaitable.
    #[pyo3(signature = (timeout, decode))]
    fn anext<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
        decode: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.pid, "subscriber")?;
        let timeout = seconds(timeout)?;
        let sub = self.sub.clone();
        future_into_py(py, async move {
            Ok(match next_message(&sub, timeout).await {
                Ok(msg) => Outcome::Message(msg, decode),
                Err(e) => Outcome::Error(e),
            })
        })
    }

    /// Closes the connection, ending a wait for a message in another task
    /// or thread. Idempotent.
    fn close(&self) {
        self.sub.close();
    }
}

async fn change(
    sub: &redkeep::Subscriber,
    names: Vec<Vec<u8>>,
    pattern: bool,
    shard: bool,
    on: bool,
) -> Result<(), redkeep::Error> {
    if sub.is_closed() {
        return Err(dropped());
    }
    match (pattern, shard, on) {
        (true, _, true) => sub.psubscribe(names).await,
        (true, _, false) => sub.punsubscribe(names).await,
        (false, true, true) => sub.ssubscribe(names).await,
        (false, true, false) => sub.sunsubscribe(names).await,
        (false, false, true) => sub.subscribe(names).await,
        (false, false, false) => sub.unsubscribe(names).await,
    }
}
