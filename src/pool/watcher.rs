//! The health watch: one task per pool that probes, evicts and reconnects.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use super::connector::{Connector, ProbeFailure, Use};
use super::core::{Core, Purpose};
use super::Shared;
use crate::error::{Error, ErrorKind, Phase};
use crate::health::State;
use crate::stats::Counters;

/// Runs until the pool is closed or dropped. Holds only a `Weak` to the
/// pool, so dropping the last [`Pool`](crate::Pool) ends it.
pub(crate) async fn run(core: Arc<Core>, pool: Weak<Shared>) {
    let mut watch = Watch {
        core,
        pool,
        probe: None,
        failures: 0,
    };
    watch.run().await;
    tracing::debug!(pool = %watch.core.name(), "health watch ended");
}

struct Watch {
    core: Arc<Core>,
    pool: Weak<Shared>,
    probe: Option<MultiplexedConnection>,
    failures: u32,
}

impl Watch {
    async fn run(&mut self) {
        if matches!(self.core.connector, Connector::Cluster(_)) {
            return self.run_cluster().await;
        }
        while !self.core.is_closed() {
            if self.core.is_down() {
                if !self.recover().await {
                    return;
                }
                continue;
            }
            if self.probe_once().await {
                self.top_up_min_idle().await;
                self.sleep_or_wake(self.core.config.health.interval).await;
            }
            // After a failed probe, probe again at once: Down is detected
            // within `interval + timeout × failures_before_down`.
        }
    }

    /// A Cluster's watch: every round reads the slot map (one refresh at a
    /// time) and probes every node; the whole-cluster state follows. While
    /// `Down`, rounds follow the backoff schedule.
    async fn run_cluster(&mut self) {
        let Connector::Cluster(cluster) = &self.core.connector else {
            return;
        };
        let backoff = &self.core.config.backoff;
        let mut schedule = None;
        while !self.core.is_closed() && self.pool.strong_count() > 0 {
            let (state, reason, nodes) = cluster.probe_all(&self.core).await;
            let delay = if state == State::Down {
                if !self.core.is_down() {
                    self.core
                        .mark_down(reason.unwrap_or_else(|| "no cluster primary answers".into()));
                    cluster.clear();
                    self.evict_all();
                }
                self.core.set_nodes(nodes);
                let steps = schedule.get_or_insert_with(|| backoff.schedule());
                Counters::bump(&self.core.counters.reconnects);
                steps.next().unwrap_or(backoff.max)
            } else {
                schedule = None;
                self.core.publish_cluster(state, reason, nodes);
                self.core.config.health.interval
            };
            self.sleep_or_wake(delay).await;
        }
    }

    /// One probe while not `Down`; true if it got its `PONG`.
    async fn probe_once(&mut self) -> bool {
        let mut conn = match self.probe.clone() {
            Some(conn) => conn,
            None => match self.core.connect(Purpose::Probe).await {
                Ok(conn) => {
                    self.probe = Some(conn.clone());
                    conn
                }
                Err(e) if e.kind() == ErrorKind::Closed => return false,
                // A slow connect is a failed probe like a slow PONG: it
                // counts towards `failures_before_down`.
                Err(e) if e.is_timeout() => {
                    Counters::bump(&self.core.counters.probes);
                    return self.fail(e.to_string());
                }
                Err(e) => {
                    // Refused or reset: nothing is there. Down at once.
                    Counters::bump(&self.core.counters.probe_failures);
                    self.failures += 1;
                    self.core.mark_down(e.to_string());
                    return false;
                }
            },
        };
        let started = Instant::now();
        Counters::bump(&self.core.counters.probes);
        let timeout = self.core.config.health.timeout;
        match tokio::time::timeout(timeout, self.core.connector.probe(&mut conn)).await {
            Ok(Ok(())) => {
                self.failures = 0;
                let rtt = started.elapsed();
                self.core.metrics.probed(rtt);
                self.core.mark_probe_ok(rtt);
                true
            }
            Ok(Err(ProbeFailure::Io(e))) => {
                self.probe = None;
                self.fail(e.to_string())
            }
            Ok(Err(ProbeFailure::Wrong(reason))) => {
                // A clear answer, not a doubt: Down now, resolve again.
                Counters::bump(&self.core.counters.probe_failures);
                self.probe = None;
                self.failures += 1;
                self.core
                    .mark_down(format!("health probe failed: {reason}"));
                false
            }
            Err(_) => self.fail(Error::timeout(Phase::Command, timeout).to_string()),
        }
    }

    fn fail(&mut self, reason: String) -> bool {
        Counters::bump(&self.core.counters.probe_failures);
        self.failures += 1;
        let reason = format!("health probe failed: {reason}");
        if self.failures >= self.core.config.health.failures_before_down {
            self.core.mark_down(reason);
        } else {
            self.core.mark_degraded(reason, self.failures);
        }
        false
    }

    /// While `Down`: evict, then reconnect on the backoff schedule, one
    /// attempt at a time. Returns false when the watch should end.
    async fn recover(&mut self) -> bool {
        self.probe = None;
        self.evict_all();
        let backoff = &self.core.config.backoff;
        let mut schedule = backoff.schedule();
        let down_since = Instant::now();
        loop {
            let delay = schedule.next().unwrap_or(backoff.max);
            if let Some(limit) = backoff.max_elapsed {
                if down_since.elapsed() + delay > limit {
                    tracing::error!(
                        pool = %self.core.name(),
                        "giving up reconnecting after {}",
                        crate::util::fmt_duration(limit)
                    );
                    self.core.note_reconnect_failure(format!(
                        "gave up reconnecting after {}",
                        crate::util::fmt_duration(limit)
                    ));
                    self.wait_for_close().await;
                    return false;
                }
            }
            if !self.sleep_until_closed(delay).await {
                return false;
            }
            Counters::bump(&self.core.counters.reconnects);
            let span = tracing::info_span!("reconnect", pool = %self.core.name());
            tracing::debug!(parent: &span, pool = %self.core.name(), "reconnect attempt");
            self.core.connector.before_reconnect();
            match tracing::Instrument::instrument(self.connect_checked(), span).await {
                // A link slower than the probe allows is not recovered: taking
                // it would turn the pool Up only for the next probe to fail.
                Ok((_, rtt)) if rtt > self.core.config.health.timeout => {
                    self.core.note_reconnect_failure(format!(
                        "reconnected, but PING took {} (over health.timeout {})",
                        crate::util::fmt_duration(rtt),
                        crate::util::fmt_duration(self.core.config.health.timeout)
                    ));
                }
                Ok((conn, rtt)) => {
                    self.probe = Some(conn);
                    self.failures = 0;
                    // Anything opened before this point belongs to the old
                    // generation and is evicted, never handed out.
                    self.evict_all();
                    self.core.mark_up(Some(rtt));
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::Closed => return false,
                Err(e) => self.core.note_reconnect_failure(self.explain(e)),
            }
        }
    }

    /// A reconnect: a new connection that also passes the deployment's
    /// probe (a Sentinel master answers `ROLE master`).
    async fn connect_checked(&self) -> Result<(MultiplexedConnection, Duration), Error> {
        let (opened, rtt) = self.core.connect_timed(Purpose::Probe, Use::Probe).await?;
        let mut conn = opened
            .conn
            .into_redis()
            .map_err(|e| Error::from_redis(e, Phase::Connect))?;
        let timeout = self.core.config.health.timeout;
        match tokio::time::timeout(timeout, self.core.connector.probe(&mut conn)).await {
            Ok(Ok(())) => Ok((conn, rtt)),
            Ok(Err(ProbeFailure::Io(e))) => Err(Error::from_redis(e, Phase::Connect)),
            Ok(Err(ProbeFailure::Wrong(reason))) => Err(Error::new(ErrorKind::Connection, reason)),
            Err(_) => Err(Error::timeout(Phase::Connect, timeout)),
        }
    }

    /// A failed reconnect's reason; names the local server's give-up if any.
    fn explain(&self, e: Error) -> String {
        let failure = self
            .pool
            .upgrade()
            .and_then(|pool| pool.server.as_ref().and_then(|s| s.failure()));
        match failure {
            Some(reason) => format!("{e}; the local redis-server is not restarted: {reason}"),
            None => e.to_string(),
        }
    }

    /// Drops the idle connections of every set.
    fn evict_all(&self) {
        let Some(pool) = self.pool.upgrade() else {
            return;
        };
        // Count what was removed, not a status snapshot taken before it.
        let dropped: usize = pool.sets().iter().map(|set| set.evict_idle()).sum();
        if dropped > 0 {
            tracing::info!(pool = %self.core.name(), count = dropped, "evicted idle connections");
            self.core
                .counters
                .evicted
                .fetch_add(dropped as u64, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Keeps `pool.min_idle` exclusive connections open while `Up`.
    async fn top_up_min_idle(&self) {
        let min_idle = self.core.config.pool.min_idle;
        let Some(pool) = self.pool.upgrade() else {
            return;
        };
        let status = pool.exclusive.pool.status();
        if min_idle == 0 || status.size >= min_idle {
            return;
        }
        let mut held = Vec::new();
        for _ in status.size..min_idle {
            match pool.exclusive.pool.get().await {
                Ok(conn) => held.push(conn),
                Err(_) => break,
            }
        }
    }

    /// Sleeps `delay`, or less if a caller reports a broken connection.
    async fn sleep_or_wake(&self, delay: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = self.core.wake.notified() => {}
        }
    }

    /// Sleeps the full `delay` (wakes do not shorten a backoff step; only
    /// the deployment naming a new address does); false if the pool closed
    /// meanwhile.
    async fn sleep_until_closed(&self, delay: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + delay;
        loop {
            if self.core.is_closed() || self.pool.strong_count() == 0 {
                return false;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return !self.core.is_closed(),
                _ = self.core.retarget.notified() => return !self.core.is_closed(),
                _ = self.core.wake.notified() => {}
            }
        }
    }

    async fn wait_for_close(&self) {
        while !self.core.is_closed() && self.pool.strong_count() > 0 {
            self.sleep_or_wake(Duration::from_secs(1)).await;
        }
    }
}
