//! A Sentinel group: the master is found through the sentinels, checked
//! with `ROLE`, and followed across failovers (`+switch-master`).
//!
//! The resolution is redkeep's own small query (`SENTINEL MASTER <name>` on
//! every sentinel at once, then `ROLE` on the named master), not redis-rs's
//! `Sentinel::async_master_for`: that one has no per-sentinel deadline (a
//! silent sentinel holds it up) and accepts a master in the middle of a
//! failover — the old master still answers `ROLE master` for seconds after
//! its replica was promoted, which is how clients lose acknowledged writes.

use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;

use super::connector::SingleServer;
use super::core::Core;
use crate::config::Config;
use crate::deployment::SentinelSpec;

/// The master of a Sentinel group, as last resolved.
pub(crate) struct SentinelMaster {
    spec: SentinelSpec,
    /// The master now; `None` until resolved, and again after a switch.
    current: ArcSwapOption<SingleServer>,
    /// One resolution at a time.
    resolving: tokio::sync::Mutex<()>,
    config: Config,
}

/// What the sentinels said about the master.
struct Answer {
    host: String,
    port: u16,
    epoch: u64,
    failover: bool,
    flags: String,
}

impl SentinelMaster {
    pub(crate) fn new(spec: SentinelSpec, config: &Config) -> Self {
        Self {
            spec,
            current: ArcSwapOption::empty(),
            resolving: tokio::sync::Mutex::new(()),
            config: config.clone(),
        }
    }

    /// The name the sentinels know the master by.
    pub(crate) fn master_name(&self) -> &str {
        &self.spec.master_name
    }

    /// The master resolved last, if any.
    pub(crate) fn current(&self) -> Option<Arc<SingleServer>> {
        self.current.load_full()
    }

    /// `host:port` of the master resolved last.
    pub(crate) fn current_addr(&self) -> Option<String> {
        self.current()
            .map(|s| crate::deployment::addr_text(s.info().addr()))
    }

    /// Forgets the master, so the next connect resolves it again.
    pub(crate) fn forget(&self) {
        self.current.store(None);
    }

    /// The master, resolved now if none is known.
    pub(crate) async fn master(&self) -> redis::RedisResult<Arc<SingleServer>> {
        if let Some(current) = self.current() {
            return Ok(current);
        }
        let _one = self.resolving.lock().await;
        if let Some(current) = self.current() {
            return Ok(current);
        }
        let server = Arc::new(self.resolve().await?);
        self.current.store(Some(server.clone()));
        Ok(server)
    }

    /// Asks every sentinel at once; takes the master named with the highest
    /// config epoch, refuses one a failover is under way for, and checks
    /// that it answers `ROLE` as a master.
    async fn resolve(&self) -> redis::RedisResult<SingleServer> {
        let asks = self
            .spec
            .sentinels
            .iter()
            .map(|s| ask(s, &self.spec.master_name));
        let started = std::time::Instant::now();
        let answers = futures_util::future::join_all(asks).await;
        tracing::debug!(took = ?started.elapsed(), "asked the sentinels");
        let mut known = Vec::new();
        let mut last_err = None;
        for answer in answers {
            match answer {
                Ok(a) => known.push(a),
                Err(e) => last_err = Some(e),
            }
        }
        let Some(best) = newest(known, &self.spec.master_name)? else {
            return Err(last_err.unwrap_or_else(|| io_error("no sentinel answered".into())));
        };
        if !best.flags.split(',').any(|f| f == "master")
            || best
                .flags
                .split(',')
                .any(|f| f == "s_down" || f == "o_down")
        {
            return Err(io_error(format!(
                "the sentinels see master {:?} at {}:{} as {}",
                self.spec.master_name, best.host, best.port, best.flags
            )));
        }
        let info = redis::IntoConnectionInfo::into_connection_info(redis::ConnectionAddr::Tcp(
            best.host, best.port,
        ))?
        .set_redis_settings(self.spec.master.clone());
        let server = SingleServer::plain(info, &self.config)?;
        let mut conn = server.open(super::connector::Use::Probe).await?;
        let role = role(&mut conn).await?;
        tracing::debug!(took = ?started.elapsed(), %role, "checked the master's ROLE");
        if role != "master" {
            return Err(io_error(format!(
                "the sentinels name {} as master {:?}, but it answers ROLE {role}",
                crate::deployment::addr_text(server.info().addr()),
                self.spec.master_name
            )));
        }
        Ok(server)
    }
}

/// The answer with the highest config epoch; an error while a failover of
/// the master it names is under way at that epoch.
///
/// A sentinel may lag the one that led a failover by up to a hello period
/// (2 s): it still names the old master, flagged `failover_in_progress`
/// (it tried and lost the election). That flag holds up only the address
/// it is about — the old master during a coordinated failover, which still
/// answers `ROLE master` for seconds — not the new master the leader names.
fn newest(answers: Vec<Answer>, name: &str) -> redis::RedisResult<Option<Answer>> {
    let Some(epoch) = answers.iter().map(|a| a.epoch).max() else {
        return Ok(None);
    };
    let mut current: Vec<Answer> = answers.into_iter().filter(|a| a.epoch == epoch).collect();
    let failing_over = |a: &Answer| {
        current
            .iter()
            .any(|f| f.failover && f.host == a.host && f.port == a.port)
    };
    match current.iter().position(|a| !failing_over(a)) {
        Some(i) => Ok(Some(current.swap_remove(i))),
        None => Err(io_error(format!(
            "a failover of {name:?} is in progress (the sentinels have not named the new master yet)"
        ))),
    }
}

/// `SENTINEL MASTER <name>` on one sentinel.
async fn ask(sentinel: &redis::ConnectionInfo, name: &str) -> redis::RedisResult<Answer> {
    let client = redis::Client::open(sentinel.clone())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let fields: std::collections::HashMap<String, String> = redis::cmd("SENTINEL")
        .arg("MASTER")
        .arg(name)
        .query_async(&mut conn)
        .await?;
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let flags = get("flags");
    Ok(Answer {
        host: get("ip"),
        port: get("port")
            .parse()
            .map_err(|_| io_error("a sentinel named no port".into()))?,
        epoch: get("config-epoch").parse().unwrap_or(0),
        failover: flags.split(',').any(|f| f == "failover_in_progress"),
        flags,
    })
}

/// The first word of `ROLE`: `master`, `slave` or `sentinel`.
pub(crate) async fn role(conn: &mut MultiplexedConnection) -> redis::RedisResult<String> {
    let reply: Vec<redis::Value> = redis::cmd("ROLE").query_async(conn).await?;
    match reply.first() {
        Some(v) => redis::from_redis_value_ref::<String>(v).map_err(redis::RedisError::from),
        None => Err(io_error("empty ROLE reply".into())),
    }
}

fn io_error(message: String) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::other(message))
}

/// The channels the pool listens to on every sentinel.
const CHANNELS: &[&str] = &[
    "+switch-master",
    "+failover-state-send-slaveof-noone",
    "-failover-abort-not-elected",
    "-failover-abort-no-good-slave",
    "-failover-abort-slave-timeout",
];

/// Listens on every sentinel until the pool closes: a promotion about to
/// happen, or a switch to another address, starts a new generation (the
/// pool is `Down` until the new master is resolved; the health watch is
/// woken to resolve it at once).
pub(crate) fn spawn_listeners(core: &Arc<Core>) -> Vec<tokio::task::JoinHandle<()>> {
    let super::connector::Connector::Sentinel(master) = &core.connector else {
        return Vec::new();
    };
    master
        .spec
        .sentinels
        .iter()
        .map(|sentinel| tokio::spawn(listen(Arc::downgrade(core), sentinel.clone())))
        .collect()
}

async fn listen(core: Weak<Core>, sentinel: redis::ConnectionInfo) {
    let shown = crate::deployment::addr_text(sentinel.addr());
    loop {
        let (connect, pause) = match core.upgrade() {
            Some(core) if !core.is_closed() => (
                core.config.timeouts.connect,
                core.config.backoff.max.min(Duration::from_secs(1)),
            ),
            _ => return,
        };
        let session = async {
            let client = redis::Client::open(sentinel.clone())?;
            let mut pubsub = match tokio::time::timeout(connect, client.get_async_pubsub()).await {
                Ok(p) => p?,
                Err(_) => return Err(io_error("connect timed out".into())),
            };
            pubsub.subscribe(CHANNELS).await?;
            let mut messages = pubsub.on_message();
            while let Some(msg) = messages.next().await {
                let Some(core) = core.upgrade() else {
                    return Ok(());
                };
                let payload: String = msg.get_payload().unwrap_or_default();
                on_event(&core, msg.get_channel_name(), &payload);
            }
            Err(io_error("the subscription ended".into()))
        };
        if let Err(e) = session.await {
            tracing::debug!(sentinel = %shown, error = %e, "sentinel subscription lost; retrying");
        }
        tokio::time::sleep(pause).await;
    }
}

/// Acts on one sentinel event.
fn on_event(core: &Core, channel: &str, payload: &str) {
    let super::connector::Connector::Sentinel(master) = &core.connector else {
        return;
    };
    let words: Vec<&str> = payload.split_whitespace().collect();
    let name = master.master_name();
    match channel {
        // "<name> <old ip> <old port> <new ip> <new port>"
        "+switch-master" if words.first() == Some(&name) && words.len() >= 5 => {
            let new_addr = format!("{}:{}", words[3], words[4]);
            if master.current_addr().as_deref() != Some(new_addr.as_str()) {
                core.retarget(format!("sentinel: master {name:?} switched to {new_addr}"));
            }
            core.wake_retarget();
        }
        // "slave <ip:port> <ip> <port> @ <name> <master ip> <master port>"
        "+failover-state-send-slaveof-noone" if words.get(5) == Some(&name) => {
            core.retarget(format!(
                "sentinel: failover of master {name:?} in progress (promoting {})",
                words.get(1).unwrap_or(&"?")
            ));
        }
        c if c.starts_with("-failover-abort") && words.get(1) == Some(&name) => {
            core.wake_retarget();
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(port: u16, epoch: u64, failover: bool) -> Answer {
        Answer {
            host: "127.0.0.1".into(),
            port,
            epoch,
            failover,
            flags: "master".into(),
        }
    }

    #[test]
    fn a_lagging_sentinel_does_not_hold_up_the_new_master() {
        // After a kill -9: the leader and one follower name the new master
        // at epoch 1; a third still flags its lost failover of the old one.
        let got = newest(
            vec![answer(2, 1, false), answer(1, 1, true), answer(2, 1, false)],
            "m",
        )
        .unwrap()
        .unwrap();
        assert_eq!(got.port, 2);
    }

    #[test]
    fn a_coordinated_failover_blocks_the_old_master() {
        // SENTINEL FAILOVER under way: the leader flags it, the others still
        // name the same (old) master at the same epoch.
        let e = newest(
            vec![answer(1, 0, false), answer(1, 0, true), answer(1, 0, false)],
            "m",
        )
        .err()
        .expect("refused while the failover is under way");
        assert!(e.to_string().contains("in progress"), "{e}");
    }

    #[test]
    fn a_lower_epoch_is_stale() {
        let got = newest(vec![answer(1, 3, true), answer(2, 4, false)], "m")
            .unwrap()
            .unwrap();
        assert_eq!(got.port, 2);
        assert!(newest(Vec::new(), "m").unwrap().is_none());
    }
}
