//! [`TestSentinel`]: a throwaway Sentinel group (a master, its replicas,
//! and the sentinels that watch them) of local processes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::super::local::LocalServer;
use super::node::{self, Spec};
use super::{error, node_url, wait, Failover};
use crate::error::Result;

/// How to start a [`TestSentinel`].
#[derive(Debug, Clone)]
pub struct TestSentinelConfig {
    /// Replicas of the master.
    ///
    /// Default: `2`.
    pub replicas: usize,
    /// Sentinels watching the master.
    ///
    /// Default: `3`.
    pub sentinels: usize,
    /// The name the sentinels know the master by.
    ///
    /// Default: `"mymaster"`.
    pub master_name: String,
    /// Sentinels that must agree the master is down before a failover.
    ///
    /// Default: `None`, a majority of `sentinels`.
    pub quorum: Option<usize>,
    /// `down-after-milliseconds`: how long the master may not answer
    /// before a sentinel counts it down.
    ///
    /// Default: 1 s.
    pub down_after: Duration,
    /// `failover-timeout`.
    ///
    /// Default: 3 s.
    pub failover_timeout: Duration,
    /// How long the group may take to be ready (and each later wait:
    /// [`TestSentinel::failover`], [`TestSentinel::wait_new_master`]).
    ///
    /// Default: 30 s.
    pub ready_timeout: Duration,
    /// The `redis-server` binary (run with `--sentinel` for the sentinels),
    /// as [`ServerConfig::binary`](crate::ServerConfig::binary).
    ///
    /// Default: `None` (`REDKEEP_REDIS_SERVER`, then `PATH`).
    pub binary: Option<PathBuf>,
    /// Extra `redis-server` arguments for the master and the replicas.
    ///
    /// Default: none.
    pub args: Vec<String>,
}

impl Default for TestSentinelConfig {
    fn default() -> Self {
        Self {
            replicas: 2,
            sentinels: 3,
            master_name: "mymaster".to_owned(),
            quorum: None,
            down_after: Duration::from_secs(1),
            failover_timeout: Duration::from_secs(3),
            ready_timeout: Duration::from_secs(30),
            binary: None,
            args: Vec::new(),
        }
    }
}

/// A throwaway Sentinel group for tests: a master with `replicas`
/// replicas and `sentinels` sentinels, on free ports of 127.0.0.1, without
/// persistence.
///
/// ```no_run
/// let group = redkeep::testing::TestSentinel::start(2, 3);
/// let sentinel = redkeep::redis::Client::open(group.urls()[0].as_str()).unwrap();
/// let mut con = sentinel.get_connection().unwrap();
/// let (host, port): (String, u16) = redkeep::redis::cmd("SENTINEL")
///     .arg("get-master-addr-by-name")
///     .arg(group.master_name())
///     .query(&mut con)
///     .unwrap();
/// assert_eq!(format!("redis://{host}:{port}"), group.master_url().unwrap());
/// // group.config(): redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,.../mymaster
/// ```
///
/// # Behavior
///
/// - **Ready** means usable: the replicas are linked to the master before
///   the sentinels start (so they find them at once), and
///   [`TestSentinel::start`] returns only when every sentinel knows the
///   master (not down), all its replicas and all the other sentinels.
/// - Every process is a [`LocalServer`] with the guarantee of
///   [`TestServer`](crate::testing::TestServer): it never outlives the test
///   process and is never restarted behind the test's back. A sentinel
///   runs `redis-server sentinel.conf --sentinel`, with its config file
///   (which it rewrites) in its private directory.
/// - After a failover the old master, if it runs, stays a master until the
///   sentinels demote it, on their own schedule (their `INFO` period,
///   about 10 s): writes a client still sends there are lost.
/// - Dropping the group stops every process (in parallel) and removes
///   their directories.
pub struct TestSentinel {
    data: Vec<DataNode>,
    sentinels: Vec<(LocalServer, u16)>,
    master_name: String,
    spec: Spec,
    ready_timeout: Duration,
}

/// The master or a replica.
struct DataNode {
    server: Mutex<LocalServer>,
    port: u16,
}

impl DataNode {
    fn server(&self) -> MutexGuard<'_, LocalServer> {
        self.server.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl TestSentinel {
    /// Starts a master with `replicas` replicas and `sentinels` sentinels,
    /// blocking until the group is ready (see the type's `# Behavior`).
    ///
    /// # Panics
    ///
    /// If it cannot be started or is not ready within 30 s; the message
    /// says why.
    pub fn start(replicas: usize, sentinels: usize) -> TestSentinel {
        let cfg = TestSentinelConfig {
            replicas,
            sentinels,
            ..TestSentinelConfig::default()
        };
        TestSentinel::try_start(cfg).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`TestSentinel::start`] for async tests: the blocking part runs on
    /// tokio's blocking pool.
    ///
    /// # Panics
    ///
    /// As [`TestSentinel::start`].
    pub async fn start_async(replicas: usize, sentinels: usize) -> TestSentinel {
        tokio::task::spawn_blocking(move || TestSentinel::start(replicas, sentinels))
            .await
            .unwrap_or_else(|e| panic!("redkeep::testing: {e}"))
    }

    /// Starts a group from `cfg`, blocking until it is ready.
    pub fn try_start(cfg: TestSentinelConfig) -> Result<TestSentinel> {
        let name = &cfg.master_name;
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '/' || c == ',') {
            return Err(error(format!(
                "TestSentinelConfig::master_name {name:?} must be a non-empty word \
                 (no spaces, '/' or ',')"
            )));
        }
        if cfg.sentinels == 0 {
            return Err(error("TestSentinelConfig::sentinels must be at least 1"));
        }
        let quorum = cfg.quorum.unwrap_or(cfg.sentinels / 2 + 1);
        if quorum == 0 || quorum > cfg.sentinels {
            return Err(error(format!(
                "TestSentinelConfig::quorum is {quorum}; it must be between 1 and sentinels ({})",
                cfg.sentinels
            )));
        }
        if cfg.down_after.is_zero() || cfg.failover_timeout.is_zero() || cfg.ready_timeout.is_zero()
        {
            return Err(error(
                "TestSentinelConfig::down_after, ::failover_timeout and ::ready_timeout \
                 must be greater than zero",
            ));
        }
        let mut args = vec![
            "--repl-diskless-sync".to_owned(),
            "yes".to_owned(),
            "--repl-diskless-sync-delay".to_owned(),
            "0".to_owned(),
        ];
        args.extend(cfg.args.iter().cloned());
        let spec = Spec {
            binary: cfg.binary.clone(),
            args,
            dir: None,
            bus: false,
            port: None,
            ready_timeout: cfg.ready_timeout,
        };
        let specs = vec![spec.clone(); 1 + cfg.replicas];
        let data: Vec<DataNode> = node::spawn_all(&specs)?
            .into_iter()
            .map(|s| DataNode {
                server: Mutex::new(s.server),
                port: s.port,
            })
            .collect();
        let master = data[0].port;
        for replica in &data[1..] {
            let mut con = node::admin(replica.port)?;
            let cmd = redis::cmd("REPLICAOF")
                .arg("127.0.0.1")
                .arg(master)
                .to_owned();
            node::run::<()>(&mut con, replica.port, &cmd)?;
        }
        let mut group = TestSentinel {
            data,
            sentinels: Vec::new(),
            master_name: cfg.master_name.clone(),
            spec,
            ready_timeout: cfg.ready_timeout,
        };
        wait::until(cfg.ready_timeout, "the replicas to link", || {
            group.check_linked(master)
        })?;
        group.sentinels = spawn_sentinels(&cfg, quorum, &group.data_urls_ports())?;
        wait::until(cfg.ready_timeout, "the sentinels to be ready", || {
            group.check_sentinels(cfg.replicas)
        })?;
        Ok(group)
    }

    /// The sentinels' URLs (`redis://127.0.0.1:PORT`): what a client asks
    /// for the master.
    pub fn urls(&self) -> Vec<String> {
        self.sentinels.iter().map(|(_, p)| node_url(*p)).collect()
    }

    /// The sentinels' addresses, `127.0.0.1:PORT`.
    pub fn sentinel_addrs(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|(_, p)| format!("127.0.0.1:{p}"))
            .collect()
    }

    /// The name the sentinels know the master by (`mymaster` by default).
    pub fn master_name(&self) -> &str {
        &self.master_name
    }

    /// `redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,.../NAME`.
    pub fn url(&self) -> String {
        format!(
            "redis+sentinel://{}/{}",
            self.sentinel_addrs().join(","),
            self.master_name
        )
    }

    /// A redkeep [`Config`](crate::Config) for the group: its `url` is
    /// [`TestSentinel::url`].
    pub fn config(&self) -> crate::Config {
        crate::Config::from_url(self.url())
    }

    /// The master's and the replicas' URLs, the first master first, in the
    /// order they were created (roles change with failovers: see
    /// [`TestSentinel::master_url`]).
    pub fn data_urls(&self) -> Vec<String> {
        self.data.iter().map(|n| node_url(n.port)).collect()
    }

    /// The process ids of every running process (data nodes, then
    /// sentinels).
    pub fn pids(&self) -> Vec<u32> {
        let data = self.data.iter().filter_map(|n| n.server().pid());
        data.chain(self.sentinels.iter().filter_map(|(s, _)| s.pid()))
            .collect()
    }

    /// The master's URL, as the first sentinel that answers reports it.
    pub fn master_url(&self) -> Result<String> {
        let mut last = None;
        for (_, port) in &self.sentinels {
            match self.master_port_by(*port) {
                Ok(master) => return Ok(node_url(master)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| error("no sentinel runs")))
    }

    /// SIGKILLs the current master and returns its URL. Returns once the
    /// process is gone; the sentinels notice after `down_after` and fail
    /// over: see [`TestSentinel::wait_new_master`].
    pub fn kill_master(&self) -> Result<String> {
        let url = self.master_url()?;
        self.data_node(&url)?.server().kill();
        Ok(url)
    }

    /// SIGKILLs the master or replica at `url` (one of
    /// [`TestSentinel::data_urls`]).
    pub fn kill(&self, url: &str) -> Result<()> {
        self.data_node(url)?.server().kill();
        Ok(())
    }

    /// Starts the data node at `url` again after [`TestSentinel::kill`], on
    /// the same port, empty; the sentinels make it a replica of the current
    /// master on their own schedule.
    pub fn restart(&self, url: &str) -> Result<()> {
        let node = self.data_node(url)?;
        let mut server = node.server();
        if server.pid().is_some() {
            return Err(error(format!("{url} is running; kill it first")));
        }
        *server = self.spec.spawn_at(node.port, None)?;
        Ok(())
    }

    /// A coordinated failover: `SENTINEL FAILOVER` (retried while the
    /// sentinel answers that it has no good replica yet or a failover is in
    /// progress), then waits until every running sentinel reports the new
    /// master and it answers `ROLE` as a master.
    pub fn failover(&self) -> Result<Failover> {
        let old = self.master_url()?;
        let &(_, sentinel) = self
            .sentinels
            .iter()
            .find(|(s, _)| s.pid().is_some())
            .ok_or_else(|| error("no sentinel runs"))?;
        let mut con = node::admin(sentinel)?;
        let cmd = redis::cmd("SENTINEL")
            .arg("FAILOVER")
            .arg(&self.master_name)
            .to_owned();
        wait::until(self.ready_timeout, "SENTINEL FAILOVER to start", || {
            cmd.query::<()>(&mut con).map_err(|e| e.to_string())
        })?;
        let new_master = self.wait_new_master(&old)?;
        Ok(Failover {
            old_master: old,
            new_master,
        })
    }

    /// Waits until every running sentinel reports a master other than
    /// `old` (a URL, as [`TestSentinel::master_url`] gives) and that master
    /// answers `ROLE` as a master; returns its URL.
    pub fn wait_new_master(&self, old: &str) -> Result<String> {
        let what = format!("the sentinels to agree on a master other than {old}");
        wait::until(self.ready_timeout, &what, || {
            let mut agreed = None;
            for (s, port) in &self.sentinels {
                if s.pid().is_none() {
                    continue;
                }
                let master = self.master_port_by(*port).map_err(|e| e.to_string())?;
                if node_url(master) == old {
                    return Err(format!("the sentinel at {port} still reports {old}"));
                }
                if agreed.is_some_and(|a| a != master) {
                    return Err("the sentinels report different masters".to_owned());
                }
                agreed = Some(master);
            }
            let master = agreed.ok_or("no sentinel runs")?;
            let mut con = node::admin(master).map_err(|e| e.to_string())?;
            let role: Vec<redis::Value> =
                node::run(&mut con, master, &redis::cmd("ROLE")).map_err(|e| e.to_string())?;
            match role.first() {
                Some(redis::Value::BulkString(r)) if r == b"master" => Ok(node_url(master)),
                _ => Err(format!(
                    "127.0.0.1:{master} does not answer ROLE as a master yet"
                )),
            }
        })
    }

    fn data_urls_ports(&self) -> Vec<u16> {
        self.data.iter().map(|n| n.port).collect()
    }

    /// `SENTINEL get-master-addr-by-name` on the sentinel at `port`.
    fn master_port_by(&self, port: u16) -> Result<u16> {
        let mut con = node::admin(port)?;
        let cmd = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(&self.master_name)
            .to_owned();
        let addr: Option<(String, u16)> = node::run(&mut con, port, &cmd)?;
        addr.map(|(_, p)| p)
            .ok_or_else(|| error(format!("the sentinel at {port} knows no master")))
    }

    /// Every replica linked to the master at `master`.
    fn check_linked(&self, master: u16) -> std::result::Result<(), String> {
        for n in &self.data {
            let mut con = node::admin(n.port).map_err(|e| e.to_string())?;
            let info: String = node::run(&mut con, n.port, redis::cmd("INFO").arg("replication"))
                .map_err(|e| e.to_string())?;
            if n.port == master {
                let online = info
                    .lines()
                    .filter(|l| l.starts_with("slave") && l.contains("state=online"))
                    .count();
                if online != self.data.len() - 1 {
                    return Err(format!("the master has {online} replicas online"));
                }
            } else if node::info_field(&info, "master_link_status") != Some("up") {
                return Err(format!("127.0.0.1:{}: link to the master not up", n.port));
            }
        }
        Ok(())
    }

    /// Every sentinel knows the master (not down), its `replicas` replicas
    /// and the other sentinels, all reachable.
    fn check_sentinels(&self, replicas: usize) -> std::result::Result<(), String> {
        let others = self.sentinels.len() - 1;
        for (_, port) in &self.sentinels {
            let mut con = node::admin(*port).map_err(|e| e.to_string())?;
            let ask = |con: &mut redis::Connection, what: &str| {
                let cmd = redis::cmd("SENTINEL")
                    .arg(what)
                    .arg(&self.master_name)
                    .to_owned();
                node::run::<redis::Value>(con, *port, &cmd).map_err(|e| e.to_string())
            };
            let master = fields(&ask(&mut con, "MASTER")?);
            let field = |k: &str| master.get(k).map(String::as_str).unwrap_or("");
            if field("flags") != "master"
                || field("num-slaves") != replicas.to_string()
                || field("num-other-sentinels") != others.to_string()
            {
                return Err(format!(
                    "the sentinel at {port} sees the master as {}, with {} replicas and {} \
                     other sentinels",
                    field("flags"),
                    field("num-slaves"),
                    field("num-other-sentinels")
                ));
            }
            for what in ["REPLICAS", "SENTINELS"] {
                let redis::Value::Array(list) = ask(&mut con, what)? else {
                    return Err(format!("SENTINEL {what}: not a list"));
                };
                for item in &list {
                    let item = fields(item);
                    let flags = item.get("flags").map(String::as_str).unwrap_or("");
                    if flags
                        .split(',')
                        .any(|f| f == "disconnected" || f == "s_down")
                    {
                        return Err(format!("the sentinel at {port} sees a peer as {flags}"));
                    }
                }
            }
        }
        Ok(())
    }

    fn data_node(&self, url: &str) -> Result<&DataNode> {
        self.data
            .iter()
            .find(|n| node_url(n.port) == url)
            .ok_or_else(|| error(format!("{url} is not a master or replica of this group")))
    }
}

impl std::fmt::Debug for TestSentinel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestSentinel")
            .field("url", &self.url())
            .field("data_urls", &self.data_urls())
            .field("pids", &self.pids())
            .finish()
    }
}

impl Drop for TestSentinel {
    fn drop(&mut self) {
        let guards: Vec<_> = self.data.iter().map(DataNode::server).collect();
        let data = guards.iter().map(|g| &**g);
        super::stop_all(data.chain(self.sentinels.iter().map(|(s, _)| s)));
    }
}

/// Starts the sentinels watching the master `data[0]` with its replicas
/// `data[1..]`. Each is told the others (`known-sentinel`, with ids chosen
/// here) and the replicas (`known-replica`), as a sentinel restarted from
/// its own saved config is, instead of waiting for their first hello
/// messages (sent every 2 s); so their ports are picked up front, and all
/// are started again on new ones if another process takes one first.
fn spawn_sentinels(
    cfg: &TestSentinelConfig,
    quorum: usize,
    data: &[u16],
) -> Result<Vec<(LocalServer, u16)>> {
    let name = cfg.master_name.as_str();
    let ms = |d: Duration| d.as_millis().to_string();
    let mut last = None;
    for _ in 0..node::PORT_ATTEMPTS {
        let ports = node::free_ports(cfg.sentinels)?;
        let ids: Vec<String> = ports
            .iter()
            .map(|_| (0..40).map(|_| fastrand::digit(16)).collect())
            .collect();
        let specs: Vec<Spec> = ports
            .iter()
            .zip(&ids)
            .map(|(port, id)| {
                let mut args = vec!["--sentinel".to_owned()];
                let master = data[0].to_string();
                args.extend(sentinel_directive(&["myid", id]));
                args.extend(sentinel_directive(&[
                    "monitor",
                    name,
                    "127.0.0.1",
                    &master,
                    &quorum.to_string(),
                ]));
                args.extend(sentinel_directive(&[
                    "down-after-milliseconds",
                    name,
                    &ms(cfg.down_after),
                ]));
                args.extend(sentinel_directive(&[
                    "failover-timeout",
                    name,
                    &ms(cfg.failover_timeout),
                ]));
                args.extend(sentinel_directive(&[
                    "parallel-syncs",
                    name,
                    &cfg.replicas.max(1).to_string(),
                ]));
                for replica in &data[1..] {
                    args.extend(sentinel_directive(&[
                        "known-replica",
                        name,
                        "127.0.0.1",
                        &replica.to_string(),
                    ]));
                }
                for (other, other_id) in ports.iter().zip(&ids).filter(|(p, _)| *p != port) {
                    args.extend(sentinel_directive(&[
                        "known-sentinel",
                        name,
                        "127.0.0.1",
                        &other.to_string(),
                        other_id,
                    ]));
                }
                Spec {
                    binary: cfg.binary.clone(),
                    args,
                    dir: None,
                    bus: false,
                    port: Some(*port),
                    ready_timeout: cfg.ready_timeout,
                }
            })
            .collect();
        match node::spawn_all(&specs) {
            Ok(spawned) => return Ok(spawned.into_iter().map(|s| (s.server, s.port)).collect()),
            Err(e) if e.param() == Some(crate::Param::ServerPort) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| error("no free ports for the sentinels")))
}

/// `--sentinel WORD...` as command-line arguments.
fn sentinel_directive(words: &[&str]) -> Vec<String> {
    std::iter::once("--sentinel")
        .chain(words.iter().copied())
        .map(str::to_owned)
        .collect()
}

/// A flat `[key, value, ...]` reply (or a RESP3 map) as a map.
fn fields(v: &redis::Value) -> HashMap<String, String> {
    let text = |v: &redis::Value| match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::SimpleString(s) => s.clone(),
        redis::Value::Int(i) => i.to_string(),
        _ => String::new(),
    };
    match v {
        redis::Value::Array(items) => items
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (text(&c[0]), text(&c[1])))
            .collect(),
        redis::Value::Map(pairs) => pairs.iter().map(|(k, v)| (text(k), text(v))).collect(),
        _ => HashMap::new(),
    }
}
