//! [`TestCluster`]: a throwaway Redis Cluster of local processes.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::super::local::LocalServer;
use super::super::workdir::PrivateDir;
use super::node::{self, Spec};
use super::{error, node_url, wait, Failover};
use crate::error::Result;

/// Slots of a Redis Cluster.
const SLOTS: u32 = 16384;

/// How to start a [`TestCluster`].
#[derive(Debug, Clone)]
pub struct TestClusterConfig {
    /// Masters, each serving an equal share of the 16384 slots.
    ///
    /// Default: `3`.
    pub masters: usize,
    /// Replicas of each master.
    ///
    /// Default: `1`.
    pub replicas_per_master: usize,
    /// `cluster-node-timeout`: how long a node may be unreachable before
    /// the others count it as failed (and a replica takes over).
    ///
    /// Default: 1 s.
    pub node_timeout: Duration,
    /// How long the whole cluster may take to be ready (and each later
    /// wait: [`TestCluster::failover`], [`TestCluster::wait_ready`]).
    ///
    /// Default: 30 s.
    pub ready_timeout: Duration,
    /// The `redis-server` binary, as [`ServerConfig::binary`](crate::ServerConfig::binary).
    ///
    /// Default: `None` (`REDKEEP_REDIS_SERVER`, then `PATH`).
    pub binary: Option<PathBuf>,
    /// Extra `redis-server` arguments for every node.
    ///
    /// Default: none.
    pub args: Vec<String>,
}

impl Default for TestClusterConfig {
    fn default() -> Self {
        Self {
            masters: 3,
            replicas_per_master: 1,
            node_timeout: Duration::from_secs(1),
            ready_timeout: Duration::from_secs(30),
            binary: None,
            args: Vec::new(),
        }
    }
}

/// A node's role in a cluster view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterRole {
    /// A master, with the slot ranges it serves (inclusive).
    Master {
        /// `(first, last)` slot ranges.
        slots: Vec<(u16, u16)>,
    },
    /// A replica of the master with this node id.
    Replica {
        /// The master's node id.
        master_id: String,
    },
}

/// One node of a [`TestCluster`], as [`TestCluster::nodes`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    /// The cluster node id (40 hex digits).
    pub id: String,
    /// `redis://127.0.0.1:PORT`.
    pub url: String,
    /// The TCP port.
    pub port: u16,
    /// Master (with its slots) or replica, in the cluster's view.
    pub role: ClusterRole,
    /// Its process id while it runs; `None` once killed.
    pub pid: Option<u32>,
}

/// A throwaway Redis Cluster for tests: `masters` masters sharing the
/// 16384 slots, each with `replicas_per_master` replicas, on free ports of
/// 127.0.0.1, without persistence.
///
/// ```no_run
/// let cluster = redkeep::testing::TestCluster::start(3, 1);
/// let node = redkeep::redis::Client::open(cluster.urls()[0].as_str()).unwrap();
/// let mut con = node.get_connection().unwrap();
/// let info: String = redkeep::redis::cmd("CLUSTER").arg("INFO").query(&mut con).unwrap();
/// assert!(info.contains("cluster_state:ok"));
/// // cluster.config(): a redkeep Config with every node's URL, comma-separated
/// ```
///
/// # Behavior
///
/// - **Ready** means usable: [`TestCluster::start`] returns only when every
///   node reports `cluster_state:ok` and the same `CLUSTER NODES` view (the
///   same nodes, roles, masters, epochs and slots, every slot assigned, no
///   node in handshake or failed) and every replica's link to its master
///   is up. The cluster is made directly (`CLUSTER SET-CONFIG-EPOCH`,
///   `ADDSLOTSRANGE`, `MEET`, `REPLICATE`; redis-server 7.0 or later),
///   with `repl-diskless-sync-delay 0`.
/// - Every node is a [`LocalServer`] with the guarantee of
///   [`TestServer`](crate::testing::TestServer): it never outlives the test
///   process, and is never restarted behind the test's back (a killed node
///   stays down until [`TestCluster::restart`]).
/// - Dropping the cluster stops every node (in parallel) and removes their
///   directories, blocking the dropping thread for a few milliseconds.
pub struct TestCluster {
    nodes: Vec<Node>,
    spec: Spec,
    ready_timeout: Duration,
    // Dropped last: the nodes' data directories.
    _dir: PrivateDir,
}

/// One node process and what it keeps across restarts.
struct Node {
    server: Mutex<LocalServer>,
    port: u16,
    bus_port: u16,
    id: String,
    dir: PathBuf,
}

impl Node {
    fn server(&self) -> MutexGuard<'_, LocalServer> {
        self.server.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pid(&self) -> Option<u32> {
        self.server().pid()
    }
}

impl TestCluster {
    /// Starts a cluster of `masters` masters with `replicas_per_master`
    /// replicas each, blocking until it is ready (see the type's
    /// `# Behavior`).
    ///
    /// # Panics
    ///
    /// If it cannot be started or is not ready within 30 s; the message
    /// says why.
    pub fn start(masters: usize, replicas_per_master: usize) -> TestCluster {
        let cfg = TestClusterConfig {
            masters,
            replicas_per_master,
            ..TestClusterConfig::default()
        };
        TestCluster::try_start(cfg).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`TestCluster::start`] for async tests: the blocking part runs on
    /// tokio's blocking pool.
    ///
    /// # Panics
    ///
    /// As [`TestCluster::start`].
    pub async fn start_async(masters: usize, replicas_per_master: usize) -> TestCluster {
        tokio::task::spawn_blocking(move || TestCluster::start(masters, replicas_per_master))
            .await
            .unwrap_or_else(|e| panic!("redkeep::testing: {e}"))
    }

    /// Starts a cluster from `cfg`, blocking until it is ready.
    pub fn try_start(cfg: TestClusterConfig) -> Result<TestCluster> {
        if cfg.masters == 0 {
            return Err(error("TestClusterConfig::masters must be at least 1"));
        }
        if cfg.masters > SLOTS as usize {
            return Err(error("TestClusterConfig::masters must be at most 16384"));
        }
        if cfg.node_timeout.is_zero() || cfg.ready_timeout.is_zero() {
            return Err(error(
                "TestClusterConfig::node_timeout and ::ready_timeout must be greater than zero",
            ));
        }
        let dir = PrivateDir::new_removing_stale()
            .map_err(|e| error(format!("cannot create a private directory: {e}")))?;
        let mut args = vec![
            "--cluster-enabled".to_owned(),
            "yes".to_owned(),
            "--cluster-config-file".to_owned(),
            "nodes.conf".to_owned(),
            "--cluster-node-timeout".to_owned(),
            cfg.node_timeout.as_millis().to_string(),
            // A replica may always take over, however old its data.
            "--cluster-replica-validity-factor".to_owned(),
            "0".to_owned(),
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
            bus: true,
            port: None,
            ready_timeout: cfg.ready_timeout,
        };
        let count = cfg.masters * (1 + cfg.replicas_per_master);
        let mut specs = Vec::with_capacity(count);
        for i in 0..count {
            let node_dir = dir.path().join(format!("node-{i}"));
            std::fs::create_dir(&node_dir)
                .map_err(|e| error(format!("cannot create {}: {e}", node_dir.display())))?;
            specs.push(Spec {
                dir: Some(node_dir),
                ..spec.clone()
            });
        }
        let spawned = node::spawn_all(&specs)?;
        let mut nodes = Vec::with_capacity(count);
        for (s, spec) in spawned.into_iter().zip(specs) {
            let mut con = node::admin(s.port)?;
            let id: String = node::run(&mut con, s.port, redis::cmd("CLUSTER").arg("MYID"))?;
            nodes.push(Node {
                server: Mutex::new(s.server),
                port: s.port,
                bus_port: s.bus_port.unwrap_or_default(),
                id,
                dir: spec.dir.unwrap_or_default(),
            });
        }
        let cluster = TestCluster {
            nodes,
            spec,
            ready_timeout: cfg.ready_timeout,
            _dir: dir,
        };
        cluster.create(cfg.masters, cfg.replicas_per_master)?;
        cluster.wait_ready()?;
        Ok(cluster)
    }

    /// Assigns the slots, joins the nodes and attaches the replicas.
    fn create(&self, masters: usize, replicas: usize) -> Result<()> {
        let share = SLOTS / masters as u32;
        for (i, n) in self.nodes[..masters].iter().enumerate() {
            let first = i as u32 * share;
            let last = if i + 1 == masters {
                SLOTS - 1
            } else {
                first + share - 1
            };
            let mut con = node::admin(n.port)?;
            let epoch = redis::cmd("CLUSTER")
                .arg("SET-CONFIG-EPOCH")
                .arg(i + 1)
                .to_owned();
            node::run::<()>(&mut con, n.port, &epoch)?;
            let slots = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(first)
                .arg(last)
                .to_owned();
            node::run::<()>(&mut con, n.port, &slots)?;
        }
        let meet = |from: &Node, to: &Node| -> Result<()> {
            let mut con = node::admin(from.port)?;
            let cmd = redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(to.port)
                .arg(to.bus_port)
                .to_owned();
            node::run::<()>(&mut con, from.port, &cmd)
        };
        let first = &self.nodes[0];
        for n in &self.nodes[1..] {
            meet(first, n)?;
        }
        // Each replica also meets its own master, so it knows it at once.
        let master_of = |i: usize| &self.nodes[(i - masters) / replicas.max(1)];
        for (i, n) in self.nodes.iter().enumerate().skip(masters) {
            let master = master_of(i);
            if master.port != first.port {
                meet(n, master)?;
            }
        }
        for (i, n) in self.nodes.iter().enumerate().skip(masters) {
            let master = master_of(i);
            let mut con = node::admin(n.port)?;
            let cmd = redis::cmd("CLUSTER")
                .arg("REPLICATE")
                .arg(&master.id)
                .to_owned();
            let what = format!("127.0.0.1:{} to replicate {}", n.port, master.port);
            // Refused with "Unknown node" until the handshake is done.
            wait::until(self.ready_timeout, &what, || {
                cmd.query::<()>(&mut con).map_err(|e| e.to_string())
            })?;
        }
        Ok(())
    }

    /// Every node's URL (`redis://127.0.0.1:PORT`), masters first, in the
    /// order they were created (roles change with failovers: see
    /// [`TestCluster::nodes`]).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| node_url(n.port)).collect()
    }

    /// A redkeep [`Config`](crate::Config) for the cluster: its `url` is
    /// every node's URL, comma-separated.
    pub fn config(&self) -> crate::Config {
        crate::Config::from_url(self.urls().join(","))
    }

    /// The process ids of the nodes that run, in [`TestCluster::urls`] order.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(Node::pid).collect()
    }

    /// The cluster as the first running node sees it (`CLUSTER NODES`):
    /// every node with its role, in [`TestCluster::urls`] order.
    pub fn nodes(&self) -> Result<Vec<ClusterNode>> {
        let (view, _) = self.view_of_any()?;
        Ok(self
            .nodes
            .iter()
            .filter_map(|n| {
                let line = view.iter().find(|l| l.id == n.id)?;
                Some(ClusterNode {
                    id: n.id.clone(),
                    url: node_url(n.port),
                    port: n.port,
                    role: line.role.clone(),
                    pid: n.pid(),
                })
            })
            .collect())
    }

    /// The URL of the master serving slot 0 (the first master, until a
    /// failover).
    pub fn master_url(&self) -> Result<String> {
        Ok(node_url(self.slot_master()?.port))
    }

    /// SIGKILLs the master serving slot 0 and returns its URL; its
    /// replica (if any) takes over after `node_timeout`. Returns once the
    /// process is gone, not once the cluster noticed: see
    /// [`TestCluster::wait_ready`].
    pub fn kill_master(&self) -> Result<String> {
        let master = self.slot_master()?;
        master.server().kill();
        Ok(node_url(master.port))
    }

    /// SIGKILLs the node at `url` (one of [`TestCluster::urls`]).
    pub fn kill(&self, url: &str) -> Result<()> {
        self.node(url)?.server().kill();
        Ok(())
    }

    /// Starts the node at `url` again after [`TestCluster::kill`], on the
    /// same port and with its `nodes.conf`, so it rejoins as the same node
    /// (a former master comes back as a replica of its successor); waits
    /// until the cluster is ready again.
    pub fn restart(&self, url: &str) -> Result<()> {
        let node = self.node(url)?;
        {
            let mut server = node.server();
            if server.pid().is_some() {
                return Err(error(format!("{url} is running; kill it first")));
            }
            let spec = Spec {
                dir: Some(node.dir.clone()),
                ..self.spec.clone()
            };
            *server = spec.spawn_at(node.port, Some(node.bus_port))?;
        }
        self.wait_ready()
    }

    /// A coordinated failover: `CLUSTER FAILOVER` on a replica of the
    /// master serving slot 0, then waits until every running node agrees
    /// the replica is its master's successor and the cluster is ready.
    pub fn failover(&self) -> Result<Failover> {
        let master = self.slot_master()?;
        let (view, _) = self.view_of_any()?;
        let replica = view
            .iter()
            .filter(|l| matches!(&l.role, ClusterRole::Replica { master_id } if *master_id == master.id))
            .find_map(|l| self.nodes.iter().find(|n| n.id == l.id && n.pid().is_some()))
            .ok_or_else(|| error(format!("the master at {} has no running replica", master.port)))?;
        let mut con = node::admin(replica.port)?;
        node::run::<()>(
            &mut con,
            replica.port,
            redis::cmd("CLUSTER").arg("FAILOVER"),
        )?;
        let what = format!("the failover from {} to {}", master.port, replica.port);
        wait::until(self.ready_timeout, &what, || {
            let (view, _) = self.view_of_any().map_err(|e| e.to_string())?;
            match view.iter().find(|l| l.id == replica.id).map(|l| &l.role) {
                Some(ClusterRole::Master { .. }) => Ok(()),
                _ => Err(format!("127.0.0.1:{} is not a master yet", replica.port)),
            }
        })?;
        self.wait_ready()?;
        Ok(Failover {
            old_master: node_url(master.port),
            new_master: node_url(replica.port),
        })
    }

    /// Waits until the running nodes are a ready cluster again (see the
    /// type's `# Behavior`): the same view everywhere, every slot served by
    /// a running master, killed nodes marked failed, replicas linked.
    /// After [`TestCluster::kill_master`] this is the replica's promotion;
    /// a master killed without a replica never gets there (the error says
    /// why, after `ready_timeout`).
    pub fn wait_ready(&self) -> Result<()> {
        wait::until(self.ready_timeout, "the cluster to be ready", || {
            self.check_ready()
        })
    }

    fn check_ready(&self) -> std::result::Result<(), String> {
        let live: Vec<&Node> = self.nodes.iter().filter(|n| n.pid().is_some()).collect();
        let mut first: Option<BTreeSet<String>> = None;
        for n in &live {
            let mut con = node::admin(n.port).map_err(|e| e.to_string())?;
            let info: String = node::run(&mut con, n.port, redis::cmd("CLUSTER").arg("INFO"))
                .map_err(|e| e.to_string())?;
            if node::info_field(&info, "cluster_state") != Some("ok") {
                return Err(format!("127.0.0.1:{}: cluster_state is not ok", n.port));
            }
            let text: String = node::run(&mut con, n.port, redis::cmd("CLUSTER").arg("NODES"))
                .map_err(|e| e.to_string())?;
            let view = parse_nodes(&text);
            let normal = self.normalize(n.port, &view, &live)?;
            match &first {
                None => first = Some(normal),
                Some(f) if *f == normal => {}
                Some(_) => return Err(format!("127.0.0.1:{} sees another cluster", n.port)),
            }
            if view.iter().any(|l| l.id == n.id && l.is_replica()) {
                let info: String =
                    node::run(&mut con, n.port, redis::cmd("INFO").arg("replication"))
                        .map_err(|e| e.to_string())?;
                if node::info_field(&info, "master_link_status") != Some("up") {
                    return Err(format!("127.0.0.1:{}: link to its master not up", n.port));
                }
            }
        }
        Ok(())
    }

    /// One node's view, reduced to what every node must agree on; an
    /// error if it is not a settled, complete view.
    fn normalize(
        &self,
        port: u16,
        view: &[Line],
        live: &[&Node],
    ) -> std::result::Result<BTreeSet<String>, String> {
        if view.len() != self.nodes.len() {
            return Err(format!(
                "127.0.0.1:{port} knows {} of {} nodes",
                view.len(),
                self.nodes.len()
            ));
        }
        let mut out = BTreeSet::new();
        let mut served = 0u32;
        for line in view {
            let running = live.iter().any(|n| n.id == line.id);
            if !self.nodes.iter().any(|n| n.id == line.id) {
                return Err(format!("127.0.0.1:{port} knows a stranger {}", line.id));
            }
            if !running {
                if !line.flags.iter().any(|f| f == "fail") {
                    return Err(format!(
                        "127.0.0.1:{port} does not see {} as failed yet",
                        line.addr
                    ));
                }
                continue;
            }
            let unsettled = ["fail", "fail?", "handshake", "noaddr"];
            if line.flags.iter().any(|f| unsettled.contains(&f.as_str())) || !line.connected {
                return Err(format!(
                    "127.0.0.1:{port} sees {} as {} ({})",
                    line.addr,
                    line.flags.join(","),
                    if line.connected {
                        "connected"
                    } else {
                        "disconnected"
                    }
                ));
            }
            if let ClusterRole::Master { slots } = &line.role {
                served += slots
                    .iter()
                    .map(|(a, b)| u32::from(*b) - u32::from(*a) + 1)
                    .sum::<u32>();
            }
            out.insert(format!(
                "{} {} {:?} {}",
                line.id, line.addr, line.role, line.epoch
            ));
        }
        if served != SLOTS {
            return Err(format!(
                "127.0.0.1:{port} sees {served} of {SLOTS} slots served by running masters"
            ));
        }
        Ok(out)
    }

    /// The first running node's parsed `CLUSTER NODES`, and that node.
    fn view_of_any(&self) -> Result<(Vec<Line>, &Node)> {
        let mut last = None;
        for n in self.nodes.iter().filter(|n| n.pid().is_some()) {
            let got = node::admin(n.port).and_then(|mut con| {
                node::run::<String>(&mut con, n.port, redis::cmd("CLUSTER").arg("NODES"))
            });
            match got {
                Ok(text) => return Ok((parse_nodes(&text), n)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| error("no node of the cluster is running")))
    }

    /// The running master that serves slot 0.
    fn slot_master(&self) -> Result<&Node> {
        let (view, _) = self.view_of_any()?;
        view.iter()
            .filter(|l| !l.flags.iter().any(|f| f == "fail"))
            .find(|l| matches!(&l.role, ClusterRole::Master { slots } if slots.iter().any(|(a, _)| *a == 0)))
            .and_then(|l| self.nodes.iter().find(|n| n.id == l.id && n.pid().is_some()))
            .ok_or_else(|| error("no running master serves slot 0"))
    }

    fn node(&self, url: &str) -> Result<&Node> {
        self.nodes
            .iter()
            .find(|n| node_url(n.port) == url)
            .ok_or_else(|| error(format!("{url} is not a node of this cluster")))
    }
}

impl std::fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCluster")
            .field("urls", &self.urls())
            .field("pids", &self.pids())
            .finish()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let guards: Vec<_> = self.nodes.iter().map(Node::server).collect();
        super::stop_all(guards.iter().map(|g| &**g));
    }
}

/// One line of `CLUSTER NODES`.
#[derive(Debug)]
struct Line {
    id: String,
    /// `ip:port` (without the bus port and hostname).
    addr: String,
    flags: Vec<String>,
    role: ClusterRole,
    epoch: String,
    connected: bool,
}

impl Line {
    fn is_replica(&self) -> bool {
        matches!(self.role, ClusterRole::Replica { .. })
    }
}

/// Parses `CLUSTER NODES` (`id ip:port@bus flags master ping pong epoch
/// link slot...`); lines it cannot read are skipped (and so counted
/// missing).
fn parse_nodes(text: &str) -> Vec<Line> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            let flags: Vec<String> = f[2]
                .split(',')
                .filter(|f| *f != "myself")
                .map(str::to_owned)
                .collect();
            let role = if flags.iter().any(|f| f == "slave") {
                ClusterRole::Replica {
                    master_id: f[3].to_owned(),
                }
            } else {
                ClusterRole::Master {
                    slots: f[8..].iter().filter_map(|s| parse_range(s)).collect(),
                }
            };
            Some(Line {
                id: f[0].to_owned(),
                addr: f[1].split(['@', ',']).next().unwrap_or_default().to_owned(),
                flags,
                role,
                epoch: f[6].to_owned(),
                connected: f[7] == "connected",
            })
        })
        .collect()
}

/// `a-b` or `a`; `[slot->-id]` (a migration in progress) is not a range.
fn parse_range(s: &str) -> Option<(u16, u16)> {
    if s.starts_with('[') {
        return None;
    }
    match s.split_once('-') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => s.parse().ok().map(|a| (a, a)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cluster_nodes_lines() {
        let text = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 7000 [5461->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
";
        let v = parse_nodes(text);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].addr, "127.0.0.1:30004");
        assert!(v[0].is_replica());
        assert_eq!(
            v[1].role,
            ClusterRole::Master {
                slots: vec![(0, 5460), (7000, 7000)]
            }
        );
        assert_eq!(v[1].flags, ["master"]);
        assert!(v[1].connected);
    }
}
