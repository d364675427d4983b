//! `Pool::subscriber`: a pub/sub subscriber that survives outages.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use redis::{PushInfo, PushKind, Value};
use tokio::sync::{mpsc, watch, Mutex, Notify};

use super::core::Core;
use crate::error::{Error, ErrorKind, Phase, Result};
use crate::health::{Health, State};
use crate::stats::Counters;

/// Events buffered for a reader that is behind; past it the subscriber
/// stops taking messages off its connection until the reader catches up.
const BUFFER: usize = 1024;

/// Pushes the connection may hold for the subscriber's task while the
/// reader is behind (past [`BUFFER`]); one more and the subscriber drops
/// the connection and starts again, as a server drops a subscriber whose
/// output buffer outgrows its limit: memory stays bounded.
const PUSH_BUFFER: usize = 8 * BUFFER;

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

    /// A `message`, `pmessage` or `smessage` push as an event; `None` for
    /// any other push (confirmations, which `change` has already read).
    fn from_push(push: PushInfo) -> Option<SubscriberEvent> {
        let mut data = push.data.into_iter().map(|v| match v {
            Value::BulkString(b) => b,
            Value::SimpleString(s) => s.into_bytes(),
            _ => Vec::new(),
        });
        let mut next = || data.next().unwrap_or_default();
        let plain = |channel, payload| Message {
            channel,
            pattern: None,
            payload,
        };
        match push.kind {
            PushKind::Message => Some(SubscriberEvent::Message(plain(next(), next()))),
            PushKind::SMessage => Some(SubscriberEvent::ShardMessage(plain(next(), next()))),
            PushKind::PMessage => {
                let pattern = Some(next());
                Some(SubscriberEvent::Message(Message {
                    pattern,
                    channel: next(),
                    payload: next(),
                }))
            }
            _ => None,
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
    /// A message published (`SPUBLISH`) on a subscribed shard channel
    /// ([`Subscriber::ssubscribe`]); its `pattern` is `None`.
    ShardMessage(Message),
    /// The connection was lost (the reason says why); messages published
    /// from now until [`SubscriberEvent::Resubscribed`] are not received.
    Disconnected {
        /// Why, in one line (never a password).
        reason: String,
    },
    /// A new connection is subscribed again to every channel, pattern and
    /// shard channel in the set (possibly none).
    Resubscribed {
        /// The channels subscribed again.
        channels: Vec<Vec<u8>>,
        /// The patterns subscribed again.
        patterns: Vec<Vec<u8>>,
        /// The shard channels subscribed again.
        shard_channels: Vec<Vec<u8>>,
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
/// sub.ssubscribe(["orders:{eu}"]).await?;
/// while let Some(event) = sub.next_message().await {
///     match event {
///         SubscriberEvent::Message(m) => println!("{}: {}", m.channel_str(), m.payload_str()),
///         SubscriberEvent::ShardMessage(m) => println!("shard {}: {}", m.channel_str(), m.payload_str()),
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
/// - **The connection.** One RESP3 connection of its own (Redis 6 or
///   later): messages, pattern messages and shard messages arrive on it as
///   pushes. Not for a Cluster pool (an error says so).
/// - **The set.** The subscriber keeps the set of channels, patterns and
///   shard channels it was asked for. [`Subscriber::subscribe`] and
///   friends change the set and send the command on the live connection,
///   one command per name, waiting for the server's confirmations for at
///   most `timeouts.command` (`Timeout(Command)`; a wait of more than
///   `timeouts.wait` for a concurrent change or re-subscribe is
///   `Timeout(Wait)`). Unsubscribing from none means from every name of
///   that kind in the set. A name the server refuses (an error reply, e.g.
///   an ACL `NOPERM`) leaves the set again. While there is no connection,
///   `subscribe` adds to the set and fails with `Unavailable`: the name is
///   subscribed with the rest when the connection is back.
/// - **Outage.** When the connection drops (the server went away, a
///   confirmation timed out) or the pool goes `Down` (its health watch
///   caught a dead or silent server: the connection predates the outage),
///   the subscriber drops its connection, yields
///   [`SubscriberEvent::Disconnected`], and logs a `warn` event. It then
///   waits for the pool to be `Up` again (the health watch reconnects), and
///   opens a new connection (within `timeouts.connect`) and subscribes it
///   to the whole set, shard channels included (within `timeouts.command`), trying again on the
///   pool's [`Backoff`](crate::Backoff) schedule after a failure. When it
///   succeeds it yields [`SubscriberEvent::Resubscribed`], logs an `info`
///   event and counts it in [`Stats::resubscribes`](crate::Stats::resubscribes).
///   Messages published while it was disconnected are lost (pub/sub keeps
///   nothing); the two events mark the gap.
/// - **End.** [`Subscriber::close`], dropping the subscriber, or closing the
///   pool (or dropping its last handle) ends it: `next_message` returns
///   `None`. It never ends otherwise: a pool that stays `Down` keeps it
///   waiting.
/// - **Back-pressure.** Up to 1,024 events wait for a reader, and 8,192
///   more on the connection. Past that (a reader further behind, or a
///   burst that comes faster than the subscriber moves it on) the
///   subscriber loses the connection, as a server drops a subscriber past
///   its output buffer limit: the subscriber yields [`SubscriberEvent::Disconnected`] ("the
///   reader fell behind") after the messages it still holds, then
///   subscribes again on a new connection as after an outage. Memory stays
///   bounded. What the subscriber has not read off its socket yet waits on
///   the server, within its `client-output-buffer-limit pubsub` (past it
///   the server drops the connection: an outage, as above).
pub struct Subscriber {
    inner: Arc<Inner>,
    events: Mutex<mpsc::Receiver<SubscriberEvent>>,
    task: tokio::task::JoinHandle<()>,
}

struct Inner {
    core: Arc<Core>,
    wanted: Mutex<Wanted>,
    /// The live connection, while there is one (cheap to clone: a change
    /// sends on a clone). Apart from `wanted` so that `close` can drop it at
    /// once, even while a change holds `wanted`: the socket closes when the
    /// last clone goes.
    conn: std::sync::Mutex<Option<MultiplexedConnection>>,
    closed: AtomicBool,
    /// The epoch of a connection a caller found unresponsive or broken.
    suspect_epoch: AtomicU64,
    suspect: Notify,
}

/// The set.
struct Wanted {
    channels: BTreeSet<Vec<u8>>,
    patterns: BTreeSet<Vec<u8>>,
    shards: BTreeSet<Vec<u8>>,
    /// Increments with each new connection.
    epoch: u64,
}

/// The connection the task reads.
struct Live {
    /// What the server pushes to it; a `Disconnection` push, or the end,
    /// when it is gone.
    pushes: super::connector::Pushes,
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
    SSubscribe,
    SUnsubscribe,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Subscribe => "SUBSCRIBE",
            Op::Unsubscribe => "UNSUBSCRIBE",
            Op::PSubscribe => "PSUBSCRIBE",
            Op::PUnsubscribe => "PUNSUBSCRIBE",
            Op::SSubscribe => "SSUBSCRIBE",
            Op::SUnsubscribe => "SUNSUBSCRIBE",
        }
    }

    fn adds(self) -> bool {
        matches!(self, Op::Subscribe | Op::PSubscribe | Op::SSubscribe)
    }
}

impl Wanted {
    /// The part of the set `op` changes.
    fn set(&mut self, op: Op) -> &mut BTreeSet<Vec<u8>> {
        match op {
            Op::Subscribe | Op::Unsubscribe => &mut self.channels,
            Op::PSubscribe | Op::PUnsubscribe => &mut self.patterns,
            Op::SSubscribe | Op::SUnsubscribe => &mut self.shards,
        }
    }
}

impl Subscriber {
    /// Opens the connection and starts the subscriber's task.
    pub(crate) async fn open(core: Arc<Core>) -> Result<Subscriber> {
        core.check_available()?;
        let health = core.subscribe();
        let generation = health.borrow().generation;
        let (conn, pushes) = core.open_push(PUSH_BUFFER).await?;
        let inner = Arc::new(Inner {
            core,
            wanted: Mutex::new(Wanted {
                channels: BTreeSet::new(),
                patterns: BTreeSet::new(),
                shards: BTreeSet::new(),
                epoch: 1,
            }),
            conn: std::sync::Mutex::new(Some(conn)),
            closed: AtomicBool::new(false),
            suspect_epoch: AtomicU64::new(0),
            suspect: Notify::new(),
        });
        let (tx, rx) = mpsc::channel(BUFFER);
        let live = Live {
            pushes,
            generation,
            epoch: 1,
        };
        let task = tokio::spawn({
            let inner = inner.clone();
            async move {
                run(&inner, live, health, tx).await;
                inner.set_conn(None);
            }
        });
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

    /// Subscribes to shard `channels` (`SSUBSCRIBE`, Redis 7; their messages
    /// are [`SubscriberEvent::ShardMessage`]); they stay in the set across
    /// outages like the others.
    pub async fn ssubscribe<I, N>(&self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = N>,
        N: AsRef<[u8]>,
    {
        self.change(Op::SSubscribe, names(channels)).await
    }

    /// Unsubscribes from shard `channels` (`SUNSUBSCRIBE`); none means all.
    pub async fn sunsubscribe<I, N>(&self, channels: I) -> Result<()>
    where
        I: IntoIterator<Item = N>,
        N: AsRef<[u8]>,
    {
        self.change(Op::SUnsubscribe, names(channels)).await
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

    /// The shard channels in the set now.
    pub async fn shard_subscriptions(&self) -> Vec<Vec<u8>> {
        let wanted = self.inner.wanted.lock().await;
        wanted.shards.iter().cloned().collect()
    }

    /// Ends the subscriber: its connection is dropped, `next_message`
    /// returns `None`, changes fail with `Closed`. Idempotent.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.task.abort();
        self.inner.set_conn(None);
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
        let set = wanted.set(op);
        let (names, added): (Vec<Vec<u8>>, Vec<Vec<u8>>) = if op.adds() {
            let added = names.iter().filter(|n| set.insert((*n).clone()));
            let added = added.cloned().collect();
            (names, added)
        } else if names.is_empty() {
            // "All": the names this subscriber holds, each confirmed once.
            (std::mem::take(set).into_iter().collect(), Vec::new())
        } else {
            for name in &names {
                set.remove(name);
            }
            (names, Vec::new())
        };
        if names.is_empty() {
            return Ok(());
        }
        let Some(mut conn) = self.inner.conn() else {
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
        let commands: Vec<(Op, &[u8])> = names.iter().map(|n| (op, n.as_slice())).collect();
        let err = match tokio::time::timeout(timeouts.command, send(&mut conn, &commands)).await {
            Ok(Ok(refused)) if refused.is_empty() => return Ok(()),
            Ok(Ok(refused)) => {
                // Refused by the server: never subscribed.
                let set = wanted.set(op);
                let mut first = None;
                for (i, e) in refused {
                    if added.contains(&names[i]) {
                        set.remove(&names[i]);
                    }
                    first.get_or_insert(e);
                }
                return Err(first.unwrap_or_else(|| Error::new(ErrorKind::Response, "refused")));
            }
            Ok(Err(e)) => Error::from_redis(e, Phase::Command),
            Err(_) => Error::timeout(Phase::Command, timeouts.command),
        };
        // No answer, or a broken connection: the task reconnects and sends
        // the whole set again.
        self.inner.suspect_epoch.store(epoch, Ordering::Release);
        self.inner.suspect.notify_one();
        Err(err)
    }
}

/// Sends `commands` (one name each, so one confirmation each: redis-rs
/// counts them) in one pipeline; the positions and errors of those the
/// server refused.
async fn send(
    conn: &mut MultiplexedConnection,
    commands: &[(Op, &[u8])],
) -> redis::RedisResult<Vec<(usize, Error)>> {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for (op, name) in commands {
        pipe.cmd(op.name()).arg(*name);
    }
    let replies: Vec<Value> = pipe.query_async(conn).await?;
    let refused = replies
        .into_iter()
        .enumerate()
        .filter_map(|(i, reply)| match reply {
            Value::ServerError(e) => {
                let e = redis::RedisError::from(e);
                Some((i, Error::from_redis(e, Phase::Command)))
            }
            _ => None,
        });
    Ok(refused.collect())
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
impl Inner {
    fn conn(&self) -> Option<MultiplexedConnection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the live connection; a closed subscriber keeps none.
    fn set_conn(&self, conn: Option<MultiplexedConnection>) {
        *self.conn.lock().unwrap_or_else(|e| e.into_inner()) = conn;
        if self.closed.load(Ordering::Acquire) {
            self.conn.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
    }
}

async fn run(
    inner: &Inner,
    mut live: Live,
    mut health: watch::Receiver<Health>,
    tx: mpsc::Sender<SubscriberEvent>,
) {
    let url = inner.core.config.redacted_url();
    loop {
        let reason = match pump(inner, &mut live, &mut health, &tx).await {
            Ended::Closed => return,
            Ended::Lost(reason) => reason,
        };
        inner.set_conn(None);
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
        let Some((next, event)) = reconnect(inner, &mut health).await else {
            return;
        };
        live = next;
        Counters::bump(&inner.core.counters.resubscribes);
        if let SubscriberEvent::Resubscribed {
            channels,
            patterns,
            shard_channels,
        } = &event
        {
            tracing::info!(
                %url,
                channels = channels.len(),
                patterns = patterns.len(),
                shard_channels = shard_channels.len(),
                "subscriber re-subscribed"
            );
        }
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
            push = live.pushes.rx.recv() => match push {
                Some(push) if push.kind == PushKind::Disconnection => {
                    return Ended::Lost("the connection was closed".to_owned());
                }
                Some(_) if live.pushes.overflowed() => {
                    return Ended::Lost(format!(
                        "the reader fell behind: more than {} messages were waiting",
                        BUFFER + PUSH_BUFFER
                    ));
                }
                Some(push) => {
                    let Some(event) = Message::from_push(push) else {
                        continue;
                    };
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
) -> Option<(Live, SubscriberEvent)> {
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

/// One attempt: a new connection subscribed to the whole set; the
/// `Resubscribed` event that says so.
async fn resubscribe(inner: &Inner, generation: u64) -> Result<(Live, SubscriberEvent)> {
    let core = &inner.core;
    core.check_available()?;
    let (mut conn, pushes) = core.open_push(PUSH_BUFFER).await?;
    let command = core.config.timeouts.command;
    // Held while subscribing, so that no change slips between the copy of
    // the set and the new connection.
    let mut wanted = inner.wanted.lock().await;
    let copy = |set: &BTreeSet<Vec<u8>>| set.iter().cloned().collect::<Vec<_>>();
    let (channels, patterns, shards) = (
        copy(&wanted.channels),
        copy(&wanted.patterns),
        copy(&wanted.shards),
    );
    let commands: Vec<(Op, &[u8])> = [
        (Op::Subscribe, &channels),
        (Op::PSubscribe, &patterns),
        (Op::SSubscribe, &shards),
    ]
    .into_iter()
    .flat_map(|(op, names)| names.iter().map(move |n| (op, n.as_slice())))
    .collect();
    if !commands.is_empty() {
        let refused = tokio::time::timeout(command, send(&mut conn, &commands))
            .await
            .map_err(|_| Error::timeout(Phase::Command, command))?
            .map_err(|e| Error::from_redis(e, Phase::Command))?;
        if let Some((_, e)) = refused.into_iter().next() {
            return Err(e);
        }
    }
    wanted.epoch += 1;
    inner.set_conn(Some(conn));
    let live = Live {
        pushes,
        generation,
        epoch: wanted.epoch,
    };
    let event = SubscriberEvent::Resubscribed {
        channels,
        patterns,
        shard_channels: shards,
    };
    Ok((live, event))
}
