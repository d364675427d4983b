//! `Pool::monitor`: the server's `MONITOR` feed on a dedicated connection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use tokio::sync::{mpsc, watch, Mutex};

use super::core::Core;
use crate::error::{Error, ErrorKind, Result};
use crate::health::{Health, State};
use crate::stats::Counters;

/// Lines buffered for a reader that is behind; past it the monitor stops
/// reading its connection until the reader catches up.
const BUFFER: usize = 1024;

/// The server's `MONITOR` feed: every command the server runs, one line
/// each, on a dedicated connection. Made by [`Pool::monitor`](crate::Pool::monitor).
///
/// A line is what the server sends, e.g.
/// `1700000000.123456 [0 127.0.0.1:5555] "SET" "k" "v"` (time, database,
/// client, then the command's words quoted and escaped by the server).
///
/// ```no_run
/// # async fn demo(pool: redkeep::Pool) -> redkeep::Result<()> {
/// use std::time::Duration;
/// let monitor = pool.monitor().await?;
/// pool.query::<()>(redkeep::redis::cmd("SET").arg("k").arg("v")).await?;
/// while let Some(line) = monitor.next_line_within(Duration::from_secs(1)).await? {
///     println!("{line}");
///     if line.contains("\"SET\" \"k\"") {
///         break;
///     }
/// }
/// monitor.close();
/// # Ok(()) }
/// ```
///
/// # Behavior
///
/// - **No retry, no reconnect.** The connection is opened once, within
///   `timeouts.connect` (the server's `OK` to `MONITOR` included), and is
///   never replaced. When it is lost — the server closed it or went away,
///   or the pool's health watch found the server dead or silent (the pool
///   went `Down`, or reconnected after an outage: the connection predates
///   it) — the lines already received are still handed out, then
///   [`Monitor::next_line`] fails with [`ErrorKind::Connection`] saying
///   why, and keeps failing so; a `warn` event is logged. Commands the
///   server ran after that are not seen: open a new monitor once
///   [`Pool::health`](crate::Pool::health) is `Up` again.
/// - **End.** [`Monitor::close`], dropping the monitor, or closing the pool
///   (or dropping its last handle) ends it: its connection is dropped and
///   `next_line` fails with [`ErrorKind::Closed`].
/// - **Back-pressure.** Up to 1024 lines wait for a reader; past that the
///   monitor stops reading its connection (the server's
///   `client-output-buffer-limit` for normal clients then applies: a
///   monitor far behind a busy server may be disconnected by it).
pub struct Monitor {
    inner: Arc<Inner>,
    lines: Mutex<mpsc::Receiver<Result<String>>>,
    task: tokio::task::JoinHandle<()>,
}

struct Inner {
    core: Arc<Core>,
    closed: AtomicBool,
    /// Why the connection was lost, once it was (every later read says it).
    lost: std::sync::Mutex<Option<String>>,
}

impl Monitor {
    /// Opens the connection (`MONITOR` confirmed) and starts reading it.
    pub(crate) async fn open(core: Arc<Core>) -> Result<Monitor> {
        core.check_available()?;
        let health = core.subscribe();
        let generation = health.borrow().generation;
        let monitor = core.open_monitor().await?;
        let inner = Arc::new(Inner {
            core,
            closed: AtomicBool::new(false),
            lost: std::sync::Mutex::new(None),
        });
        let (tx, rx) = mpsc::channel(BUFFER);
        let task = tokio::spawn(run(inner.clone(), monitor, generation, health, tx));
        Ok(Monitor {
            inner,
            lines: Mutex::new(rx),
            task,
        })
    }

    /// The next line, waiting as long as it takes. Fails with
    /// [`ErrorKind::Connection`] once the connection is lost, with
    /// [`ErrorKind::Closed`] once the monitor or the pool is closed.
    /// Cancel-safe (no line is lost when the future is dropped); concurrent
    /// callers take turns.
    pub async fn next_line(&self) -> Result<String> {
        self.check_open()?;
        let got = self.lines.lock().await.recv().await;
        self.take(got)
    }

    /// The next line within `timeout`, or `Ok(None)` if none came in time.
    /// Errors as for [`Monitor::next_line`].
    pub async fn next_line_within(&self, timeout: Duration) -> Result<Option<String>> {
        self.check_open()?;
        let wait = async { self.lines.lock().await.recv().await };
        match tokio::time::timeout(timeout, wait).await {
            Ok(got) => self.take(got).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Ends the monitor: its connection is dropped and reads fail with
    /// [`ErrorKind::Closed`]. Idempotent.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.task.abort();
    }

    /// Whether the monitor has ended: [`Monitor::close`] was called, or the
    /// pool was closed. (A lost connection is reported by the reads.)
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire) || self.inner.core.is_closed()
    }

    fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            return Err(closed());
        }
        Ok(())
    }

    fn take(&self, got: Option<Result<String>>) -> Result<String> {
        if self.is_closed() {
            return Err(closed());
        }
        match got {
            Some(line) => line,
            None => match self.inner.lost_reason() {
                Some(reason) => Err(lost(&reason)),
                None => Err(closed()),
            },
        }
    }
}

impl Inner {
    fn lost_reason(&self) -> Option<String> {
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("url", &self.inner.core.config.redacted_url())
            .field("closed", &self.is_closed())
            .field("lost", &self.inner.lost_reason())
            .finish()
    }
}

fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the monitor is closed")
}

fn lost(reason: &str) -> Error {
    Error::new(
        ErrorKind::Connection,
        format!("the monitor's connection was lost: {reason}"),
    )
}

/// Forwards the connection's lines until it ends, goes stale, or the
/// monitor is dropped.
async fn run(
    inner: Arc<Inner>,
    monitor: redis::aio::Monitor,
    generation: u64,
    mut health: watch::Receiver<Health>,
    tx: mpsc::Sender<Result<String>>,
) {
    use futures_util::StreamExt;
    let mut stream = monitor.into_on_message::<Value>();
    let reason = loop {
        if let Some(ended) = stale(&health.borrow_and_update(), generation) {
            match ended {
                Some(reason) => break reason,
                None => return,
            }
        }
        tokio::select! {
            changed = health.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            value = stream.next() => {
                let line = match value {
                    None => break "the connection was closed".to_owned(),
                    Some(Value::ServerError(e)) => break format!("the server said: {e}"),
                    Some(value) => match line_of(value) {
                        Some(line) => line,
                        None => continue,
                    },
                };
                if tx.send(Ok(line)).await.is_err() {
                    return;
                }
            }
        }
    };
    drop(stream);
    Counters::bump(&inner.core.counters.evicted);
    // The server may be gone: let the health watch look now.
    inner.core.wake.notify_one();
    let url = inner.core.config.redacted_url();
    tracing::warn!(%url, %reason, "monitor disconnected");
    *inner.lost.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason.clone());
    let _ = tx.send(Err(lost(&reason))).await;
}

/// Whether the pool's health says the connection must go: `Some(None)`
/// when the pool is closed, `Some(Some(reason))` when it is stale.
fn stale(health: &Health, generation: u64) -> Option<Option<String>> {
    match health.state {
        State::Closed => Some(None),
        _ if health.generation != generation || health.state == State::Down => {
            let why = health.last_error.as_deref().unwrap_or("no reason given");
            Some(Some(format!("the pool went down ({why})")))
        }
        _ => None,
    }
}

/// A monitor line as text (the server escapes everything but printable
/// ASCII, so nothing is lost); `None` for anything that is not one.
fn line_of(value: Value) -> Option<String> {
    match value {
        Value::SimpleString(s) => Some(s),
        Value::BulkString(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Value::VerbatimString { text, .. } => Some(text),
        other => {
            tracing::debug!(?other, "monitor: not a line, skipped");
            None
        }
    }
}
