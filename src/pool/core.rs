//! State shared by every part of a pool: how to connect, health, counters.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use tokio::sync::{watch, Mutex, MutexGuard, Notify};

use super::connector::{Connector, Opened, Use};

use crate::config::Config;
use crate::error::{Error, ErrorKind, Phase, Result};
use crate::health::{Health, State};
use crate::metrics::Recorder;
use crate::stats::Counters;
use crate::stripe::{self, STRIPES};

/// Why a connection is being opened; decides what a failure does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// For a caller: refused while `Down`; a failure turns the pool `Down`.
    Request,
    /// For the health watch: allowed while `Down`; the watch judges failures.
    Probe,
}

/// How a connection carries replies, which decides what a timeout does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Multiplexed: the driver matches replies to requests and discards a
    /// late one, so a timed-out request leaves the connection usable.
    Multiplexed,
    /// One caller at a time: a timed-out request leaves its reply pending
    /// (or the server still busy with it), so the next caller would read it.
    Ordered,
}

/// What an error means for the connection it happened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Still usable: a server error reply, or a timeout on a multiplexed stream.
    Keep,
    /// Out of step: drop it (counted as evicted); Redis is not suspect.
    Drop,
    /// Broken (reset, closed, not speaking RESP): drop it, count it, and let
    /// the health watch probe now.
    Broken,
}

/// The part of a pool that connections and the watch both need.
pub(crate) struct Core {
    pub(crate) config: Config,
    pub(crate) connector: Connector,
    pub(crate) counters: Counters,
    /// Histograms and gauges for `Pool::metrics`, and the pool's name.
    pub(crate) metrics: Recorder,
    health: watch::Sender<Health>,
    down: AtomicBool,
    closed: AtomicBool,
    generation: AtomicU64,
    /// Single flight while Redis is not known to be up: at most one
    /// connection attempt at a time, so a burst of callers meeting a dead
    /// address makes one attempt, not one each.
    gate: Mutex<()>,
    /// A connection broke under a caller since the last connect that
    /// succeeded: connects pass the gate one at a time even while `Up`, so
    /// the callers that met the break (or come right after it) make one
    /// attempt, and the first that fails turns the pool `Down` for the rest.
    suspect: AtomicBool,
    /// Wakes the health watch early (a broken connection, close).
    pub(crate) wake: Notify,
    /// Wakes every call in flight when the pool is closed; striped, as
    /// every call registers on one of them.
    closing: [Notify; STRIPES],
    /// Wakes the health watch out of a backoff step: the deployment named
    /// a new address (a Sentinel switch), so reconnect now.
    pub(crate) retarget: Notify,
    /// Set by an explicit close: calls in flight and new ones end.
    calls_ended: AtomicBool,
}

impl Core {
    pub(crate) fn new(config: Config) -> Result<Self> {
        config.validate()?;
        let connector = Connector::new(&config)?;
        Ok(Self {
            metrics: Recorder::new(config.redacted_url(), config.metrics),
            config,
            connector,
            counters: Counters::default(),
            health: watch::Sender::new(Health::starting()),
            down: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            gate: Mutex::new(()),
            suspect: AtomicBool::new(false),
            wake: Notify::new(),
            closing: std::array::from_fn(|_| Notify::new()),
            retarget: Notify::new(),
            calls_ended: AtomicBool::new(false),
        })
    }

    /// The pool's name: its redacted address, the `pool` field of every
    /// event and the `pool` label of every metric.
    pub(crate) fn name(&self) -> &str {
        &self.metrics.name
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Whether the last word of the health watch (or of `Pool::connect`)
    /// was `Up`.
    pub(crate) fn is_up(&self) -> bool {
        let state = self.health.borrow().state;
        // A Degraded cluster is serving: its nodes' connects run side by side.
        !self.is_down()
            && (state == State::Up
                || (state == State::Degraded && matches!(self.connector, Connector::Cluster(_))))
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn health(&self) -> Health {
        self.health.borrow().clone()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Health> {
        self.health.subscribe()
    }

    /// Fails with `Closed` or, while `Down`, with `Unavailable` — no I/O.
    pub(crate) fn check_available(&self) -> Result<()> {
        if self.is_closed() {
            return Err(Error::closed());
        }
        if self.is_down() {
            Counters::bump(&self.counters.fast_fails);
            let reason = self.health.borrow().last_error.clone();
            return Err(Error::unavailable(reason.as_deref()));
        }
        Ok(())
    }

    /// Whether an explicit close ended the calls in flight (a failure seen
    /// now is the close's doing, not the connection's).
    pub(crate) fn calls_ended(&self) -> bool {
        self.calls_ended.load(Ordering::Acquire)
    }

    /// Marks the pool closed, publishes `Closed`, ends the calls in flight
    /// and wakes the watch so it ends.
    pub(crate) fn close(&self) {
        self.calls_ended.store(true, Ordering::Release);
        self.closing.iter().for_each(Notify::notify_waiters);
        self.close_on_drop();
    }

    /// What dropping the last `Pool` handle does: the pool is closed and the
    /// watch ends, but a connection still checked out keeps working for its
    /// holder (only an explicit close ends calls in flight).
    pub(crate) fn close_on_drop(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.wake.notify_one();
        self.health.send_modify(|h| {
            h.state = State::Closed;
            h.since = Instant::now();
        });
    }

    /// Runs `call`, or ends it with `Closed` as soon as the pool closes.
    pub(crate) async fn until_closed<T>(
        &self,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        // Registered before the check: a close between the two still wakes it.
        let closing = self.closing[stripe::index()].notified();
        if self.calls_ended.load(Ordering::Acquire) {
            return Err(Error::closed());
        }
        tokio::select! {
            biased;
            result = call => result,
            () = closing => Err(Error::closed_during_call()),
        }
    }

    /// Opens one connection and checks it answers `PONG`, within
    /// `timeouts.connect`; one attempt at a time per pool unless it is `Up`.
    pub(crate) async fn connect(&self, purpose: Purpose) -> Result<MultiplexedConnection> {
        let kind = match purpose {
            Purpose::Request => Use::Request,
            Purpose::Probe => Use::Probe,
        };
        let (opened, _) = self.connect_timed(purpose, kind).await?;
        opened
            .conn
            .into_redis()
            .map_err(|e| Error::from_redis(e, Phase::Connect))
    }

    /// [`Core::connect`] to one node of a Cluster (`Some`), or to the
    /// deployment's address (`None`).
    pub(crate) async fn connect_to(
        &self,
        purpose: Purpose,
        node: Option<&super::connector::SingleServer>,
    ) -> Result<MultiplexedConnection> {
        let Some(node) = node else {
            return self.connect(purpose).await;
        };
        let limit = self.config.timeouts.connect;
        let attempt = async {
            let _single_flight = self.admit(purpose).await?;
            node.open(Use::Request)
                .await
                .map_err(|e| self.connect_error(e))
        };
        let result = match tokio::time::timeout(limit, attempt).await {
            Ok(result) => result,
            Err(_) => Err(self.connect_timed_out()),
        };
        // One node failing is the watch's to judge, not the whole pool Down.
        self.record_connect(&result, Purpose::Probe);
        result
    }

    /// Publishes a Cluster's state as its health watch found it: `Up` or
    /// `Degraded` lifts a `Down`, with per-node health.
    pub(crate) fn publish_cluster(
        &self,
        state: State,
        reason: Option<String>,
        nodes: Vec<crate::health::NodeHealth>,
    ) {
        self.health.send_if_modified(|h| {
            if self.is_closed() {
                return false;
            }
            self.down.store(false, Ordering::Release);
            let changed = h.state != state || h.nodes != nodes || h.last_error != reason;
            if h.state != state {
                tracing::info!(url = %self.config.redacted_url(), from = %h.state, to = %state, reason = ?reason, "cluster state");
                h.state = state;
                h.since = Instant::now();
            }
            h.consecutive_failures = 0;
            h.last_error = reason;
            h.nodes = nodes;
            changed
        });
    }

    /// Records the per-node health of a cluster that is `Down`.
    pub(crate) fn set_nodes(&self, nodes: Vec<crate::health::NodeHealth>) {
        self.health.send_if_modified(|h| {
            let changed = h.nodes != nodes;
            h.nodes = nodes;
            changed
        });
    }

    /// [`Core::connect`] for a connection of `kind`, with the round trip of
    /// the connection's first `PING`.
    pub(crate) async fn connect_timed(
        &self,
        purpose: Purpose,
        kind: Use,
    ) -> Result<(Opened, Duration)> {
        use tracing::Instrument;
        let limit = self.config.timeouts.connect;
        let attempt = async {
            let _single_flight = self.admit(purpose).await?;
            let started = Instant::now();
            let opened = self.open(kind).await;
            if opened.is_ok() {
                self.metrics.created(started.elapsed());
            }
            opened
        };
        let span = tracing::debug_span!("connect", pool = %self.name(), purpose = ?purpose);
        let result = match tokio::time::timeout(limit, attempt).instrument(span).await {
            Ok(result) => result,
            Err(_) => Err(self.connect_timed_out()),
        };
        self.record_connect(&result, purpose);
        result
    }

    /// The gate every connect of every set passes: while `Up`, connects run
    /// side by side (the sets' caps bound them: queued one behind another
    /// on a slow link, a burst of checkouts would time out waiting and
    /// declare Redis down); otherwise — starting, `Degraded`, `Down`, or
    /// `Up` with a connection just broken under a caller — one at a time.
    /// Refuses a closed pool, and a caller's connect while `Down`.
    pub(crate) async fn admit(&self, purpose: Purpose) -> Result<Option<MutexGuard<'_, ()>>> {
        let single_flight = if self.is_up() && !self.suspect.load(Ordering::Acquire) {
            None
        } else {
            Some(self.gate.lock().await)
        };
        self.check_admitted(purpose)?;
        Ok(single_flight)
    }

    /// [`Core::admit`] for a thread outside the runtime, waiting for the
    /// gate until `deadline` at most, and no longer than the pool is open.
    pub(crate) fn admit_blocking(
        &self,
        runtime: &tokio::runtime::Handle,
        purpose: Purpose,
        deadline: Instant,
    ) -> Result<Option<MutexGuard<'_, ()>>> {
        if self.is_up() && !self.suspect.load(Ordering::Acquire) {
            return self.check_admitted(purpose).map(|()| None);
        }
        let wait = self.until_closed(async {
            match tokio::time::timeout_at(deadline.into(), self.admit(purpose)).await {
                Ok(admitted) => admitted,
                Err(_) => Err(self.connect_timed_out()),
            }
        });
        runtime.block_on(wait)
    }

    fn check_admitted(&self, purpose: Purpose) -> Result<()> {
        if self.is_closed() {
            return Err(Error::closed());
        }
        if purpose == Purpose::Request && self.is_down() {
            return Err(Error::unavailable(None));
        }
        Ok(())
    }

    /// The error of a connect that ran past `timeouts.connect`.
    pub(crate) fn connect_timed_out(&self) -> Error {
        Error::new(
            ErrorKind::Timeout(Phase::Connect),
            format!(
                "connect to {} timed out after {} (nothing answered like a Redis server)",
                self.config.redacted_url(),
                crate::util::fmt_duration(self.config.timeouts.connect)
            ),
        )
        .before_send()
    }

    /// Counts a connect's outcome; a failed connect for a caller turns the
    /// pool `Down` (refusals of a closed or `Down` pool are not attempts).
    pub(crate) fn record_connect<T>(&self, result: &Result<T>, purpose: Purpose) {
        match result {
            Ok(_) => {
                Counters::bump(&self.counters.connects);
                self.suspect.store(false, Ordering::Release);
            }
            Err(e) if matches!(e.kind(), ErrorKind::Closed | ErrorKind::Unavailable) => {}
            Err(e) => {
                Counters::bump(&self.counters.connect_failures);
                tracing::debug!(pool = %self.name(), error = %e, "connect failed");
                if purpose == Purpose::Request {
                    self.mark_down(e.to_string());
                }
            }
        }
    }

    async fn open(&self, kind: Use) -> Result<(Opened, Duration)> {
        let mut opened = self
            .connector
            .open_multiplexed(kind)
            .await
            .map_err(|e| self.connect_error(e))?;
        let started = Instant::now();
        let pong = opened
            .conn
            .request(&redis::cmd("PING"))
            .await
            .and_then(|reply| Ok(redis::from_redis_value::<String>(reply.extract_error()?)?))
            .map_err(|e| self.connect_error(e))?;
        let rtt = started.elapsed();
        if pong != "PONG" {
            return Err(Error::new(
                ErrorKind::Connection,
                format!(
                    "{} answered PING with {pong:?}: not a Redis server?",
                    self.config.redacted_url()
                ),
            ));
        }
        Ok((opened, rtt))
    }

    /// Opens a dedicated pub/sub connection within `timeouts.connect`.
    pub(crate) async fn open_pubsub(&self) -> Result<redis::aio::PubSub> {
        self.open_dedicated(self.connector.open_pubsub()).await
    }

    /// Opens a subscriber's RESP3 connection within `timeouts.connect`: the
    /// connection, and the server's pushes to it (at most `capacity` waiting).
    pub(crate) async fn open_push(
        &self,
        capacity: usize,
    ) -> Result<(MultiplexedConnection, super::connector::Pushes)> {
        let (tx, rx) = super::connector::Pushes::bounded(capacity);
        let conn = self.open_dedicated(self.connector.open_push(tx)).await?;
        Ok((conn, rx))
    }

    /// Opens a dedicated `MONITOR` connection, within `timeouts.connect`.
    pub(crate) async fn open_monitor(&self) -> Result<redis::aio::Monitor> {
        self.open_dedicated(self.connector.open_monitor()).await
    }

    /// A connection of its own (not in any set): bounded by
    /// `timeouts.connect`, counted in `connects` / `connect_failures`.
    async fn open_dedicated<T>(
        &self,
        open: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T> {
        let limit = self.config.timeouts.connect;
        match tokio::time::timeout(limit, open).await {
            Ok(Ok(conn)) => {
                Counters::bump(&self.counters.connects);
                Ok(conn)
            }
            Ok(Err(e)) => {
                Counters::bump(&self.counters.connect_failures);
                Err(self.connect_error(e))
            }
            Err(_) => {
                Counters::bump(&self.counters.connect_failures);
                Err(Error::timeout(Phase::Connect, limit))
            }
        }
    }

    pub(crate) fn connect_error(&self, err: redis::RedisError) -> Error {
        if err.is_timeout() {
            return self.connect_timed_out();
        }
        let mapped = Error::from_redis(err, Phase::Connect);
        let message = format!("{} ({})", mapped.message(), self.config.redacted_url());
        let kind = match mapped.kind() {
            // A server error reply while connecting (NOAUTH, WRONGPASS, a
            // bad SELECT) means this connection cannot be used.
            ErrorKind::Response => ErrorKind::Connection,
            other => other,
        };
        Error::new(kind, message).before_send()
    }

    /// Records a working connection: `Up`, failures reset, and a `Down`
    /// pool usable again (the watch's reconnect, `Pool::connect`).
    pub(crate) fn mark_up(&self, rtt: Option<Duration>) {
        self.publish_up(rtt, true);
    }

    /// Records a successful routine probe. It does not lift a `Down` that a
    /// caller declared while the probe was in flight: only the watch's
    /// reconnect, on a fresh connection, does that.
    pub(crate) fn mark_probe_ok(&self, rtt: Duration) {
        self.publish_up(Some(rtt), false);
    }

    // `down` and `generation` change only inside the health sender's lock,
    // so the published state and the flags callers read never disagree
    // (a probe finishing late cannot paint a `Down` pool `Degraded` or `Up`).
    fn publish_up(&self, rtt: Option<Duration>, lift_down: bool) {
        self.health.send_if_modified(|h| {
            if self.is_closed() {
                return false;
            }
            if self.down.load(Ordering::Acquire) {
                if !lift_down {
                    return false;
                }
                self.down.store(false, Ordering::Release);
            }
            let changed = h.state != State::Up;
            if changed {
                tracing::info!(pool = %self.name(), from = %h.state, "redis is up");
                h.state = State::Up;
                h.since = Instant::now();
                h.last_error = None;
            }
            if rtt.is_some() {
                h.rtt = rtt;
            }
            h.consecutive_failures = 0;
            // Publish state changes, not every RTT sample.
            changed
        });
    }

    /// Records a failed probe that does not (yet) make the pool `Down`.
    /// A pool already `Down` stays `Down`.
    pub(crate) fn mark_degraded(&self, reason: String, failures: u32) {
        self.health.send_if_modified(|h| {
            if self.is_closed() || self.down.load(Ordering::Acquire) {
                return false;
            }
            let changed = h.state != State::Degraded;
            if changed {
                tracing::warn!(pool = %self.name(), error = %reason, "redis is degraded");
                h.state = State::Degraded;
                h.since = Instant::now();
            }
            h.last_error = Some(reason);
            h.consecutive_failures = failures;
            true
        });
    }

    /// Turns the pool `Down`: new generation, callers fail fast.
    pub(crate) fn mark_down(&self, reason: String) {
        let mut first = false;
        self.health.send_if_modified(|h| {
            if self.is_closed() {
                return false;
            }
            let already = self.down.swap(true, Ordering::AcqRel);
            first = !already;
            let generation = if already {
                self.generation()
            } else {
                self.generation.fetch_add(1, Ordering::AcqRel) + 1
            };
            if h.state != State::Down {
                tracing::warn!(pool = %self.name(), error = %reason, "redis is down");
                h.state = State::Down;
                h.since = Instant::now();
            }
            h.consecutive_failures = h.consecutive_failures.saturating_add(1);
            h.last_error = Some(reason);
            h.generation = generation;
            true
        });
        if first {
            self.wake.notify_one();
        }
    }

    /// The deployment moved (a failover): a new generation starts, `Down`
    /// until the health watch has connected to the new address.
    pub(crate) fn retarget(&self, reason: String) {
        self.mark_down(reason);
        self.wake_retarget();
    }

    /// Lets the health watch reconnect now rather than after its backoff step.
    pub(crate) fn wake_retarget(&self) {
        self.retarget.notify_one();
    }

    /// Records a failed reconnect attempt while `Down`.
    pub(crate) fn note_reconnect_failure(&self, reason: String) {
        self.health.send_modify(|h| {
            h.consecutive_failures = h.consecutive_failures.saturating_add(1);
            h.last_error = Some(reason);
        });
    }

    /// The one rule every connection set follows after an error; a
    /// `Broken` verdict is not yet reported (a shared connection is evicted
    /// by one caller only: see [`Core::report_broken`]).
    pub(crate) fn judge(&self, err: &Error, stream: Stream) -> Verdict {
        if err.breaks_connection() {
            Verdict::Broken
        } else if err.is_timeout() && stream == Stream::Ordered {
            Verdict::Drop
        } else {
            Verdict::Keep
        }
    }

    /// Whether a connection opened in `generation` may still be handed out:
    /// nothing from before an outage is.
    pub(crate) fn is_fresh(&self, generation: u64) -> bool {
        generation == self.generation()
    }

    /// Counts a connection dropped for being out of step or stale.
    pub(crate) fn count_dropped(&self) {
        Counters::bump(&self.counters.evicted);
    }

    /// A connection broke under a caller: count it, let the watch probe now,
    /// and gate connects until one succeeds.
    pub(crate) fn report_broken(&self) {
        Counters::bump(&self.counters.evicted);
        self.suspect.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}
