//! `Pool::subscriber`: a pub/sub subscriber that survives outages.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::{mpsc, watch, Mutex, Notify};

use super::core::Core;
use crate::error::{Error, ErrorKind, Phase, Result};
use crate::health::{Health, State};
use crate::stats::Counters;

/// Events buffered for a reader that is behind; past it the subscriber
/// stops reading its connection until the reader catches up.
const BUFFER: usize = 1024;

/// One message on a channel the subscriber listens to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The channel it was published on.
    pub channel: Vec<u8>,
    /// The pattern it matched, for a pattern subscription (`PSUBSCRIBE`).
    pub pattern: Option<Vec<u8>>,
    /// What was published.
    pub payload: Vec<u8>,
}

impl Message {
    /// The channel as text (invalid UTF-8 replaced).
    pub fn channel_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.channel)
    }

    /// The payload as text (invalid UTF-8 replaced).
    pub fn payload_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.payload)
    }

    fn from_msg(msg: &redis::Msg) -> Self {
        Self {
            channel: msg.get_channel().unwrap_or_default(),
            pattern: msg.get_pattern().unwrap_or_default(),
            payload: msg.get_payload_bytes().to_vec(),
        }
    }
}

/// What [`Subscriber::next_message`] yields: a message, or news about the
/// subscriber's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscriberEvent {
    /// A message published on a subscribed channel or pattern.
    Message(Message),
    /// The connection was lost (the reason says why); messages published
    /// from now until [`SubscriberEvent::Resubscribed`] are not received.
    Disconnected {
        /// Why, in one line (never a password).
        reason: String,
    },
    /// A new connection is subscribed again to every channel and pattern
    /// in the set (possibly none).
    Resubscribed {
        /// The channels subscribed again.
        channels: Vec<Vec<u8>>,
        /// The patterns subscribed again.
        patterns: Vec<Vec<u8>>,
    },
}

/// A pub/sub subscriber on a dedicated connection that re-subscribes by
/// itself after an outage. Made by [`Pool::subscriber`](crate::Pool::subscriber).
///
/// ```no_run
/// # async fn demo(pool: redkeep::Pool) -> redkeep::Result<()> {
/// use redkeep::SubscriberEvent;
/// let sub = pool.subscriber().await?;
/// sub.subscribe(["news"]).await?;
/// sub.psubscribe(["alerts.*"]).await?;
/// while let Some(event) = sub.next_message().await {
///     match event {
///         SubscriberEvent::Message(m) => println!("{}: {}", m.channel_str(), m.payload_str()),
///         SubscriberEvent::Disconnected { reason } => eprintln!("lost: {reason}"),
///         SubscriberEvent::Resubscribed { channels, .. } => eprintln!("back, {} channels", channels.len()),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
///
/// # Behavior
///
/// - **The set.** The subscriber keeps the set of channels and patterns it
///   was asked for. [`Subscriber::subscribe`] and friends change the set
///   and send the command on the live connection, waiting for the server's
///   confirmation for at most `timeouts.command` (`Timeout(Command)`; a
///   wait of more than `timeouts.wait` for a concurrent change or
///   re-subscribe is `Timeout(Wait)`). A name the server refuses (an error
///   reply, e.g. an ACL `NOPERM`) leaves the set again. While there is no
///   connection, `subscribe` adds to the set and fails with `Unavailable`:
///   the name is subscribed with the rest when the connection is back.
/// - **Outage.** When the connection drops (the server went away, a
///   confirmation timed out) or the pool goes `Down` (its health watch
///   caught a dead or silent server: the connection predates the outage),
///   the subscriber drops its connection, yields
///   [`SubscriberEvent::Disconnected`], and logs a `warn` event. It then
///   waits for the pool to be `Up` again (the health watch reconnects), and
///   opens a new connection (within `timeouts.connect`) and subscribes it
///   to the whole set (within `timeouts.command`), trying again on the
///   pool's [`Backoff`](crate::Backoff) schedule after a failure. When it
///   succeeds it yields [`SubscriberEvent::Resubscribed`], logs an `info`
///   event and counts it in [`Stats::resubscribes`](crate::Stats::resubscribes).
///   Messages published while it was disconnected are lost (pub/sub keeps
///   nothing); the two events mark the gap.
/// - **End.** [`Subscriber::close`], dropping the subscriber, or closing the
///   pool (or dropping its last handle) ends it: `next_message` returns
///   `None`. It never ends otherwise: a pool that stays `Down` keeps it
///   waiting.
/// - **Back-pressure.** Up to 1024 events wait for a reader; past that the
///   subscriber stops reading its connection (redis-rs then buffers, and
///   the server's `client-output-buffer-limit` for pub/sub applies).
pub struct Subscriber {
    inner: Arc<Inner>,
    events: Mutex<mpsc::Receiver<SubscriberEvent>>,
    task: tokio::task::JoinHandle<()>,
}

struct Inner {
    core: Arc<Core>,
    wanted: Mutex<Wanted>,
    closed: AtomicBool,
    /// The epoch of a connection a caller found unresponsive or broken.
    suspect_epoch: AtomicU64,
    suspect: Notify,
}

/// The set, and the connection's sink while there is one.
struct Wanted {
    channels: BTreeSet<Vec<u8>>,
    patterns: BTreeSet<Vec<u8>>,
    sink: Option<PubSubSink>,
    /// Increments with each new connection.
    epoch: u64,
}

/// The connection the task reads.
struct Live {
    stream: PubSubStream,
    /// The pool's health generation when it was opened.
    generation: u64,
    epoch: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Subscribe,
    Unsubscribe,
    PSubscribe,
    PUnsubscribe,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Subscribe => "SUBSCRIBE",
            Op::Unsubscribe => "UNSUBSCRIBE",
            Op::PSubscribe => "PSUBSCRIBE",
            Op::PUnsubscribe => "PUNSUBSCRIBE",
        }
    }

    fn adds(self) -> bool {
        matches!(self, Op::Subscribe | Op::PSubscribe)
    }
}

impl Subscriber {
    /// Opens the connection and starts the subscriber's task.
    pub(crate) async fn open(core: Arc<Core>) -> Result<Subscriber> {
        core.check_available()?;
        let health = core.subscribe();
        let generation = health.borrow().generation;
        let (sink, stream) = core.open_pubsub().await?.split();
        let inner = Arc::new(Inner {
            core,
            wanted: Mutex::new(Wanted {
                channels: BTreeSet::new(),
                patterns: BTreeSet::new(),
                sink: Some(sink),
                epoch: 1,
            }),
            closed: AtomicBool::new(false),
            suspect_epoch: AtomicU64::new(0),
            suspect: Notify::new(),
        });
        let (tx, rx) = mpsc::channel(BUFFER);
        let live = Live {
            stream,
            generation,
            epoch: 1,
        };
        let task = tokio::spawn(run(inner.clone(), live, health, tx));
        Ok(Subscriber {
            inner,
            events: Mutex::new(rx),
            task,
        })
    }

    /// Subscribes to `channels` (`SUBSCRIBE`); they stay in the set across
    /// outages. See the type's `Behavior` for what a failure means.
    pub async fn subscribe<I, N>(&self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = N>,
        N: AsRef<[u8]>,
    {
        self.change(Op::Subscribe, names(channels)).await
    }

    /// Unsubscribes from `channels` (`UNSUBSCRIBE`); none means all.
    pub async fn unsubscribe<I, N>(&self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = N>,
        N: AsRef<[u8]>,
    {
        self.change(Op::Unsubscribe, names(channels)).await
    }

    /// Subscribes to glob-style `patterns` (`PSUBSCRIBE`, e.g. `news.*`).
    pub async fn psubscribe<I, N>(&self, patterns: I) -> Result<()>
    where
        I: IntoIterator<Item = N>,
        N: AsRef<[u8]>,
    {
        self.change(Op::PSubscribe, names(patterns)).await
    }

    /// Unsubscribes from `patterns` (`PUNSUBSCRIBE`); none means all.
    pub async fn punsubscribe<I, N>(&self, patterns: I) -> Result<()>
    where
        I: IntoIterator<Item = N>,
        N: AsRef<[u8]>,
    {
        self.change(Op::PUnsubscribe, names(patterns)).await
    }

    /// The next message or connection event; `None` once the subscriber has
    /// ended (closed, dropped pool). Cancel-safe: wrap it in
    /// `tokio::time::timeout` to poll. Concurrent callers take turns.
    pub async fn next_message(&self) -> Option<SubscriberEvent> {
        if self.is_closed() {
            return None;
        }
        let event = self.events.lock().await.recv().await;
        if self.is_closed() {
            return None;
        }
        event
    }

    /// The channels and patterns in the set now.
    pub async fn subscriptions(&self) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let wanted = self.inner.wanted.lock().await;
        (
            wanted.channels.iter().cloned().collect(),
            wanted.patterns.iter().cloned().collect(),
        )
    }

    /// Ends the subscriber: its connection is dropped, `next_message`
    /// returns `None`, changes fail with `Closed`. Idempotent.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.task.abort();
    }

    /// Whether the subscriber has ended: [`Subscriber::close`] was called, or
    /// the pool was closed.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire) || self.inner.core.is_closed()
    }

    async fn change(&self, op: Op, names: Vec<Vec<u8>>) -> Result<()> {
        if self.is_closed() {
            return Err(Error::new(ErrorKind::Closed, "the subscriber is closed"));
        }
        let timeouts = &self.inner.core.config.timeouts;
        let mut wanted = tokio::time::timeout(timeouts.wait, self.inner.wanted.lock())
            .await
            .map_err(|_| Error::timeout(Phase::Wait, timeouts.wait))?;
        let epoch = wanted.epoch;
        let set = match op {
            Op::Subscribe | Op::Unsubscribe => &mut wanted.channels,
            Op::PSubscribe | Op::PUnsubscribe => &mut wanted.patterns,
        };
        let added: Vec<Vec<u8>> = if op.adds() {
            names
                .iter()
                .filter(|n| set.insert((*n).clone()))
                .cloned()
                .collect()
        } else {
            if names.is_empty() {
                set.clear();
            }
            for name in &names {
                set.remove(name);
            }
            Vec::new()
        };
        if op.adds() && names.is_empty() {
            return Ok(());
        }
        let Some(mut sink) = wanted.sink.clone() else {
            if !op.adds() {
                return Ok(());
            }
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "the subscriber is reconnecting: {} is kept and sent when it is back \
                     (a Resubscribed event follows)",
                    op.name()
                ),
            ));
        };
        let send = async {
            match op {
                Op::Subscribe => sink.subscribe(&names).await,
                Op::Unsubscribe => sink.unsubscribe(&names).await,
                Op::PSubscribe => sink.psubscribe(&names).await,
                Op::PUnsubscribe => sink.punsubscribe(&names).await,
            }
        };
        let err = match tokio::time::timeout(timeouts.command, send).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => Error::from_redis(e, Phase::Command),
            Err(_) => Error::timeout(Phase::Command, timeouts.command),
        };
        if err.kind() == ErrorKind::Response {
            // Refused by the server: never subscribed.
            let set = match op {
                Op::Subscribe => &mut wanted.channels,
                _ => &mut wanted.patterns,
            };
            for name in &added {
                set.remove(name);
            }
        } else {
            // No answer, or a broken connection: the task reconnects and
            // sends the whole set again.
            self.inner.suspect_epoch.store(epoch, Ordering::Release);
            self.inner.suspect.notify_one();
        }
        Err(err)
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("url", &self.inner.core.config.redacted_url())
            .field("closed", &self.is_closed())
            .finish()
    }
}

fn names<I, N>(names: I) -> Vec<Vec<u8>>
where
    I: IntoIterator<Item = N>,
    N: AsRef<[u8]>,
{
    names.into_iter().map(|n| n.as_ref().to_vec()).collect()
}

/// How reading a connection ended.
enum Ended {
    /// The pool was closed (or the reader went away): the subscriber ends.
    Closed,
    /// The connection is gone or suspect, for this reason.
    Lost(String),
}

/// The subscriber's task: reads the connection, and replaces it after an
/// outage.
async fn run(
    inner: Arc<Inner>,
    mut live: Live,
    mut health: watch::Receiver<Health>,
    tx: mpsc::Sender<SubscriberEvent>,
) {
    let url = inner.core.config.redacted_url();
    loop {
        let reason = match pump(&inner, &mut live, &mut health, &tx).await {
            Ended::Closed => return,
            Ended::Lost(reason) => reason,
        };
        inner.wanted.lock().await.sink = None;
        drop(live);
        Counters::bump(&inner.core.counters.evicted);
        // The server may be gone: let the health watch look now.
        inner.core.wake.notify_one();
        tracing::warn!(%url, %reason, "subscriber disconnected; re-subscribing when redis is up");
        if tx
            .send(SubscriberEvent::Disconnected { reason })
            .await
            .is_err()
        {
            return;
        }
        let Some((next, channels, patterns)) = reconnect(&inner, &mut health).await else {
            return;
        };
        live = next;
        Counters::bump(&inner.core.counters.resubscribes);
        tracing::info!(
            %url,
            channels = channels.len(),
            patterns = patterns.len(),
            "subscriber re-subscribed"
        );
        let event = SubscriberEvent::Resubscribed { channels, patterns };
        if tx.send(event).await.is_err() {
            return;
        }
    }
}

/// Forwards messages until the connection ends or goes stale.
async fn pump(
    inner: &Inner,
    live: &mut Live,
    health: &mut watch::Receiver<Health>,
    tx: &mpsc::Sender<SubscriberEvent>,
) -> Ended {
    use futures_util::StreamExt;
    loop {
        if let Some(ended) = stale(&health.borrow_and_update(), live.generation) {
            return ended;
        }
        tokio::select! {
            changed = health.changed() => {
                if changed.is_err() {
                    return Ended::Closed;
                }
            }
            () = inner.suspect.notified() => {
                if inner.suspect_epoch.load(Ordering::Acquire) == live.epoch {
                    return Ended::Lost("a subscription change got no answer".to_owned());
                }
            }
            msg = live.stream.next() => match msg {
                Some(msg) => {
                    let event = SubscriberEvent::Message(Message::from_msg(&msg));
                    if tx.send(event).await.is_err() {
                        return Ended::Closed;
                    }
                }
                None => return Ended::Lost("the connection was closed".to_owned()),
            },
        }
    }
}

/// Whether the pool's health says the connection must go.
fn stale(health: &Health, generation: u64) -> Option<Ended> {
    match health.state {
        State::Closed => Some(Ended::Closed),
        _ if health.generation != generation || health.state == State::Down => {
            let why = health.last_error.as_deref().unwrap_or("no reason given");
            Some(Ended::Lost(format!("the pool went down ({why})")))
        }
        _ => None,
    }
}

/// Waits for `Up`, then connects and subscribes the whole set, on the
/// backoff schedule; `None` when the pool is closed.
async fn reconnect(
    inner: &Inner,
    health: &mut watch::Receiver<Health>,
) -> Option<(Live, Vec<Vec<u8>>, Vec<Vec<u8>>)> {
    let backoff = &inner.core.config.backoff;
    let mut schedule = backoff.schedule();
    loop {
        let generation = {
            let up = health
                .wait_for(|h| matches!(h.state, State::Up | State::Closed))
                .await
                .ok()?;
            if up.state == State::Closed {
                return None;
            }
            up.generation
        };
        match resubscribe(inner, generation).await {
            Ok(done) => return Some(done),
            Err(e) if e.kind() == ErrorKind::Closed => return None,
            Err(e) => tracing::debug!(error = %e, "subscriber reconnect failed"),
        }
        let delay = schedule.next().unwrap_or(backoff.max);
        tokio::time::sleep(delay).await;
    }
}

/// One attempt: a new connection subscribed to the whole set.
async fn resubscribe(inner: &Inner, generation: u64) -> Result<(Live, Vec<Vec<u8>>, Vec<Vec<u8>>)> {
    let core = &inner.core;
    core.check_available()?;
    let (mut sink, stream) = core.open_pubsub().await?.split();
    let command = core.config.timeouts.command;
    let bounded = |what: Duration| move |_| Error::timeout(Phase::Command, what);
    // Held while subscribing, so that no change slips between the copy of
    // the set and the new sink.
    let mut wanted = inner.wanted.lock().await;
    let channels: Vec<Vec<u8>> = wanted.channels.iter().cloned().collect();
    let patterns: Vec<Vec<u8>> = wanted.patterns.iter().cloned().collect();
    if !channels.is_empty() {
        tokio::time::timeout(command, sink.subscribe(&channels))
            .await
            .map_err(bounded(command))??;
    }
    if !patterns.is_empty() {
        tokio::time::timeout(command, sink.psubscribe(&patterns))
            .await
            .map_err(bounded(command))??;
    }
    wanted.epoch += 1;
    wanted.sink = Some(sink);
    let live = Live {
        stream,
        generation,
        epoch: wanted.epoch,
    };
    Ok((live, channels, patterns))
}
