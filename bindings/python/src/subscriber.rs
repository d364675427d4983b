//! `redkeep.Subscriber` and `redkeep.asyncio.Subscriber`: the core's
//! resilient subscriber (`redkeep::Subscriber`), with redis-py's message
//! dicts.

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use redkeep::SubscriberEvent;

use crate::convert::encode;
use crate::errors::to_pyerr;
use crate::redeliver::{seconds, Redelivery};
use crate::runtime::{block_on, check_pid, future_into_py};

/// What both subscriber classes share.
pub(crate) struct SubCore {
    sub: redkeep::Subscriber,
    decode: bool,
    pid: u32,
    /// Events taken for a wait that was cancelled before it handed them over.
    returned: Redelivery<SubscriberEvent>,
}

impl SubCore {
    pub(crate) fn new(sub: redkeep::Subscriber, decode: bool) -> Arc<Self> {
        Arc::new(Self {
            sub,
            decode,
            pid: std::process::id(),
            returned: Redelivery::new(),
        })
    }
}

#[derive(Clone, Copy)]
enum Op {
    Subscribe,
    Unsubscribe,
    PSubscribe,
    PUnsubscribe,
    SSubscribe,
    SUnsubscribe,
}

async fn change(core: &SubCore, op: Op, names: Vec<Vec<u8>>) -> Result<(), redkeep::Error> {
    let s = &core.sub;
    match op {
        Op::Subscribe => s.subscribe(&names).await,
        Op::Unsubscribe => s.unsubscribe(&names).await,
        Op::PSubscribe => s.psubscribe(&names).await,
        Op::PUnsubscribe => s.punsubscribe(&names).await,
        Op::SSubscribe => s.ssubscribe(&names).await,
        Op::SUnsubscribe => s.sunsubscribe(&names).await,
    }
}

fn names(args: &Bound<'_, PyTuple>) -> PyResult<Vec<Vec<u8>>> {
    args.iter()
        .enumerate()
        .map(|(i, a)| encode(&a, i))
        .collect()
}

/// The next event within `timeout`; `Ok(None)` when nothing came in time.
async fn next(
    core: &Arc<SubCore>,
    timeout: Option<Duration>,
) -> Result<Option<Item>, redkeep::Error> {
    let next_message = || core.sub.next_message();
    let Some(event) = core.returned.next(timeout, next_message, Some).await else {
        return Ok(None);
    };
    match event {
        Some(event) => Ok(Some(Item::new(core, event))),
        None => Err(redkeep::Error::new(
            redkeep::ErrorKind::Closed,
            "the subscriber is closed",
        )),
    }
}

/// An event that becomes a redis-py message dict once the GIL is held; if
/// it is dropped unconverted (its wait was cancelled), the event goes back
/// to the subscriber for the next wait.
struct Item {
    event: Option<SubscriberEvent>,
    home: Arc<SubCore>,
}

impl Item {
    fn new(home: &Arc<SubCore>, event: SubscriberEvent) -> Self {
        Item {
            event: Some(event),
            home: home.clone(),
        }
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        if let Some(event) = self.event.take() {
            self.home.returned.give_back(event);
        }
    }
}

fn text<'py>(py: Python<'py>, bytes: &[u8], decode: bool) -> Bound<'py, PyAny> {
    match (decode, std::str::from_utf8(bytes)) {
        (true, Ok(s)) => PyString::new(py, s).into_any(),
        _ => PyBytes::new(py, bytes).into_any(),
    }
}

impl<'py> IntoPyObject<'py> for Item {
    type Target = PyDict;
    type Output = Bound<'py, PyDict>;
    type Error = PyErr;

    /// `{'type', 'pattern', 'channel', 'data'}` as redis-py's `PubSub`
    /// gives them: `message`/`pmessage`/`smessage`, and for the
    /// subscriber's own news `disconnected` (`data`: the reason) and
    /// `resubscribed` (`data`: `{'channels': [...], 'patterns': [...],
    /// 'shard_channels': [...]}`).
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let mut item = self;
        let decode = item.home.decode;
        let Some(event) = item.event.take() else {
            return Ok(PyDict::new(py));
        };
        let d = PyDict::new(py);
        let none = py.None();
        let is_shard = matches!(event, SubscriberEvent::ShardMessage(_));
        match event {
            SubscriberEvent::Message(m) | SubscriberEvent::ShardMessage(m) => {
                let kind = if is_shard {
                    "smessage"
                } else if m.pattern.is_some() {
                    "pmessage"
                } else {
                    "message"
                };
                d.set_item("type", kind)?;
                match &m.pattern {
                    Some(p) => d.set_item("pattern", text(py, p, decode))?,
                    None => d.set_item("pattern", &none)?,
                }
                d.set_item("channel", text(py, &m.channel, decode))?;
                d.set_item("data", text(py, &m.payload, decode))?;
            }
            SubscriberEvent::Disconnected { reason } => {
                d.set_item("type", "disconnected")?;
                d.set_item("pattern", &none)?;
                d.set_item("channel", &none)?;
                d.set_item("data", reason)?;
            }
            SubscriberEvent::Resubscribed {
                channels,
                patterns,
                shard_channels,
            } => {
                let list =
                    |names: &[Vec<u8>]| PyList::new(py, names.iter().map(|n| text(py, n, decode)));
                let data = PyDict::new(py);
                data.set_item("channels", list(&channels)?)?;
                data.set_item("patterns", list(&patterns)?)?;
                data.set_item("shard_channels", list(&shard_channels)?)?;
                d.set_item("type", "resubscribed")?;
                d.set_item("pattern", &none)?;
                d.set_item("channel", &none)?;
                d.set_item("data", data)?;
            }
            other => {
                d.set_item("type", "event")?;
                d.set_item("pattern", &none)?;
                d.set_item("channel", &none)?;
                d.set_item("data", format!("{other:?}"))?;
            }
        }
        Ok(d)
    }
}

/// A subscriber on a dedicated connection that re-subscribes by itself
/// after an outage (made by `Pool.subscriber()`). `get_message()` and
/// `listen()` give redis-py's message dicts, plus two of its own:
/// `{'type': 'disconnected', 'data': reason}` when the connection is lost
/// and `{'type': 'resubscribed', 'data': {'channels': [...], 'patterns':
/// [...], 'shard_channels': [...]}}` once it is subscribed again. Thread-safe; the GIL is released
/// while waiting.
#[pyclass(module = "redkeep", name = "Subscriber", frozen)]
pub(crate) struct SyncSubscriber {
    core: Arc<SubCore>,
}

impl SyncSubscriber {
    pub(crate) fn new(core: Arc<SubCore>) -> Self {
        Self { core }
    }

    fn change(&self, py: Python<'_>, op: Op, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        check_pid(py, self.core.pid, "Subscriber")?;
        let names = names(args)?;
        let core = &self.core;
        block_on(py, change(core, op, names))?.map_err(|e| to_pyerr(py, &e))
    }
}

#[pymethods]
impl SyncSubscriber {
    /// Subscribes to channels; they stay subscribed across outages. While
    /// the subscriber is reconnecting it raises `UnavailableError`, and the
    /// channels are subscribed with the rest when it is back.
    #[pyo3(signature = (*channels))]
    fn subscribe(&self, py: Python<'_>, channels: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.change(py, Op::Subscribe, channels)
    }

    /// Unsubscribes from channels (none: all).
    #[pyo3(signature = (*channels))]
    fn unsubscribe(&self, py: Python<'_>, channels: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.change(py, Op::Unsubscribe, channels)
    }

    /// Subscribes to glob-style patterns (`news.*`).
    #[pyo3(signature = (*patterns))]
    fn psubscribe(&self, py: Python<'_>, patterns: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.change(py, Op::PSubscribe, patterns)
    }

    /// Unsubscribes from patterns (none: all).
    #[pyo3(signature = (*patterns))]
    fn punsubscribe(&self, py: Python<'_>, patterns: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.change(py, Op::PUnsubscribe, patterns)
    }

    /// Subscribes to shard channels (`SSUBSCRIBE`, Redis 7; messages of
    /// type `smessage`); kept across outages like channels.
    #[pyo3(signature = (*channels))]
    fn ssubscribe(&self, py: Python<'_>, channels: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.change(py, Op::SSubscribe, channels)
    }

    /// Unsubscribes from shard channels (none: all).
    #[pyo3(signature = (*channels))]
    fn sunsubscribe(&self, py: Python<'_>, channels: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.change(py, Op::SUnsubscribe, channels)
    }

    /// The next message or event, waiting at most `timeout` seconds
    /// (`0.0`, redis-py's default: only what is already there; `None`: no
    /// limit); `None` if nothing came. Raises `ClosedError` once closed.
    #[pyo3(signature = (timeout = 0.0))]
    fn get_message<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        check_pid(py, self.core.pid, "Subscriber")?;
        let limit = seconds(timeout)?;
        match block_on(py, next(&self.core, limit))? {
            Ok(Some(item)) => Ok(Some(item.into_pyobject(py)?)),
            Ok(None) => Ok(None),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// An iterator over every message and event, until `close()`.
    fn listen(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        if self.core.sub.is_closed() {
            return Ok(None);
        }
        match block_on(py, next(&self.core, None))? {
            Ok(Some(item)) => Ok(Some(item.into_pyobject(py)?)),
            // Closed: the iteration ends.
            _ => Ok(None),
        }
    }

    /// Ends the subscriber and drops its connection. Idempotent.
    fn close(&self) {
        self.core.sub.close();
    }

    /// Whether it has ended (`close()`, or its pool was closed).
    #[getter]
    fn closed(&self) -> bool {
        self.core.sub.is_closed()
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        format!("<redkeep.Subscriber closed={}>", self.closed())
    }
}

/// `redkeep.Subscriber` for asyncio (made by `await
/// redkeep.asyncio.Pool.subscriber()`): every method that waits returns an
/// awaitable; `async for message in sub.listen()`.
#[pyclass(module = "redkeep.asyncio", name = "Subscriber", frozen)]
pub(crate) struct AsyncSubscriber {
    core: Arc<SubCore>,
}

impl AsyncSubscriber {
    pub(crate) fn new(core: Arc<SubCore>) -> Self {
        Self { core }
    }

    fn change<'py>(
        &self,
        py: Python<'py>,
        op: Op,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "Subscriber")?;
        let names = names(args)?;
        let core = self.core.clone();
        future_into_py(py, async move {
            change(&core, op, names)
                .await
                .map_err(|e| Python::attach(|py| to_pyerr(py, &e)))
        })
    }
}

#[pymethods]
impl AsyncSubscriber {
    /// Subscribes to channels (see `redkeep.Subscriber.subscribe`).
    #[pyo3(signature = (*channels))]
    fn subscribe<'py>(
        &self,
        py: Python<'py>,
        channels: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.change(py, Op::Subscribe, channels)
    }

    /// Unsubscribes from channels (none: all).
    #[pyo3(signature = (*channels))]
    fn unsubscribe<'py>(
        &self,
        py: Python<'py>,
        channels: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.change(py, Op::Unsubscribe, channels)
    }

    /// Subscribes to glob-style patterns.
    #[pyo3(signature = (*patterns))]
    fn psubscribe<'py>(
        &self,
        py: Python<'py>,
        patterns: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.change(py, Op::PSubscribe, patterns)
    }

    /// Unsubscribes from patterns (none: all).
    #[pyo3(signature = (*patterns))]
    fn punsubscribe<'py>(
        &self,
        py: Python<'py>,
        patterns: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.change(py, Op::PUnsubscribe, patterns)
    }

    /// Subscribes to shard channels (see `redkeep.Subscriber.ssubscribe`).
    #[pyo3(signature = (*channels))]
    fn ssubscribe<'py>(
        &self,
        py: Python<'py>,
        channels: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.change(py, Op::SSubscribe, channels)
    }

    /// Unsubscribes from shard channels (none: all).
    #[pyo3(signature = (*channels))]
    fn sunsubscribe<'py>(
        &self,
        py: Python<'py>,
        channels: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.change(py, Op::SUnsubscribe, channels)
    }

    /// Resolves to the next message or event within `timeout` seconds
    /// (`None`: no limit), or to `None`. Cancelling it loses nothing.
    #[pyo3(signature = (timeout = 0.0))]
    fn get_message<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        check_pid(py, self.core.pid, "Subscriber")?;
        let limit = seconds(timeout)?;
        let core = self.core.clone();
        future_into_py(py, async move {
            next(&core, limit)
                .await
                .map_err(|e| Python::attach(|py| to_pyerr(py, &e)))
        })
    }

    /// An async iterator over every message and event, until `close()`.
    fn listen(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __aiter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        future_into_py(py, async move {
            match next(&core, None).await {
                Ok(Some(item)) => Ok(item),
                _ => Err(PyStopAsyncIteration::new_err(())),
            }
        })
    }

    /// Ends the subscriber (not awaitable). Idempotent.
    fn close(&self) {
        self.core.sub.close();
    }

    /// The same as `close()`, awaitable.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.core.sub.close();
        future_into_py(py, async { Ok(()) })
    }

    /// Whether it has ended (`close()`, or its pool was closed).
    #[getter]
    fn closed(&self) -> bool {
        self.core.sub.is_closed()
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let this: Py<Self> = slf.clone().unbind();
        future_into_py(slf.py(), async move { Ok(this) })
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.core.sub.close();
        future_into_py(py, async { Ok(false) })
    }

    fn __repr__(&self) -> String {
        format!("<redkeep.asyncio.Subscriber closed={}>", self.closed())
    }
}
