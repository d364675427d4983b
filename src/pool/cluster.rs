//! A Redis Cluster: one shared redis-rs cluster connection for the fast
//! path, the core's own view of the slot map and of every node's health
//! (so a call for a slot whose primary is down fails fast), and exclusive
//! connections per node for transactions and blocking commands.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Value};

use super::connector::{SingleServer, Use};
use super::core::Core;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Phase, Result};
use crate::health::{NodeHealth, State};

const SLOTS: usize = 16384;
const NO_OWNER: u16 = u16::MAX;
/// Retries of a command the cluster answered without running it (`MOVED`,
/// `ASK`, `TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`, `READONLY`), within the
/// call's deadline.
const SAFE_RETRIES: u32 = 3;

/// One node, as the health watch sees it.
pub(crate) struct Node {
    pub(crate) addr: String,
    pub(crate) server: SingleServer,
    down: AtomicBool,
    failures: AtomicUsize,
    last_error: Mutex<Option<String>>,
    probe: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

/// One primary and the slots it serves.
struct Shard {
    primary: Arc<Node>,
    replicas: Vec<Arc<Node>>,
    ranges: Vec<(u16, u16)>,
}

/// A shard as compared between two reads: primary, slot ranges, replicas.
type ShardShape = (String, Vec<(u16, u16)>, Vec<String>);

/// The slot map as last read with `CLUSTER SLOTS`.
struct Topology {
    version: u64,
    owner: Box<[u16]>,
    shards: Vec<Shard>,
}

impl Topology {
    fn empty() -> Self {
        Self {
            version: 0,
            owner: vec![NO_OWNER; SLOTS].into_boxed_slice(),
            shards: Vec::new(),
        }
    }

    /// Who serves which slots, to tell a real change from a re-read.
    fn shape(&self) -> Vec<ShardShape> {
        let mut shape: Vec<_> = self
            .shards
            .iter()
            .map(|s| {
                let mut replicas: Vec<String> = s.replicas.iter().map(|r| r.addr.clone()).collect();
                replicas.sort();
                (s.primary.addr.clone(), s.ranges.clone(), replicas)
            })
            .collect();
        shape.sort();
        shape
    }
}

/// The cluster behind a pool.
pub(crate) struct ClusterNodes {
    seeds: Vec<redis::ConnectionInfo>,
    settings: redis::RedisConnectionInfo,
    client: redis::cluster::ClusterClient,
    config: Config,
    topology: ArcSwap<Topology>,
    versions: AtomicU64,
    nodes: Mutex<HashMap<String, Arc<Node>>>,
    /// The shared cluster connection and the topology version it was made for.
    shared: ArcSwapOption<(ClusterConnection, u64)>,
    connecting: tokio::sync::Mutex<()>,
    /// One topology refresh at a time.
    refreshing: tokio::sync::Mutex<()>,
    /// The most replicas any shard has had: fewer on a shard is `Degraded`.
    expected_replicas: AtomicUsize,
}

impl ClusterNodes {
    pub(crate) fn new(seeds: Vec<redis::ConnectionInfo>, config: &Config) -> Result<Self> {
        let settings = seeds[0].redis_settings().clone();
        if settings.db() != 0 {
            return Err(Error::config("a Redis Cluster has only database 0"));
        }
        let mut builder = redis::cluster::ClusterClientBuilder::new(seeds.clone())
            // redis-rs re-sends after a dropped connection, writes included,
            // and its retries have no overall bound: the core retries only
            // what the cluster answered without running.
            .retries(0)
            .connection_timeout(config.timeouts.connect)
            // One timer per request, around the whole request: a reply
            // timeout on each node's connection as well would be a second.
            .overall_response_timeout(Some(config.timeouts.command));
        if let Some(user) = settings.username() {
            builder = builder.username(user);
        }
        if let Some(password) = settings.password() {
            builder = builder.password(password);
        }
        let client = builder
            .build()
            .map_err(|e| Error::config(format!("invalid cluster URL list: {e}")))?;
        Ok(Self {
            seeds,
            settings,
            client,
            config: config.clone(),
            topology: ArcSwap::from_pointee(Topology::empty()),
            versions: AtomicU64::new(0),
            nodes: Mutex::new(HashMap::new()),
            shared: ArcSwapOption::empty(),
            connecting: tokio::sync::Mutex::new(()),
            refreshing: tokio::sync::Mutex::new(()),
            expected_replicas: AtomicUsize::new(0),
        })
    }

    fn node(&self, host: &str, port: u16) -> Result<Arc<Node>> {
        let addr = format!("{host}:{port}");
        let mut nodes = self.nodes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = nodes.get(&addr) {
            return Ok(n.clone());
        }
        let info = redis::IntoConnectionInfo::into_connection_info(redis::ConnectionAddr::Tcp(
            host.to_owned(),
            port,
        ))
        .map_err(|e| Error::config(e.to_string()))?
        .set_redis_settings(self.settings.clone());
        let server =
            SingleServer::plain(info, &self.config).map_err(|e| Error::config(e.to_string()))?;
        let node = Arc::new(Node {
            addr: addr.clone(),
            server,
            down: AtomicBool::new(false),
            failures: AtomicUsize::new(0),
            last_error: Mutex::new(None),
            probe: tokio::sync::Mutex::new(None),
        });
        nodes.insert(addr, node.clone());
        Ok(node)
    }

    /// The primary serving `slot`, or `Unavailable` if none is up.
    pub(crate) fn primary_for(&self, slot: u16) -> Result<Arc<Node>> {
        let topology = self.topology.load();
        match topology.owner[slot as usize] {
            NO_OWNER => Err(Error::new(
                ErrorKind::Unavailable,
                format!("no primary serves slot {slot} of the cluster"),
            )),
            i => {
                let node = &topology.shards[i as usize].primary;
                if node.down.load(Ordering::Acquire) {
                    Err(Error::new(
                        ErrorKind::Unavailable,
                        format!(
                            "the primary of slot {slot} ({}) is down: failed fast",
                            node.addr
                        ),
                    ))
                } else {
                    Ok(node.clone())
                }
            }
        }
    }

    /// Fails fast if `cmd`'s key lives on a primary that is down.
    fn check_slot(&self, cmd: &Cmd) -> Result<()> {
        match first_key(cmd) {
            Some(key) => self.primary_for(slot_of(key)).map(|_| ()),
            None => Ok(()),
        }
    }

    /// The shared cluster connection, made (once) for the current topology.
    async fn shared(&self, core: &Core) -> Result<ClusterConnection> {
        let version = self.topology.load().version;
        if let Some(live) = self.shared.load().as_ref() {
            if live.1 == version {
                return Ok(live.0.clone());
            }
        }
        let _one = self.connecting.lock().await;
        if let Some(live) = self.shared.load().as_ref() {
            if live.1 == version {
                return Ok(live.0.clone());
            }
        }
        let limit = self.config.timeouts.connect;
        let conn = match tokio::time::timeout(limit, self.client.get_async_connection()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                crate::stats::Counters::bump(&core.counters.connect_failures);
                return Err(core.connect_error(e));
            }
            Err(_) => {
                crate::stats::Counters::bump(&core.counters.connect_failures);
                return Err(core.connect_timed_out());
            }
        };
        crate::stats::Counters::bump(&core.counters.connects);
        self.shared.store(Some(Arc::new((conn.clone(), version))));
        Ok(conn)
    }

    /// Whether the shared cluster connection is open.
    pub(crate) fn shared_open(&self) -> usize {
        usize::from(self.shared.load().is_some())
    }

    /// Runs `cmd` on the shared cluster connection, retrying only what the
    /// cluster answered without running. Each attempt is bounded by redis-rs
    /// (`timeouts.command`, no retries of its own); the retries' waits by
    /// `timeouts.connect + timeouts.command` from the start.
    pub(crate) async fn send(&self, core: &Core, cmd: &Cmd) -> Result<Value> {
        core.check_available()?;
        self.check_slot(cmd)?;
        let limit = self.config.timeouts.connect + self.config.timeouts.command;
        let deadline = Instant::now() + limit;
        let mut attempt = 0;
        loop {
            let mut conn = self.shared(core).await?;
            // No timer of our own on the fast path: redis-rs bounds the reply.
            let result = conn
                .req_packed_command(cmd)
                .await
                .and_then(|v| v.extract_error());
            match result {
                Ok(v) => return Ok(v),
                Err(e) if attempt < SAFE_RETRIES && not_run(&e) => {
                    attempt += 1;
                    let wait = self.config.backoff.initial * 2u32.pow(attempt - 1);
                    if Instant::now() + wait >= deadline {
                        return Err(self.error(core, e));
                    }
                    // The slot map moved: let the watch read it now.
                    core.wake.notify_one();
                    tokio::time::sleep(wait).await;
                    self.check_slot(cmd)?;
                }
                Err(e) => return Err(self.error(core, e)),
            }
        }
    }

    /// Runs a pipeline on the shared cluster connection (never re-sent).
    pub(crate) async fn send_pipeline(
        &self,
        core: &Core,
        pipe: &redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> Result<Vec<Value>> {
        core.check_available()?;
        if let Some(cmd) = pipe.cmd_iter().next() {
            self.check_slot(cmd)?;
        }
        let limit = self.config.timeouts.connect + self.config.timeouts.command;
        let mut conn = self.shared(core).await?;
        let replies =
            redis::aio::ConnectionLike::req_packed_commands(&mut conn, pipe, offset, count);
        match tokio::time::timeout(limit, replies).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.error(core, e)),
            Err(_) => Err(Error::timeout(Phase::Command, limit)),
        }
    }

    fn error(&self, core: &Core, e: redis::RedisError) -> Error {
        if e.code() == Some("CROSSSLOT") {
            return Error::new(
                ErrorKind::Response,
                format!(
                    "{}: in a Redis Cluster, the keys of one command (or transaction) must hash \
                     to one slot; give them a common {{hash tag}}",
                    Error::from_redis(e, Phase::Command).message()
                ),
            );
        }
        if e.is_timeout() {
            return Error::timeout(Phase::Command, self.config.timeouts.command);
        }
        let err = Error::from_redis(e, Phase::Command);
        if err.breaks_connection() {
            core.wake.notify_one();
        }
        err
    }

    /// Reads the slot map from the first node that answers, if it changed
    /// stores it (and drops the shared connection, which redis-rs would
    /// otherwise keep routing to a dead primary). One refresh at a time.
    async fn refresh(&self) -> Result<bool> {
        let _one = self.refreshing.lock().await;
        let mut candidates: Vec<Arc<Node>> = {
            let topology = self.topology.load();
            topology
                .shards
                .iter()
                .flat_map(|s| std::iter::once(s.primary.clone()).chain(s.replicas.iter().cloned()))
                .filter(|n| !n.down.load(Ordering::Acquire))
                .collect()
        };
        for seed in &self.seeds {
            if let redis::ConnectionAddr::Tcp(h, p) = seed.addr() {
                candidates.push(self.node(h, *p)?);
            }
        }
        let mut last = None;
        for node in candidates {
            match self.read_slots(&node).await {
                Ok(topology) => {
                    let changed = topology.shape() != self.topology.load().shape();
                    let most = topology.shards.iter().map(|s| s.replicas.len()).max();
                    self.expected_replicas
                        .fetch_max(most.unwrap_or(0), Ordering::AcqRel);
                    if changed || self.topology.load().version == 0 {
                        tracing::info!(shards = topology.shards.len(), "cluster topology changed");
                        self.topology.store(Arc::new(topology));
                        self.shared.store(None);
                    }
                    return Ok(changed);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::new(ErrorKind::Connection, "no cluster node known")))
    }

    async fn read_slots(&self, node: &Node) -> Result<Topology> {
        let limit = self.config.health.timeout.max(Duration::from_millis(100));
        let fetch = async {
            let mut conn = probe_conn(node).await?;
            let slots: Vec<Value> = redis::cmd("CLUSTER")
                .arg("SLOTS")
                .query_async(&mut conn)
                .await?;
            Ok::<_, redis::RedisError>(slots)
        };
        let slots = match tokio::time::timeout(limit + self.config.timeouts.connect, fetch).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                *node.probe.lock().await = None;
                return Err(Error::from_redis(e, Phase::Command));
            }
            Err(_) => return Err(Error::timeout(Phase::Command, limit)),
        };
        let mut topology = Topology::empty();
        topology.version = self.versions.fetch_add(1, Ordering::AcqRel) + 1;
        let mut by_primary: HashMap<String, usize> = HashMap::new();
        for range in slots {
            let Value::Array(items) = range else { continue };
            if items.len() < 3 {
                continue;
            }
            let (Ok(start), Ok(end)) = (
                redis::from_redis_value_ref::<u16>(&items[0]),
                redis::from_redis_value_ref::<u16>(&items[1]),
            ) else {
                continue;
            };
            let mut members = Vec::new();
            for item in &items[2..] {
                if let Value::Array(parts) = item {
                    let host = parts
                        .first()
                        .and_then(|v| redis::from_redis_value_ref::<String>(v).ok());
                    let port = parts
                        .get(1)
                        .and_then(|v| redis::from_redis_value_ref::<u16>(v).ok());
                    if let (Some(host), Some(port)) = (host, port) {
                        let host = if host.is_empty() {
                            node_host(node)
                        } else {
                            host
                        };
                        members.push(self.node(&host, port)?);
                    }
                }
            }
            let Some(primary) = members.first().cloned() else {
                continue;
            };
            let index = *by_primary.entry(primary.addr.clone()).or_insert_with(|| {
                topology.shards.push(Shard {
                    primary: primary.clone(),
                    replicas: members[1..].to_vec(),
                    ranges: Vec::new(),
                });
                topology.shards.len() - 1
            });
            topology.shards[index].ranges.push((start, end));
            for slot in start..=end.min(SLOTS as u16 - 1) {
                topology.owner[slot as usize] = index as u16;
            }
        }
        for shard in &mut topology.shards {
            shard.ranges.sort();
        }
        Ok(topology)
    }

    /// One round of the health watch: the slot map read, every node probed
    /// (`PING`, at once, each within `health.timeout`). Returns the
    /// cluster's state, why it is not `Up`, and every node's health.
    pub(crate) async fn probe_all(&self, core: &Core) -> (State, Option<String>, Vec<NodeHealth>) {
        let refreshed = self.refresh().await;
        let nodes: Vec<(Arc<Node>, bool)> = {
            let topology = self.topology.load();
            topology
                .shards
                .iter()
                .flat_map(|s| {
                    std::iter::once((s.primary.clone(), true))
                        .chain(s.replicas.iter().map(|r| (r.clone(), false)))
                })
                .collect()
        };
        let probes = nodes.iter().map(|(n, _)| self.probe_node(core, n));
        futures_util::future::join_all(probes).await;
        let topology = self.topology.load();
        let mut problems = Vec::new();
        if let Err(e) = &refreshed {
            if topology.shards.is_empty() {
                return (
                    State::Down,
                    Some(format!("no cluster node answered: {e}")),
                    vec![],
                );
            }
        }
        let uncovered = topology.owner.iter().filter(|o| **o == NO_OWNER).count();
        if uncovered > 0 {
            problems.push(format!("{uncovered} slots have no primary"));
        }
        let mut primaries_up = 0;
        let expected = self.expected_replicas.load(Ordering::Acquire);
        for shard in &topology.shards {
            if shard.primary.down.load(Ordering::Acquire) {
                problems.push(format!("primary {} is down", shard.primary.addr));
            } else {
                primaries_up += 1;
            }
            let up = shard
                .replicas
                .iter()
                .filter(|r| !r.down.load(Ordering::Acquire))
                .count();
            if up < expected {
                problems.push(format!(
                    "primary {} has {up} of {expected} replicas",
                    shard.primary.addr
                ));
            }
        }
        let health: Vec<NodeHealth> = nodes
            .iter()
            .map(|(n, primary)| NodeHealth {
                addr: n.addr.clone(),
                primary: *primary,
                state: if n.down.load(Ordering::Acquire) {
                    State::Down
                } else {
                    State::Up
                },
                last_error: n
                    .last_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone(),
            })
            .collect();
        let state = if primaries_up == 0 {
            State::Down
        } else if problems.is_empty() {
            State::Up
        } else {
            State::Degraded
        };
        let reason = (!problems.is_empty()).then(|| problems.join("; "));
        (state, reason, health)
    }

    async fn probe_node(&self, core: &Core, node: &Node) {
        crate::stats::Counters::bump(&core.counters.probes);
        let timeout = self.config.health.timeout;
        let attempt = async {
            let mut conn = probe_conn(node).await?;
            let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
            Ok::<_, redis::RedisError>(pong)
        };
        let result = tokio::time::timeout(timeout + self.config.timeouts.connect, attempt).await;
        let failure = match result {
            Ok(Ok(p)) if p == "PONG" => None,
            Ok(Ok(p)) => Some((format!("answered PING with {p:?}"), false)),
            Ok(Err(e)) => {
                let refused = e.is_connection_refusal() || e.is_connection_dropped();
                Some((e.to_string(), refused))
            }
            Err(_) => Some((format!("no PONG within {timeout:?}"), false)),
        };
        match failure {
            None => {
                node.failures.store(0, Ordering::Release);
                if node.down.swap(false, Ordering::AcqRel) {
                    tracing::info!(node = %node.addr, "cluster node is up");
                }
                *node.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
            }
            Some((reason, at_once)) => {
                crate::stats::Counters::bump(&core.counters.probe_failures);
                *node.probe.lock().await = None;
                let failures = node.failures.fetch_add(1, Ordering::AcqRel) + 1;
                let give_up =
                    at_once || failures >= self.config.health.failures_before_down as usize;
                if give_up && !node.down.swap(true, Ordering::AcqRel) {
                    tracing::warn!(node = %node.addr, error = %reason, "cluster node is down");
                }
                *node.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
            }
        }
    }

    /// Drops the shared connection (the pool went `Down`).
    pub(crate) fn clear(&self) -> usize {
        usize::from(self.shared.swap(None).is_some())
    }
}

/// The probe connection of `node`, opened if needed.
async fn probe_conn(node: &Node) -> redis::RedisResult<MultiplexedConnection> {
    let mut probe = node.probe.lock().await;
    if let Some(c) = probe.as_ref() {
        return Ok(c.clone());
    }
    let conn = node.server.open(Use::Probe).await?;
    *probe = Some(conn.clone());
    Ok(conn)
}

fn node_host(node: &Node) -> String {
    match node.server.info().addr() {
        redis::ConnectionAddr::Tcp(h, _) => h.clone(),
        _ => "127.0.0.1".to_owned(),
    }
}

/// Whether the cluster refused `e`'s command without running it.
fn not_run(e: &redis::RedisError) -> bool {
    matches!(
        e.code(),
        Some("MOVED" | "ASK" | "TRYAGAIN" | "CLUSTERDOWN" | "MASTERDOWN" | "READONLY")
    )
}

/// The hash slot of `key`.
pub(crate) fn slot_of(key: &[u8]) -> u16 {
    // redis-rs's `Slot` does not expose its number: computed the same way
    // (CRC16/XMODEM of the hash tag, or of the whole key).
    crc16_xmodem(hash_tag(key).unwrap_or(key)) % SLOTS as u16
}

fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|b| *b == b'{')?;
    let close = key[open + 1..].iter().position(|b| *b == b'}')?;
    (close > 0).then(|| &key[open + 1..open + 1 + close])
}

fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for byte in data {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The first key of `cmd`, for routing: the argument after the name for
/// most commands; after `numkeys` for `EVAL`-like ones; after `STREAMS` for
/// `XREAD`; none for commands without a key.
pub(crate) fn first_key(cmd: &Cmd) -> Option<&[u8]> {
    // On the path of every call: no allocation.
    let mut args = cmd.args_iter().map(|a| match a {
        redis::Arg::Simple(b) => b,
        _ => b"".as_slice(),
    });
    let name = args.next()?;
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    const KEYLESS: &[&str] = &[
        "PING",
        "ECHO",
        "INFO",
        "DBSIZE",
        "TIME",
        "CLUSTER",
        "CONFIG",
        "CLIENT",
        "COMMAND",
        "SCRIPT",
        "FUNCTION",
        "FLUSHALL",
        "FLUSHDB",
        "KEYS",
        "SCAN",
        "RANDOMKEY",
        "PUBLISH",
        "SPUBLISH",
        "WAIT",
        "WAITAOF",
        "LASTSAVE",
        "ROLE",
        "MULTI",
        "EXEC",
        "DISCARD",
        "UNWATCH",
        "SELECT",
        "AUTH",
        "HELLO",
        "QUIT",
        "RESET",
        "READONLY",
        "READWRITE",
        "DEBUG",
        "MEMORY",
        "SLOWLOG",
        "LATENCY",
        "ACL",
        "MODULE",
        "SAVE",
        "BGSAVE",
        "SWAPDB",
        "PUBSUB",
        "LOLWUT",
    ];
    if KEYLESS.iter().any(|k| is(k)) {
        return None;
    }
    if [
        "EVAL",
        "EVALSHA",
        "EVAL_RO",
        "EVALSHA_RO",
        "FCALL",
        "FCALL_RO",
    ]
    .iter()
    .any(|k| is(k))
    {
        let _script = args.next()?;
        let numkeys: usize = std::str::from_utf8(args.next()?).ok()?.parse().ok()?;
        return if numkeys > 0 { args.next() } else { None };
    }
    if is("XREAD") || is("XREADGROUP") {
        args.position(|a| a.eq_ignore_ascii_case(b"STREAMS"))?;
        return args.next();
    }
    if is("OBJECT") || is("BITOP") {
        args.next()?;
    }
    args.next()
}

/// Which per-node exclusive pools exist; the watch evicts through it.
#[derive(Default)]
pub(crate) struct NodeSets {
    pools: Mutex<HashMap<String, deadpool::managed::Pool<super::exclusive::Manager>>>,
}

impl NodeSets {
    /// The exclusive pool of `node`, built on first use.
    pub(crate) fn pool_for(
        &self,
        core: &Arc<Core>,
        node: &Arc<Node>,
    ) -> Result<deadpool::managed::Pool<super::exclusive::Manager>> {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = pools.get(&node.addr) {
            return Ok(p.clone());
        }
        let mut timeouts = deadpool::managed::Timeouts::new();
        timeouts.wait = Some(core.config.timeouts.wait);
        let pool = deadpool::managed::Pool::builder(super::exclusive::Manager {
            core: core.clone(),
            node: Some(node.clone()),
        })
        .max_size(core.config.pool.max_size)
        .timeouts(timeouts)
        .queue_mode(deadpool::managed::QueueMode::Lifo)
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| Error::config(format!("cannot build the pool: {e}")))?;
        pools.insert(node.addr.clone(), pool.clone());
        Ok(pool)
    }

    /// Closes every per-node pool.
    pub(crate) fn close(&self) {
        for pool in self
            .pools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
        {
            pool.close();
        }
    }
}

impl super::set::ConnectionSet for NodeSets {
    fn evict_idle(&self) -> usize {
        self.pools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|p| p.retain(|_, _| false).removed.len())
            .sum()
    }

    fn size(&self) -> super::set::SetSize {
        let pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        let mut size = super::set::SetSize::default();
        for p in pools.values() {
            let s = p.status();
            size.open += s.size;
            size.idle += s.available;
        }
        size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_the_cluster_spec() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(slot_of(b"123456789"), 12739);
        assert_eq!(slot_of(b"foo"), 12182);
        assert_eq!(slot_of(b"{user1000}.following"), slot_of(b"user1000"));
    }

    #[test]
    fn first_keys() {
        assert_eq!(first_key(redis::cmd("GET").arg("k")), Some(b"k".as_slice()));
        assert_eq!(first_key(&redis::cmd("PING")), None);
        assert_eq!(
            first_key(redis::cmd("EVAL").arg("s").arg(1).arg("k")),
            Some(b"k".as_slice())
        );
        assert_eq!(
            first_key(
                redis::cmd("XREAD")
                    .arg("BLOCK")
                    .arg(0)
                    .arg("STREAMS")
                    .arg("s")
                    .arg("$")
            ),
            Some(b"s".as_slice())
        );
    }
}
